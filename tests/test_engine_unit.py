"""The method on a tiny hand-made table set (in memory, no ../shared): every number checked by hand.

Three occupations, one projection cycle (2030-40, so the matrix and the projections agree), two
sector industries plus one outside the sector, two states, four programs (one linked to nothing).
Separation rate r = separations / mean employment = 0.1 for every occupation.

Sector openings (persons/yr), O = ΔE/10 + r·mean E, from the matrix:
  trucking 484000: truck drivers (6→7.5k) 825, diesel mechanics (1→1k) 100, managers (2→2.2k) 230
  transit 485000:  truck drivers (1→1k) 100
National openings: truck drivers 1,300, mechanics 500, managers 2,300, so the sector shares are
925/1300, 100/500 = 0.2 and 230/2300 = 0.1.
Completions: truck driving (49.0205, cert <12 weeks) OH 300 + TX 500 -> truck drivers; diesel (47.0605,
associate's) OH 40 -> mechanics; business administration (52.0201, bachelor's) OH 1,000 -> managers
(its other link, 13-1111, is not a projections occupation); 24.0101 OH 50 links to nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from gapkit.analysis.method import compute
from gapkit.analysis.query import Query
from gapkit.analysis.sweeps import sensitivity
from gapkit.analysis.tables import Tables
from gapkit.config.sectors import load_sector
from gapkit.errors import UsageError

CYCLE = "2030-40"
SHARE_TRUCK = 925 / 1300
SECTOR = '''name = "mini"
title = "Mini transportation"
[[subsectors]]
key = "trucking"
title = "Trucking"
nem_industries = ["484000"]
[[subsectors]]
key = "transit"
title = "Transit"
nem_industries = ["485000"]
[[groups]]
key = "operations"
title = "Operations"
soc = ["53-3"]
[[groups]]
key = "maintenance"
title = "Maintenance"
soc = ["49-"]
[[groups]]
key = "other"
title = "Other"
soc = ["*"]
'''


def _frames() -> dict[str, dict[str, pl.DataFrame]]:
    ep = pl.DataFrame({
        "soc_code": ["00-0000", "53-3032", "49-3031", "11-1021"],
        "title": ["Total", "Truck drivers", "Diesel mechanics", "Managers"],
        "occ_type": ["Summary", "Line item", "Line item", "Line item"],
        "emp_base_k": [35.0, 10.0, 5.0, 20.0], "emp_proj_k": [39.0, 12.0, 5.0, 22.0],
        "separations_k": [3.7, 1.1, 0.5, 2.1], "openings_k": [4.1, 1.3, 0.5, 2.3],
        "exits_k": [1.7, 0.5, 0.2, 1.0], "transfers_k": [2.0, 0.6, 0.3, 1.1],
        "education": [None, "Postsecondary nondegree award", "High school diploma or equivalent", "Bachelor's degree"],
        "training": [None, "Short-term on-the-job training", "Long-term on-the-job training", "None"],
        "work_experience": [None, "None", "None", "5 years or more"],
        "emp_change_k": [4.0, 2.0, 0.0, 2.0],
        "median_wage": [50_000.0, 55_000.0, 60_000.0, 100_000.0],
        "base_year": [2030] * 4, "proj_year": [2040] * 4,
    })
    m = [("484000", "53-3032", 6.0, 7.5), ("484000", "49-3031", 1.0, 1.0), ("484000", "11-1021", 2.0, 2.2),
         ("485000", "53-3032", 1.0, 1.0), ("999999", "11-1021", 10.0, 11.0)]
    matrix = pl.DataFrame([("Line item", i, "Line item", o, b, p) for i, o, b, p in m],
                          schema=["industry_type", "industry_code", "occupation_type", "occupation_code", "emp_base_k", "emp_proj_k"],
                          orient="row")
    comp = pl.DataFrame([(1, "49.0205", 20, 300), (2, "49.0205", 20, 500), (1, "47.0605", 3, 40), (1, "52.0201", 5, 1000),
                         (1, "24.0101", 3, 50)], schema=["unitid", "cipcode", "awlevel", "completions"], orient="row",
                        ).with_columns(pl.col("awlevel").cast(pl.Int8), pl.lit(6).alias("cip_level"))
    inst = pl.DataFrame({"unitid": [1, 2], "state": ["OH", "TX"], "name": ["Ohio College", "Texas College"], "city": ["A", "B"]})
    xw = pl.DataFrame({"cipcode": ["49.0205", "47.0605", "52.0201", "52.0201"], "soc_code": ["53-3032", "49-3031", "11-1021", "13-1111"],
                       "cip_title": ["Truck driving", "Diesel", "Business", "Business"]})
    proj = pl.DataFrame([("39", "OH", s, "detailed", o, "x") for s, o in (("53-3032", 60.0), ("49-3031", 20.0), ("11-1021", 100.0))]
                        + [("48", "TX", s, "detailed", o, "x") for s, o in (("53-3032", 90.0), ("49-3031", 30.0), ("11-1021", 150.0))],
                        schema=["stfips", "state", "soc_code", "soc_level", "openings", "title"], orient="row",
                        ).with_columns(pl.lit(CYCLE).alias("cycle"), pl.lit(0.0).alias("emp_base"), pl.lit(0.0).alias("emp_proj"))
    levels = ["less_than_hs", "high_school", "some_college", "associate", "bachelor", "master", "doctoral_professional"]
    shares = {"53-3032": [0.15, 0.47, 0.23, 0.07, 0.06, 0.01, 0.01], "49-3031": [0.10, 0.40, 0.30, 0.15, 0.04, 0.01, 0.0],
              "11-1021": [0.03, 0.17, 0.24, 0.10, 0.33, 0.11, 0.02]}
    att = pl.DataFrame([(soc, lv, sh) for soc, vals in shares.items() for lv, sh in zip(levels, vals, strict=True)],
                       schema=["soc_code", "level", "share"], orient="row")
    return {"ep_occupations": {CYCLE: ep}, "nem_matrix": {CYCLE: matrix}, "ipeds_completions": {"2030": comp},
            "ipeds_institutions": {"2030": inst}, "cip_soc": {"CIP2020-SOC2018": xw}, "state_projections": {CYCLE: proj},
            "ep_attainment": {CYCLE: att}}


@pytest.fixture()
def tables() -> Tables:
    return Tables.from_frames(_frames())


@pytest.fixture()
def sector_file(tmp_path: Path) -> str:
    p = tmp_path / "mini.toml"
    p.write_text(SECTOR)
    return str(p)


# The hand computations below compare total openings with openings-weighted all-awards supply (the previous
# defaults); the education-aware allocation and the entrant measure have their own tests.
CLASSIC = {"alloc": "openings", "demand": "openings"}


def _ask(tables: Tables, sector_file: str, **options: object) -> pl.DataFrame:
    q = Query(sector_file=sector_file, **{**CLASSIC, **options})  # type: ignore[arg-type]
    return compute(q.resolve(tables), tables).table


def test_national_by_subsector_group_occupation(tables: Tables, sector_file: str) -> None:
    sub = {r["subsector"]: r for r in _ask(tables, sector_file, by="subsector").to_dicts()}
    assert sub["trucking"]["openings"] == pytest.approx(825 + 100 + 230)
    assert sub["transit"]["openings"] == pytest.approx(100)
    # truck-driving completers x the sector's share, split across subsectors by their openings
    assert sub["transit"]["supply"] == pytest.approx(800 * SHARE_TRUCK * 100 / 925)
    assert sub["trucking"]["supply"] == pytest.approx(800 * SHARE_TRUCK * 825 / 925 + 40 * 0.2 + 1000 * 0.1)
    occ = {r["soc_code"]: r for r in _ask(tables, sector_file, by="occupation").to_dicts()}
    assert occ["53-3032"]["openings"] == pytest.approx(925) and occ["53-3032"]["supply"] == pytest.approx(800 * SHARE_TRUCK)
    assert occ["49-3031"]["supply"] == pytest.approx(8) and occ["11-1021"]["supply"] == pytest.approx(100)
    assert occ["53-3032"]["group"] == "operations" and occ["49-3031"]["group"] == "maintenance" and occ["11-1021"]["group"] == "other"
    assert occ["53-3032"]["ratio"] == pytest.approx(925 / (800 * SHARE_TRUCK))
    grp = _ask(tables, sector_file, by="group")
    assert grp["group"].to_list() == ["operations", "other", "maintenance"]  # by openings, descending
    assert grp["openings"].sum() == pytest.approx(1255) and grp["supply"].sum() == pytest.approx(800 * SHARE_TRUCK + 108)


def test_allocation_is_conserved_and_reports_unlinked_completions(tables: Tables, sector_file: str) -> None:
    r = Query(sector_file=sector_file, by="sector", **CLASSIC).resolve(tables)
    res = compute(r, tables)
    assert res.unallocated == pytest.approx({"input": 1890.0, "allocated": 1840.0, "unallocated": 50.0, "unlinked": 50.0,
                                             "not_entry_route": 0.0})
    # award presets: only the associate's degree counts as sub-baccalaureate ... and certificates
    sub = compute(r.at(awards="subbacc"), tables)
    assert sub.unallocated["input"] == pytest.approx(890.0) and sub.unallocated["unallocated"] == pytest.approx(50.0)
    # entry preset: the truck drivers' entry education (postsecondary nondegree award) accepts certificates only
    entry = {x["soc_code"]: x for x in compute(r.at(awards="entry", by="occupation"), tables).table.to_dicts()}
    assert entry["53-3032"]["supply"] == pytest.approx(800 * SHARE_TRUCK)
    assert entry["49-3031"]["flags"].startswith("no IPEDS supply expected")  # high school: no IPEDS route


def test_states_use_published_openings_times_the_national_share(tables: Tables, sector_file: str) -> None:
    st = {x["region"]: x for x in _ask(tables, sector_file, by="state").to_dicts()}
    assert set(st) == {"OH", "TX"}
    assert st["OH"]["openings"] == pytest.approx(60 * SHARE_TRUCK + 20 * 0.2 + 100 * 0.1)
    assert st["OH"]["supply"] == pytest.approx(300 * SHARE_TRUCK + 40 * 0.2 + 1000 * 0.1)
    assert st["TX"]["supply"] == pytest.approx(500 * SHARE_TRUCK)
    oh = _ask(tables, sector_file, region="OH", by="subsector")
    assert oh["openings"].sum() == pytest.approx(st["OH"]["openings"]) and oh["supply"].sum() == pytest.approx(st["OH"]["supply"])
    assert set(oh["region"]) == {"OH"} and all("estimated state share" in f for f in oh["flags"])


def test_several_sectors_in_one_pass_match_one_at_a_time(tables: Tables, sector_file: str) -> None:
    one = Query(sector_file=sector_file, by="state", **CLASSIC).resolve(tables)
    other = replace(load_sector(sector_file), name="mini-trucking", subsectors=load_sector(sector_file).subsectors[:1])
    both = replace(one, sectors=(one.sector, other), all_sectors=True)
    together = compute(both, tables).table
    assert_frame_equal(together.filter(pl.col("sector") == "mini"), compute(one, tables).table, rel_tol=1e-9)
    alone = compute(replace(one, sectors=(other,)), tables).table
    assert_frame_equal(together.filter(pl.col("sector") == "mini-trucking"), alone, rel_tol=1e-9)


def test_sensitivity_grid_and_variants(tables: Tables, sector_file: str) -> None:
    r = Query(sector_file=sector_file, **CLASSIC).resolve(tables)
    grid = sensitivity(r, tables)
    assert grid.height == 50  # 2 demand measures x 5 allocation modes x 5 award presets
    assert set(grid.filter(pl.col("demand") == "openings")["openings"].round(6)) == {1255.0}
    cell = grid.filter((pl.col("demand") == "openings") & (pl.col("alloc") == "openings") & (pl.col("awards") == "all")).row(0, named=True)
    assert cell["supply"] == pytest.approx(compute(r.at(by="sector"), tables).table["supply"].sum())
    none = grid.filter((pl.col("demand") == "openings") & (pl.col("alloc") == "none") & (pl.col("awards") == "all"))["supply"].item()
    assert none >= cell["supply"]
    assert r.at(alloc="equal").extra_supply is None and r.at(region="OH").region.name == "Ohio"


def test_entrant_openings_use_exit_rates(tables: Tables, sector_file: str) -> None:
    """Entrants = growth + labor-force exits: per industry max(0, ΔE/10 + exit rate x mean E), exit rate = exits / mean E."""
    occ = {x["soc_code"]: x for x in _ask(tables, sector_file, by="occupation", demand="entrants").to_dicts()}
    truck = (1.5 / 10 + 0.5 / 11 * 6.75) * 1000 + (0.5 / 11 * 1.0) * 1000  # trucking + transit
    assert occ["53-3032"]["entrants"] == pytest.approx(truck)
    assert occ["49-3031"]["entrants"] == pytest.approx(0.2 / 5 * 1.0 * 1000)
    assert occ["11-1021"]["entrants"] == pytest.approx((0.2 / 10 + 1.0 / 21 * 2.1) * 1000)
    assert occ["53-3032"]["ratio"] == pytest.approx(truck / (800 * SHARE_TRUCK))  # the ratio follows --demand
    assert occ["53-3032"]["openings"] == pytest.approx(925)  # total openings still shown
    # in a state: its openings x the occupation's national entrant share (openings - transfers) / openings
    st = {x["soc_code"]: x for x in _ask(tables, sector_file, region="OH", by="occupation", demand="entrants").to_dicts()}
    assert st["53-3032"]["entrants"] == pytest.approx(60 * SHARE_TRUCK * (1.3 - 0.6) / 1.3)


def test_education_aware_allocation_and_entry_routes(tables: Tables, sector_file: str) -> None:
    """Levels go only where they are an entry route; managers (5+ years of experience first) take no completers, so the
    business bachelor's are "not an entry route": unallocated, never dropped."""
    r = Query(sector_file=sector_file, by="occupation", alloc="education", demand="openings").resolve(tables)
    res = compute(r, tables)
    occ = {x["soc_code"]: x for x in res.table.to_dicts()}
    assert occ["53-3032"]["supply"] == pytest.approx(800 * SHARE_TRUCK)  # certificates: some college, a route into driving
    assert occ["49-3031"]["supply"] == pytest.approx(40 * 0.2)
    assert occ["11-1021"]["supply"] == 0 and occ["11-1021"]["ratio_note"] == "no supply"
    assert res.unallocated == pytest.approx({"input": 1890.0, "allocated": 840.0, "unallocated": 1050.0, "unlinked": 50.0,
                                             "not_entry_route": 1000.0})
    assert any("not an entry route" in n for n in res.notes)


