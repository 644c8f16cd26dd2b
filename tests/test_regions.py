"""Regions below the state (issue 12, docs/METHOD.md section 6): metros, counties, workforce areas, region files.

Three layers:

* unit tests on small hand-made tables (``Tables.from_frames``; every number computed by hand in the test):
  the suppressed-QCEW estimate, the industry-based and share methods, the California EDD exact-cover rule,
  ETPL extra supply;
* the real CLI on the session's ingested ../shared data (``run_cli``): the issue's must-show list, with the
  Columbus industry-based demand and the metro supply recomputed independently from the stored Parquet in
  plain polars (written from METHOD.md, not by calling gapkit's functions);
* bad input: one clear paragraph, non-zero exit, no traceback.

The source-level checks (QCEW sums, county totals, OEWS coverage, EDD sums, suppressed cells read as
suppressed) live in tests/test_source_{qcew,geo,ca_edd,etpl,oews}.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from gapkit.analysis import regions
from gapkit.analysis.method import compute
from gapkit.analysis.query import Query
from gapkit.analysis.tables import Tables
from gapkit.errors import GapkitError, UsageError
from tests.test_engine_unit import SECTOR, SHARE_TRUCK, _frames

COLUMBUS = "18140"
# Columbus, OH (CBSA 18140): its 10 counties per the July 2023 delineation (MANIFEST-substate entry 1)
COLUMBUS_COUNTIES = ["39041", "39045", "39049", "39073", "39089", "39097", "39117", "39127", "39129", "39159"]
METHOD_WORDS = (regions.INDUSTRY_BASED, regions.OEWS_SHARE, regions.QCEW_SHARE, regions.EDD)


# =============================================================================================
# unit tests on hand-made tables
# =============================================================================================
def _qcew(rows: list[tuple[str, str, str, float | None, float]], year: str = "2023") -> pl.DataFrame:
    """QCEW area rows (area_fips, own_code, industry_code, employment or None = suppressed, establishments)."""
    return pl.DataFrame(
        [(int(year), a, own, code, "N" if emp is None else "", emp is None, est, None if emp is None else emp)
         for a, own, code, emp, est in rows],
        schema={"year": pl.Int16, "area_fips": pl.String, "own_code": pl.String, "industry_code": pl.String,
                "disclosure_code": pl.String, "suppressed": pl.Boolean, "establishments": pl.Float64, "employment": pl.Float64},
        orient="row")


# Franklin (39049): private total 5,000; transportation 48-49 1,200 of which 484 800 and 488 100 disclosed, 485 (6
# establishments) and 481 (2) suppressed -> 300 hidden, shared 6:2 -> 485 = 225, 481 = 75. Under 485, 4852 is
# disclosed (25) and 4851 suppressed: 225 - 25 = 200. Delaware (39041): everything disclosed.
QCEW_ROWS = [
    ("39049", "0", "10", 7000.0, 900), ("39049", "5", "10", 5000.0, 800), ("39049", "5", "48-49", 1200.0, 60),
    ("39049", "5", "484", 800.0, 40), ("39049", "5", "485", None, 6), ("39049", "5", "481", None, 2),
    ("39049", "5", "488", 100.0, 12), ("39049", "5", "4851", None, 3), ("39049", "5", "4852", 25.0, 3),
    ("39049", "1", "485", 0.0, 1),  # a public-ownership row: never part of private employment
    ("39041", "0", "10", 2100.0, 300), ("39041", "5", "10", 2000.0, 290), ("39041", "5", "48-49", 150.0, 9),
    ("39041", "5", "484", 100.0, 6), ("39041", "5", "485", 30.0, 2), ("39041", "5", "4851", 30.0, 2),
    ("39041", "5", "481", 20.0, 1),
]


def test_suppressed_qcew_cell_is_parent_minus_disclosed_shared_by_establishments() -> None:
    t = Tables.from_frames({"qcew_area": {"2023": _qcew(QCEW_ROWS)}})
    emp, est = regions.qcew_employment(t, ("39041", "39049"), ["484", "485", "481", "4851", "4852", "488", "483"])
    assert emp["484"] == pytest.approx(800 + 100)  # disclosed: summed as published
    assert emp["485"] == pytest.approx(300 * 6 / 8 + 30)  # Franklin's estimate + Delaware's disclosed 30
    assert emp["481"] == pytest.approx(300 * 2 / 8 + 20)
    assert emp["4851"] == pytest.approx((225 - 25) + 30)  # under an estimated parent: its estimate minus 4852
    assert emp["4852"] == pytest.approx(25) and emp["488"] == pytest.approx(100)
    assert emp["483"] == 0.0  # no row in either county: no establishments, not an estimate
    assert est == {"485", "481", "4851"}  # flagged
    for code in est:  # a suppressed cell never reads as zero, and never above its parent
        assert 0 < emp[code] <= 1200 + 150
    # no establishment counts: the hidden remainder is shared equally
    flat = [(a, o, c, e, 0.0) for a, o, c, e, _ in QCEW_ROWS if a == "39049"]
    emp0, _ = regions.qcew_employment(Tables.from_frames({"qcew_area": {"2023": _qcew(flat)}}), ("39049",), ["485", "481"])
    assert emp0 == {"485": pytest.approx(150), "481": pytest.approx(150)}


def test_a_county_without_qcew_is_refused_with_the_command_that_fixes_it() -> None:
    t = Tables.from_frames({"qcew_area": {"2023": _qcew(QCEW_ROWS)}})
    with pytest.raises(UsageError, match=r"gapkit ingest qcew --counties 39089 --years 2023"):
        regions.qcew_employment(t, ("39049", "39089"), ["484"])


# A mini world on top of tests/test_engine_unit.py's tables (one cycle 2030-40, occupations 53-3032 truck drivers,
# 49-3031 diesel mechanics, 11-1021 managers; sector shares of national openings 925/1300, 0.2, 0.1): Ohio gets
# employment in its projections, a metro (CBSA 18140 = counties 39049 + 39041), a county outside it (39035),
# OEWS state and metro employment, QCEW for the two metro counties, and an institution in each county.
OH_PROJ = {"53-3032": (60.0, 900.0, 1100.0), "49-3031": (20.0, 390.0, 410.0), "11-1021": (100.0, 1900.0, 2100.0)}
RATE = {soc: o / ((b + p) / 2) for soc, (o, b, p) in OH_PROJ.items()}  # Ohio's openings per worker
# OEWS May 2030: Ohio and the metro (None: "**", estimate not released). 41-2031 is outside the projections.
OEWS_STATE = {"53-3032": 1000.0, "49-3031": 500.0, "11-1021": None, "41-2031": 8000.0}
OEWS_METRO = {"53-3032": 250.0, "49-3031": None, "11-1021": 40.0, "41-2031": 1000.0}
# the metro's share of all Ohio employment, over the occupations both files publish (53-3032 and 41-2031)
OVERALL = (250 + 1000) / (1000 + 8000)


def _world(industry_based: bool = False) -> dict[str, dict[str, pl.DataFrame]]:
    f = _frames()
    proj = f["state_projections"]["2030-40"]
    oh = pl.DataFrame([("39", "OH", s, "detailed", o, "x", "2030-40", b, p) for s, (o, b, p) in OH_PROJ.items()],
                      schema=proj.columns, orient="row")
    f["state_projections"] = {"2030-40": pl.concat([proj.filter(pl.col("state") != "OH"), oh])}
    # matrix totals (00-0000) for the staffing pattern: 484000 employs 9k (6 + 1 + 2), 485000 2k
    m = f["nem_matrix"]["2030-40"]
    tot = pl.DataFrame([("Line item", i, "Summary", "00-0000", b, b) for i, b in (("484000", 9.0), ("485000", 2.0), ("999999", 10.0))],
                       schema=m.columns, orient="row")
    f["nem_matrix"] = {"2030-40": pl.concat([m, tot])}
    geo = [("39049", "Franklin County", "OH", COLUMBUS, "Columbus, OH", "metro"),
           ("39041", "Delaware County", "OH", COLUMBUS, "Columbus, OH", "metro"),
           ("39035", "Cuyahoga County", "OH", "17410", "Cleveland, OH", "metro"),
           ("48201", "Harris County", "TX", "26420", "Houston-Pasadena-The Woodlands, TX", "metro")]
    f["cbsa_delineation"] = {"2023": pl.DataFrame(geo, schema=["county_fips", "county_name", "state", "cbsa_code", "cbsa_title",
                                                               "cbsa_type"], orient="row")}
    rows = [(2030, "state", "39", "OH", s, "detailed", v) for s, v in OEWS_STATE.items()]
    rows += [(2030, "metro", COLUMBUS, "OH", s, "detailed", v) for s, v in OEWS_METRO.items()]
    rows += [(2030, "state", "39", "OH", "00-0000", "total", 9500.0), (2030, "metro", COLUMBUS, "OH", "00-0000", "total", 1300.0)]
    f["oews_wages"] = {"2030": pl.DataFrame(rows, schema={"year": pl.Int16, "area_type": pl.String, "area_code": pl.String,
                                                          "state": pl.String, "soc_code": pl.String, "o_group": pl.String,
                                                          "tot_emp": pl.Float64}, orient="row")}
    inst = f["ipeds_institutions"]["2030"]
    f["ipeds_institutions"] = {"2030": pl.concat([inst.with_columns(pl.Series("county_fips", ["39049", "48201"])),
                                                  pl.DataFrame({"unitid": [3], "state": ["OH"], "name": ["Lake College"], "city": ["C"],
                                                                "county_fips": ["39035"]})])}
    comp = f["ipeds_completions"]["2030"]
    extra = pl.DataFrame({"unitid": [3], "cipcode": ["49.0205"], "awlevel": [20], "completions": [100], "cip_level": [6]},
                         schema=comp.schema)
    f["ipeds_completions"] = {"2030": pl.concat([comp, extra])}
    if industry_based:
        f["qcew_area"] = {"2023": _qcew(QCEW_ROWS)}
    return f


def _mini_sector(tmp_path: Path, naics: bool) -> str:
    text = SECTOR
    if naics:
        text = text.replace('nem_industries = ["484000"]', 'nem_industries = ["484000"]\nnaics = ["484"]').replace(
            'nem_industries = ["485000"]', 'nem_industries = ["485000"]\nnaics = ["485"]')
    p = tmp_path / ("mini-naics.toml" if naics else "mini.toml")
    p.write_text(text)
    return str(p)


def _rows(t: Tables, sector_file: str, **options: Any) -> dict[str, dict[str, Any]]:
    q = Query(sector_file=sector_file, by="occupation", alloc="openings", demand="openings", **options)
    return {x["soc_code"]: x for x in compute(q.resolve(t), t).table.to_dicts()}


def test_share_method_oews_area_over_state(tmp_path: Path) -> None:
    """Openings = the state's openings x the area's share of the state's OEWS employment x the national sector
    share; an occupation whose OEWS employment is not released (``**``) in the area or the state takes the area's
    share of all the state's employment instead (never 0, never 100%)."""
    t = Tables.from_frames(_world())
    occ = _rows(t, _mini_sector(tmp_path, naics=False), region=f"metro:{COLUMBUS}")
    assert occ["53-3032"]["openings"] == pytest.approx(60 * 250 / 1000 * SHARE_TRUCK)
    assert occ["49-3031"]["openings"] == pytest.approx(20 * OVERALL * 0.2)  # metro "**": not 0
    assert occ["11-1021"]["openings"] == pytest.approx(100 * OVERALL * 0.1)  # state "**": not the whole state's
    for soc, row in occ.items():
        assert regions.OEWS_SHARE in row["flags"], soc
    assert regions.OEWS_NOT_RELEASED in occ["49-3031"]["flags"] and regions.OEWS_NOT_RELEASED in occ["11-1021"]["flags"]
    assert regions.OEWS_NOT_RELEASED not in occ["53-3032"]["flags"]
    # supply: the institution in the metro's counties only (Lake College, Cuyahoga, is elsewhere in Ohio)
    assert occ["53-3032"]["supply"] == pytest.approx(300 * SHARE_TRUCK)
    assert occ["49-3031"]["supply"] == pytest.approx(40 * 0.2) and occ["11-1021"]["supply"] == pytest.approx(1000 * 0.1)
    state = _rows(t, _mini_sector(tmp_path, naics=False), region=f"metro:{COLUMBUS}", supply_area="state")
    assert state["53-3032"]["supply"] == pytest.approx(400 * SHARE_TRUCK)  # every Ohio institution
    assert state["53-3032"]["openings"] == pytest.approx(occ["53-3032"]["openings"])  # demand does not move
    # a county list that is no OEWS area and has no QCEW file: refused with the command that fixes it
    with pytest.raises(GapkitError, match="gapkit ingest qcew --counties 39049"):
        _rows(t, _mini_sector(tmp_path, naics=False), region="county:39049")