def test_ratio_floor_and_small_supply(tables: Tables, sector_file: str) -> None:
    """Under 5 completers a year no ratio prints: "> N" where demand is 50 or more, else "no meaningful supply"."""
    occ = {x["soc_code"]: x for x in _ask(tables, sector_file, region="OH", by="occupation", completions_years="2030").to_dicts()}
    mech = occ["49-3031"]  # 20 state openings x 0.2 = 4 openings; 40 completers x 0.2 = 8 supply
    assert mech["ratio"] == pytest.approx(4 / 8)
    scaled = {x["soc_code"]: x for x in _ask(tables, sector_file, region="OH", by="occupation", retention=0.5).to_dicts()}
    assert scaled["49-3031"]["supply"] == pytest.approx(4) and scaled["49-3031"]["ratio"] is None
    assert scaled["49-3031"]["ratio_note"] == "no meaningful supply"


def test_bad_questions_are_refused_before_any_computation(tables: Tables, sector_file: str) -> None:
    for options, needle in [({"by": "county"}, "--by"), ({"alloc": "magic"}, "--alloc"), ({"region": "ZZ"}, "--region"),
                            ({"retention": "2"}, "--retention"), ({"completions_years": "2029"}, "not ingested"),
                            ({"region": "OH", "by": "state"}, "--by state"), ({"scope": "occupation", "by": "subsector"}, "--scope")]:
        with pytest.raises(UsageError, match=needle):
            Query(sector_file=sector_file, **options).resolve(tables)  # type: ignore[arg-type]