def test_industry_based_method_by_hand(tmp_path: Path) -> None:
    """QCEW private employment in each subsector's NAICS industries x its national staffing pattern x the state's
    openings per worker: trucking (484) 800 + 100 = 900 workers, transit (485) 225 (estimated) + 30 = 255."""
    t = Tables.from_frames(_world(industry_based=True))
    sector = _mini_sector(tmp_path, naics=True)
    occ = _rows(t, sector, region=f"metro:{COLUMBUS}")
    truck, transit = 900.0, 300 * 6 / 8 + 30
    assert occ["53-3032"]["openings"] == pytest.approx((6 / 9 * truck + 1 / 2 * transit) * RATE["53-3032"])
    assert occ["49-3031"]["openings"] == pytest.approx(1 / 9 * truck * RATE["49-3031"])
    assert occ["11-1021"]["openings"] == pytest.approx(2 / 9 * truck * RATE["11-1021"])
    assert all(regions.INDUSTRY_BASED in r["flags"] and regions.QCEW_ESTIMATED in r["flags"] for r in occ.values())
    sub = {x["subsector"]: x for x in compute(Query(sector_file=sector, by="subsector", alloc="openings", demand="openings",
                                                    region=f"metro:{COLUMBUS}").resolve(t), t).table.to_dicts()}
    assert sub["transit"]["openings"] == pytest.approx(1 / 2 * transit * RATE["53-3032"])
    # the same counties as a county list and as a region file: the same numbers
    f = tmp_path / "area.toml"
    f.write_text('name = "core"\ntitle = "Franklin and Delaware"\ncounties = ["39049", "39041"]\n')
    for other in (_rows(t, sector, region="county:39049,39041"), _rows(t, sector, region_file=str(f))):
        for soc in occ:
            assert other[soc]["openings"] == pytest.approx(occ[soc]["openings"])
            assert other[soc]["supply"] == pytest.approx(occ[soc]["supply"])


def test_edd_areas_must_make_up_the_counties_exactly() -> None:
    """California's own sub-state projections measure an area only when EDD areas make up exactly its counties."""
    geo = [("06067", "Sacramento County"), ("06061", "Placer County"), ("06037", "Los Angeles County"),
           ("06059", "Orange County"), ("06019", "Fresno County"), ("06039", "Madera County"), ("06029", "Kern County")]
    cbsa = pl.DataFrame([(f, n, "CA", None, None, None) for f, n in geo],
                        schema={"county_fips": pl.String, "county_name": pl.String, "state": pl.String, "cbsa_code": pl.String,
                                "cbsa_title": pl.String, "cbsa_type": pl.String}, orient="row")
    areas = [("Sacramento MSA (Placer and Sacramento Counties)", ["Placer", "Sacramento"]),
             ("Los Angeles MD (Los Angeles County)", ["Los Angeles"]), ("Anaheim MD (Orange County)", ["Orange"]),
             ("Fresno MSA (Fresno County)", ["Fresno"]), ("Madera MSA (Madera County)", ["Madera"]),
             ("Nowhere Region (Atlantis County)", ["Atlantis"])]  # a county the geography does not know: never used
    sub = pl.DataFrame([("CA", "metro", n, c, "00-0000") for n, c in areas] + [("CA", "state", "California", None, "00-0000")],
                       schema={"state": pl.String, "area_type": pl.String, "area_name": pl.String,
                               "counties": pl.List(pl.String), "soc_code": pl.String}, orient="row")
    t = Tables.from_frames({"cbsa_delineation": {"2023": cbsa}, "substate_projections": {"2020-30": sub}})

    def pieces(fips: str) -> list[str] | None:
        found = regions._edd_areas(t, regions.resolve_counties(fips, t))
        return sorted(found) if found else None

    assert pieces("06059,06037") == ["Anaheim MD (Orange County)", "Los Angeles MD (Los Angeles County)"]
    assert pieces("06019,06039") == ["Fresno MSA (Fresno County)", "Madera MSA (Madera County)"]
    assert pieces("06061,06067") == ["Sacramento MSA (Placer and Sacramento Counties)"]
    assert pieces("06067") is None  # part of an EDD area only
    assert pieces("06037,06029") is None  # Kern is in no EDD area here
    assert pieces("06037,06061") is None  # Placer without the rest of its area