def test_a_prefetched_table_is_computed_once_and_its_error_raised_where_it_is_asked_for() -> None:
    """Tables.prefetch computes on a worker thread; a request for the same key waits for it (one computation), and
    an error of the worker is raised again, with its message, in the caller's own request."""
    import threading

    t = Tables.from_frames({})
    calls: list[str] = []
    started, release = threading.Event(), threading.Event()

    def slow() -> int:
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        return 42

    t.prefetch(lambda: t.cached("k", slow))
    assert started.wait(5)
    threading.Timer(0.05, release.set).start()
    assert t.cached("k", lambda: 0) == 42  # waited for the worker's value instead of computing its own
    assert len(calls) == 1 and calls[0].startswith("gapkit-prefetch")

    def broken() -> int:
        raise UsageError("bad table")

    t.prefetch(lambda: t.cached("e", broken))
    with pytest.raises(UsageError, match="bad table"):
        t.cached("e", broken)
    # a key asked for while the same thread computes it is computed again, not waited for (no self-deadlock)
    assert t.cached("outer", lambda: t.cached("outer", lambda: 7) + 1) == 8


def test_state_codes_the_projections_lack_are_apportioned_or_counted() -> None:
    """A state's older SOC or hybrid code (NY's 15-1256) goes to the projections' codes of its broad group (else minor
    group) that the state file lacks, by national employment; a code of no SOC group in the projections is left out
    and counted — whatever the number of such rows (a table of millions of them is counted, not copied)."""
    from gapkit.analysis.method import _apportion_old_codes

    ep = pl.DataFrame({"soc_code": ["15-1252", "15-1253", "15-1211", "29-1141"], "emp_base": [300.0, 100.0, 600.0, 50.0]})
    rows = [("01", "AA", "15-1252", 10.0), ("01", "AA", "15-1256", 8.0),   # has 15-1252: 15-1256 goes to 15-1253
            ("02", "BB", "15-1256", 40.0), ("02", "BB", "29-1141", 5.0),   # lacks both: 3:1 by national employment
            ("02", "BB", "15-1299", 7.0),                                  # no 15-129x code: the minor group 15-1
            *[("01", "AA", f"56-{i:04d}", 1.0) for i in range(1, 2001)]]   # no SOC group at all: left out
    proj = pl.DataFrame(rows, schema=["stfips", "state", "soc_code", "openings"], orient="row").with_columns(
        pl.col("openings").alias("emp_base"), (pl.col("openings") * 2).alias("emp_proj"))
    out, moved, dropped = _apportion_old_codes(proj.lazy(), ep)
    got = {(s, c): round(v, 6) for s, c, v in out.collect().group_by("state", "soc_code").agg(pl.col("openings").sum()).iter_rows()}
    assert (moved, dropped) == (3, 2000)
    assert got == {("AA", "15-1252"): 10.0, ("AA", "15-1253"): 8.0,
                   ("BB", "15-1252"): round(40 * 0.75 + 7 * 300 / 1000, 6), ("BB", "15-1253"): round(40 * 0.25 + 7 * 100 / 1000, 6),
                   ("BB", "15-1211"): round(7 * 600 / 1000, 6), ("BB", "29-1141"): 5.0}
    # nothing to apportion: the rows as they were
    clean = proj.filter(pl.col("soc_code").is_in(["15-1252", "29-1141"]))
    out, moved, dropped = _apportion_old_codes(clean.lazy(), ep)
    assert (moved, dropped) == (0, 0) and out.collect().equals(clean)
    # only codes of no group: left out, counted
    out, moved, dropped = _apportion_old_codes(proj.filter(pl.col("soc_code").str.starts_with("56-") | (pl.col("soc_code") == "15-1252")).lazy(), ep)
    assert (moved, dropped) == (0, 2000) and out.collect()["soc_code"].to_list() == ["15-1252"]


def test_a_state_without_projections_is_refused_before_computing(tables: Tables, sector_file: str) -> None:
    """A state (or an area of one) whose Projections Central rows are not ingested: one message naming the state and the
    ingest to run, whether the rows are loaded for the question (a state) or only counted (areas of several states)."""
    with pytest.raises(UsageError, match=r"--region PA: Projections Central has no 2030-40 data for Pennsylvania ingested\. "
                                         r"Run `gapkit ingest projections --states PA`"):
        Query(sector_file=sector_file, region="PA").resolve(tables)
    assert tables.has_state_projections(CYCLE, "39") and tables.has_state_projections(CYCLE, "39", load=False)
    assert not tables.has_state_projections(CYCLE, "42") and not tables.has_state_projections(CYCLE, "42", load=False)
    assert Query(sector_file=sector_file, region="OH").resolve(tables).region.code == "OH"