# ETPL: Harris County (wda:TX-28) and Travis (TX-15). Programs of providers outside IPEDS count N a year each, a
# registered apprenticeship its apprentices / 4, split equally among the program's projections occupations;
# colleges ("Higher Ed") and providers named like an IPEDS institution of the state are already in IPEDS.
ETPL = [  # program, provider, type, county, apprenticeship, apprentices, SOC codes
    ("P1", "Acme CDL School", "Private for profit", "Harris", False, None, ["53-3032", "49-3031"]),
    ("P2", "Gulf Drivers JATC", "National Apprenticeship", "Harris", True, 20.0, ["53-3032"]),
    ("P3", "Lone Star College", "Higher Ed - Public Community College", "Harris", False, None, ["53-3032"]),
    ("P4", "Texas College", "Private for profit", "Harris", False, None, ["53-3032"]),  # an IPEDS institution's name
    ("P5", "Capital Training", "Private for profit", "Travis", False, None, ["11-1021"]),
    ("P6", "Light Truck Academy", "Private for profit", "Harris", False, None, ["53-3033"]),  # not in the projections
    ("P7", "Empty Apprenticeship", "National Apprenticeship", "Harris", True, None, ["49-3031"]),
]


def _etpl_world() -> dict[str, dict[str, pl.DataFrame]]:
    f = _world()
    geo = f["cbsa_delineation"]["2023"]
    f["cbsa_delineation"] = {"2023": pl.concat([geo, pl.DataFrame(
        [("48453", "Travis County", "TX", "12420", "Austin-Round Rock-San Marcos, TX", "metro")], schema=geo.columns, orient="row")])}
    f["workforce_areas"] = {"current": pl.DataFrame(
        [("TX", "28", "Gulf Coast", "48201", None), ("TX", "15", "Greater Austin", "48453", None)],
        schema={"state": pl.String, "area_code": pl.String, "area_name": pl.String, "county_fips": pl.String, "note": pl.String},
        orient="row")}
    socs = [(s + [None, None])[:3] for *_, s in ETPL]
    f["etpl_programs"] = {"2024-03-20": pl.DataFrame(
        [("TX", p, name, typ, county, county.lower(), app, n, "Program " + p, "49.0205", *s3, None, 100.0, 1000.0)
         for (p, name, typ, county, app, n, _), s3 in zip(ETPL, socs, strict=True)],
        schema={"state": pl.String, "program_id": pl.String, "provider_name": pl.String, "institution_type": pl.String,
                "campus_county": pl.String, "campus_county_key": pl.String, "apprenticeship": pl.Boolean, "apprentices": pl.Float64,
                "program_name": pl.String, "cipcode": pl.String, "soc_code_1": pl.String, "soc_code_2": pl.String,
                "soc_code_3": pl.String, "credential_name": pl.String, "contact_hours": pl.Float64, "tuition_fees": pl.Float64},
        orient="row")}
    return f


def test_etpl_programs_in_ipeds_and_extra_supply_split(tmp_path: Path) -> None:
    t = Tables.from_frames(_etpl_world())
    sector = _mini_sector(tmp_path, naics=False)
    tx = Query(sector_file=sector, region="TX", etpl_completers=10).resolve(t)
    progs = regions.etpl_programs(t, tx.region)
    assert progs is not None
    in_ipeds = dict(progs.select("program_id", "in_ipeds").iter_rows())
    assert in_ipeds == {"P1": False, "P2": False, "P3": True, "P4": True, "P5": False, "P6": False, "P7": False}
    assert dict(progs.select("program_id", "county_fips").iter_rows())["P5"] == "48453"
    extra = {soc: v for soc, reg, v, _ in tx.extra_supply or () if reg == "TX"}
    # P1: 10 a year split between its two occupations; P2: 20 apprentices / 4 years; P5: 10; P6 none in the projections
    assert extra == {"53-3032": pytest.approx(5 + 20 / 4), "49-3031": pytest.approx(5), "11-1021": pytest.approx(10)}
    assert tx.etpl_note is not None
    assert "3 program(s) of providers outside IPEDS counted at 10 completer(s) a year each" in tx.etpl_note
    assert "2 registered apprenticeship(s) at their 20 reported apprentices ÷ 4 years" in tx.etpl_note
    # in the gap: the sector's share of each occupation's extra completers, shown apart and inside supply
    occ = {x["soc_code"]: x for x in compute(tx.at(by="occupation"), t).table.to_dicts()}
    assert occ["53-3032"]["supply_extra"] == pytest.approx(10 * SHARE_TRUCK)
    assert occ["53-3032"]["supply"] == pytest.approx((500 + 10) * SHARE_TRUCK)
    # an area counts only the programs whose campus is in its counties; --by wda puts each in its own area
    harris = Query(sector_file=sector, region="wda:TX-28", etpl_completers=10).resolve(t)
    assert {soc for soc, *_ in harris.extra_supply or ()} == {"53-3032", "49-3031"}
    by = Query(sector_file=sector, region="TX", by="wda", etpl_completers=10).resolve(t)
    assert sorted((reg, soc, v) for soc, reg, v, _ in by.extra_supply or ()) == [
        ("wda:TX-15", "11-1021", pytest.approx(10)), ("wda:TX-28", "49-3031", pytest.approx(5)),
        ("wda:TX-28", "53-3032", pytest.approx(10))]
    # zero completers a program: only the apprenticeships count
    zero = Query(sector_file=sector, region="TX", etpl_completers=0).resolve(t)
    assert {soc: v for soc, _, v, _ in zero.extra_supply or ()} == {"53-3032": pytest.approx(5)}
    # no list for Ohio
    with pytest.raises(UsageError, match="no Eligible Training Provider List is ingested for Ohio"):
        Query(sector_file=sector, region="OH", etpl_completers=10).resolve(t)
