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

import csv
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from gapkit.analysis import regions
from gapkit.analysis.method import compute
from gapkit.analysis.query import Query
from gapkit.analysis.tables import Tables
from gapkit.errors import GapkitError, UsageError
from tests.conftest import FIXTURES, assert_clean_error, run_cli
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


def test_qcew_domains_are_not_siblings_of_sectors_and_estimates_chain_down_levels() -> None:
    """QCEW's domain codes (101 goods-producing, 102 service-providing) sit under the private total like the NAICS
    sectors but are another breakdown of it: a suppressed sector is the total less the disclosed sectors only. A cell
    under an estimated parent takes the parent's estimate less its disclosed siblings."""
    rows = [("39089", "5", "10", 1000.0, 100), ("39089", "5", "101", None, 10), ("39089", "5", "102", 700.0, 90),
            ("39089", "5", "23", 200.0, 20), ("39089", "5", "48-49", None, 5), ("39089", "5", "44-45", None, 15),
            ("39089", "5", "484", None, 4), ("39089", "5", "488", 50.0, 1)]
    t = Tables.from_frames({"qcew_area": {"2023": _qcew(rows)}})
    emp, est = regions.qcew_employment(t, ("39089",), ["48-49", "44-45", "101", "484", "23"])
    assert emp["48-49"] == pytest.approx((1000 - 200) * 5 / 20) and emp["44-45"] == pytest.approx((1000 - 200) * 15 / 20)
    assert emp["101"] == pytest.approx(1000 - 700)
    assert emp["484"] == pytest.approx(200 - 50)  # under the estimated 48-49
    assert emp["23"] == 200.0 and est == {"48-49", "44-45", "101", "484"}


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
    res = compute(Query(sector_file=_mini_sector(tmp_path, naics=False), by="occupation", alloc="openings", demand="openings",
                        region=f"metro:{COLUMBUS}").resolve(t), t)
    assert sum("OEWS does not release some occupations' employment (**)" in n for n in res.notes) == 1  # said once
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


# =============================================================================================
# the real CLI on ../shared
# =============================================================================================
def _cli_json(data: Path, *args: str) -> dict[str, Any]:
    proc = run_cli(*args, "--format", "json", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def _cli_csv(data: Path, *args: str) -> pl.DataFrame:
    proc = run_cli(*args, "--format", "csv", data_dir=data)
    assert proc.returncode == 0, proc.stderr
    body = "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("#"))
    return pl.read_csv(io.StringIO(body), infer_schema_length=0)  # every column as text, as printed


def _by(rows: list[dict[str, Any]], key: str = "soc_code") -> dict[str, dict[str, Any]]:
    out = {r[key]: r for r in rows}
    assert len(out) == len(rows), f"{key} repeats"
    return out


def _stored(data: Path, dataset: str, vintage: str | None = None) -> pl.DataFrame:
    """A stored table read with plain polars (the newest vintage unless one is named)."""
    from gapkit.store import Store

    store = Store(data)
    return pl.read_parquet(store.table_path(dataset, vintage or store.vintages(dataset)[-1]))


def _cbsa_counties(data: Path, code: str) -> list[str]:
    return sorted(_stored(data, "cbsa_delineation").filter(pl.col("cbsa_code") == code)["county_fips"].to_list())


def _ohio_metros(data: Path) -> dict[str, tuple[str, set[str]]]:
    """Every metropolitan CBSA with a county in Ohio: code -> (title, the states of its counties)."""
    d = _stored(data, "cbsa_delineation").filter(pl.col("cbsa_type") == "metro")
    oh = set(d.filter(pl.col("state") == "OH")["cbsa_code"])
    return {c: (t, set(s)) for c, t, s in d.filter(pl.col("cbsa_code").is_in(list(oh))).group_by("cbsa_code", "cbsa_title")
            .agg(pl.col("state").unique()).iter_rows()}


def test_columbus_metro_by_group(ingested: Path) -> None:
    out = _cli_json(ingested, "gap", "--sector", "transportation", "--region", f"metro:{COLUMBUS}", "--by", "group")
    md, rows = out["metadata"], out["rows"]
    assert md["region"] == f"metro:{COLUMBUS}" and md["region_name"] == "Columbus, OH"
    assert {r["group"] for r in rows} == {"operations", "maintenance", "construction", "central", "other"}
    assert {r["region"] for r in rows} == {f"metro:{COLUMBUS}"}
    for r in rows:  # every row says how its demand was measured
        assert regions.INDUSTRY_BASED in r["flags"] and regions.QCEW_ESTIMATED in r["flags"], r
        assert regions.OEWS_SHARE in r["flags"] or r["group"] not in {"operations", "construction"}  # public subsectors
    assert {"qcew_area", "cbsa_delineation", "state_projections"} <= set(md["vintages"])
    assert md["vintages"]["qcew_area"]["vintage"] == "2023"
    assert any("QCEW suppresses private employment in NAICS" in n and "Columbus, OH" in n for n in md["notes"])
    # the same table in the terminal and as CSV
    table = run_cli("gap", "--sector", "transportation", "--region", "metro:columbus", "--by", "group", data_dir=ingested)
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("Transportation in Columbus, OH (metro:18140): ")
    csv_rows = _cli_csv(ingested, "gap", "--sector", "transportation", "--region", "metro:18140", "--by", "group")
    assert csv_rows["group"].to_list() == [r["group"] for r in rows]
    assert [float(x) for x in csv_rows["entrants"]] == pytest.approx([r["entrants"] for r in rows], abs=0.01)


def test_columbus_industry_based_demand_recomputed_by_hand(ingested: Path) -> None:
    """METHOD.md section 6, method 2, in plain polars over the stored Parquet: QCEW private employment (own_code 5,
    newest year) of the metro's 10 counties in each subsector's NAICS industries (a suppressed cell = its parent's
    employment minus the disclosed cells of its level, shared by establishments; a NAICS sector's parent is the
    private total) x the subsector's national staffing share (NEM base-year employment of the occupation over the
    total, summed over its industries) x Ohio's openings per worker (Projections Central openings over mean
    employment; entrants x the national (openings - transfers) / openings)."""
    import tomllib

    counties = _cbsa_counties(ingested, COLUMBUS)
    assert counties == COLUMBUS_COUNTIES
    sector = tomllib.loads((Path(regions.__file__).parents[1] / "config" / "shipped" / "sectors" / "transportation.toml")
                           .read_text(encoding="utf-8"))
    naics_subs = [s for s in sector["subsectors"] if s.get("naics")]
    public = {soc for s in sector["subsectors"] if not s.get("naics") for soc in s.get("occupations", [])}
    cells: dict[str, dict[str, tuple[str, float | None, float]]] = {}
    q = _stored(ingested, "qcew_area").filter(pl.col("area_fips").is_in(counties) & (pl.col("own_code") == "5"))
    for area, code, lvl, emp, sup, est in q.select("area_fips", "industry_code", "agglvl_code", "employment", "suppressed",
                                                   "establishments").iter_rows():
        cells.setdefault(area, {})[code] = (lvl, None if sup else emp, est or 0.0)
    ranges = {"31": "31-33", "32": "31-33", "33": "31-33", "44": "44-45", "45": "44-45", "48": "48-49", "49": "48-49"}

    def parent(code: str, lvl: str) -> str:  # agglvl 74 NAICS sector, 75 three-digit, 76 four-digit, ...
        return "10" if lvl == "74" else ranges.get(code[:2], code[:2]) if lvl == "75" else code[:-1]

    def employment(c: dict[str, tuple[str, float | None, float]], code: str) -> float:
        if code not in c:
            return 0.0
        lvl, emp, est = c[code]
        if emp is not None:
            return emp
        up = parent(code, lvl)
        level = [k for k, (lv, _, _) in c.items() if lv == lvl and parent(k, lv) == up]
        hidden = [k for k in level if c[k][1] is None]
        left = employment(c, up) - sum(c[k][1] or 0.0 for k in level if c[k][1] is not None)
        estabs = sum(c[k][2] for k in hidden)
        return max(left, 0.0) * (est / estabs if estabs else 1 / len(hidden))

    qcew = {s["key"]: sum(employment(cells[a], n) for a in counties for n in s["naics"]) for s in naics_subs}
    assert all(v > 0 for v in qcew.values()), qcew
    matrix = _stored(ingested, "nem_matrix").filter(pl.col("industry_type") == "Line item")
    proj = _stored(ingested, "state_projections").filter((pl.col("stfips") == "39") & (pl.col("soc_level") == "detailed"))
    ep = _stored(ingested, "ep_occupations")
    soc_nem = _stored(ingested, "soc_nem")
    got = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region", f"metro:{COLUMBUS}", "--by", "occupation")["rows"])
    for soc in ("53-3032", "53-2011", "53-7062", "43-5011", "53-3033"):
        assert soc not in public  # measured by the industry-based method alone
        assert soc_nem.filter((pl.col("soc_code") == soc) & (pl.col("nem_code") != soc)).height == 0  # no code harmonization
        p = proj.filter(pl.col("soc_code") == soc).row(0, named=True)
        rate = p["openings"] / ((p["emp_base"] + p["emp_proj"]) / 2)
        e = ep.filter(pl.col("soc_code") == soc).row(0, named=True)
        entrant_rate = rate * (e["openings_k"] - e["transfers_k"]) / e["openings_k"]
        workers = 0.0
        for s in naics_subs:
            m = matrix.filter(pl.col("industry_code").is_in(s["nem_industries"]))
            staff = (m.filter(pl.col("occupation_code") == soc)["emp_base_k"].sum()
                     / m.filter(pl.col("occupation_code") == "00-0000")["emp_base_k"].sum())
            workers += staff * qcew[s["key"]]
        row = got[soc]
        assert row["openings"] == pytest.approx(workers * rate, abs=0.006), soc
        assert row["entrants"] == pytest.approx(workers * entrant_rate, abs=0.006), soc
        assert "state data unusable" not in row["flags"] and regions.INDUSTRY_BASED in row["flags"]


def test_metro_supply_is_its_counties_institutions(ingested: Path) -> None:
    """--alloc none --awards all --scope occupation: an occupation's supply in the metro is the completions of every
    program the crosswalk links to it at the institutions whose IPEDS directory county is one of the metro's."""
    counties = _cbsa_counties(ingested, COLUMBUS)
    year = max(_stored(ingested, "ipeds_completions")["year"].unique().to_list())
    inst = _stored(ingested, "ipeds_institutions", str(year)).filter(pl.col("county_fips").is_in(counties))
    assert inst.height > 20 and set(inst["state"]) == {"OH"}
    comp = _stored(ingested, "ipeds_completions", str(year)).filter(
        (pl.col("cip_level") == 6) & pl.col("unitid").is_in(inst["unitid"].to_list()))
    xw = _stored(ingested, "cip_soc")
    rows = _cli_json(ingested, "gap", "--sector", "transportation", "--region", f"metro:{COLUMBUS}", "--by", "occupation",
                     "--alloc", "none", "--awards", "all", "--scope", "occupation")["rows"]
    got = _by(rows)
    checked = 0
    for soc in ("17-2051", "49-3011", "11-3071", "17-3022", "49-3031", "53-3032"):
        assert soc in got, soc
        cips = xw.filter(pl.col("soc_code") == soc)["cipcode"].unique().to_list()
        want = float(comp.filter(pl.col("cipcode").is_in(cips))["completions"].sum())
        assert got[soc]["supply"] == pytest.approx(want, abs=0.006), soc
        checked += want > 0
    assert checked >= 4
    # occupation scope: each occupation's whole demand in the metro, as for the whole economy
    whole = _by(_cli_json(ingested, "gap", "--sector", "all-industries", "--region", f"metro:{COLUMBUS}", "--by", "occupation")["rows"])
    for soc in ("53-3032", "49-3011", "17-2051"):
        assert got[soc]["openings"] == pytest.approx(whole[soc]["openings"], abs=0.02)


def test_ohio_metros_side_by_side_and_supply_areas(ingested: Path) -> None:
    metros = _ohio_metros(ingested)
    out = _cli_json(ingested, "gap", "--sector", "transportation", "--by", "metro", "--region", "OH")
    rows = out["rows"]
    by_metro = _by(rows, "region")  # every Ohio metro listed once
    assert set(by_metro) == {f"metro:{c}" for c in metros}
    for code, (title, _) in metros.items():
        r = by_metro[f"metro:{code}"]
        assert r["region_name"] == title
        assert any(w in r["flags"] for w in METHOD_WORDS), r  # every row names its area method
        assert r["openings"] > 0 and r["supply"] >= 0
    assert regions.INDUSTRY_BASED in by_metro[f"metro:{COLUMBUS}"]["flags"]  # QCEW covers Columbus's 10 counties
    assert all(regions.OEWS_SHARE in r["flags"] for r in rows)
    ohio = _cli_json(ingested, "gap", "--sector", "transportation", "--region", "OH", "--by", "sector")["rows"][0]
    ohio_only = [f"metro:{c}" for c, (_, states) in metros.items() if states == {"OH"}]
    assert len(ohio_only) >= 10
    assert sum(by_metro[m]["supply"] for m in ohio_only) <= ohio["supply"] + 0.01
    # --supply-area state: each area counts its state's institutions; an Ohio-only metro has exactly Ohio's supply
    state = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--by", "metro", "--region", "OH",
                          "--supply-area", "state")["rows"], "region")
    for m in ohio_only:
        assert state[m]["supply"] == pytest.approx(ohio["supply"], abs=0.05), m
        assert state[m]["openings"] == pytest.approx(by_metro[m]["openings"], abs=0.01)  # demand does not move
    # a cross-state metro counts every state it touches: Cincinnati (OH-KY-IN) = OH + KY + IN
    states = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region", "all")["rows"], "region")
    assert state["metro:17140"]["supply"] == pytest.approx(sum(states[s]["supply"] for s in ("OH", "KY", "IN")), abs=0.05)
    # per occupation too, for one metro
    occ_oh = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region", "OH", "--by", "occupation")["rows"])
    occ_m = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region", "metro:10420", "--by", "occupation",
                          "--supply-area", "state")["rows"])
    for soc, r in occ_oh.items():
        assert occ_m[soc]["supply"] == pytest.approx(r["supply"], abs=0.011), soc


def test_region_file_and_county(ingested: Path, tmp_path: Path) -> None:
    """A hand-made workforce area in a TOML file; the Columbus counties as a file measure what the metro measures."""
    wa = tmp_path / "central_ohio.toml"
    wa.write_text('name = "central-ohio-core"\ntitle = "Central Ohio core (Franklin, Delaware, Licking)"\n'
                  'counties = ["39049", "39041", "39089"]\nnotes = "a hand-made workforce area"\n', encoding="utf-8")
    out = _cli_json(ingested, "gap", "--sector", "transportation", "--region-file", str(wa), "--by", "group")
    assert out["metadata"]["region"] == "custom:central-ohio-core"
    assert out["metadata"]["region_name"] == "Central Ohio core (Franklin, Delaware, Licking)"
    assert all(regions.INDUSTRY_BASED in r["flags"] and regions.QCEW_SHARE in r["flags"] for r in out["rows"]
               if r["group"] in {"operations", "construction"})
    table = run_cli("gap", "--sector", "transportation", "--region-file", str(wa), data_dir=ingested)
    assert table.returncode == 0 and "Central Ohio core (Franklin, Delaware, Licking) (custom:central-ohio-core)" in table.stdout
    # the metro's 10 counties in a file: the same industry-based subsectors and the same supply as metro:18140
    same = tmp_path / "columbus.toml"
    same.write_text(f'name = "columbus"\ntitle = "Columbus by hand"\ncounties = {json.dumps(COLUMBUS_COUNTIES[::-1])}\n')
    a = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region-file", str(same), "--by", "subsector")["rows"],
            "subsector")
    b = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region", f"metro:{COLUMBUS}", "--by", "subsector")["rows"],
            "subsector")
    for key in ("trucking", "transit", "air", "rail", "maritime", "highway"):
        assert a[key]["openings"] == pytest.approx(b[key]["openings"], abs=0.01), key
        assert a[key]["supply"] == pytest.approx(b[key]["supply"], abs=0.01), key
    # one county
    franklin = _cli_json(ingested, "gap", "--sector", "transportation", "--region", "county:39049", "--by", "group")
    assert franklin["metadata"]["region"] == "county:39049" and franklin["metadata"]["region_name"] == "Franklin County, OH"
    assert all(regions.INDUSTRY_BASED in r["flags"] for r in franklin["rows"])
    f_total = sum(r["openings"] for r in franklin["rows"])
    assert 0 < f_total < sum(r["openings"] for r in b.values())  # one county of ten, most of the metro's trucking


def test_california_metro_from_edd_projections(ingested: Path) -> None:
    """Sacramento-Roseville-Folsom (4 counties) is exactly one EDD area: its openings are EDD's, annualized."""
    edd = _stored(ingested, "substate_projections").filter(pl.col("area_name").str.starts_with("Sacramento")
                                                           & (pl.col("soc_level") == "detailed"))
    assert edd["area_name"].n_unique() == 1
    out = _cli_json(ingested, "gap", "--sector", "all-industries", "--region", "metro:40900", "--by", "occupation")
    assert out["metadata"]["region_name"].startswith("Sacramento")
    got = _by(out["rows"])
    for soc in ("53-3032", "29-1141", "47-2061"):
        e = edd.filter(pl.col("soc_code") == soc).row(0, named=True)
        assert got[soc]["openings"] == pytest.approx(e["openings_period"] / 10, abs=0.01)
        assert got[soc]["entrants"] == pytest.approx((e["openings_period"] - e["transfers_period"]) / 10, abs=0.01)
        assert "state sub-state projections (Sacramento" in got[soc]["flags"]
    grp = _cli_json(ingested, "gap", "--sector", "transportation", "--region", "metro:40900", "--by", "group")["rows"]
    assert grp and all(regions.EDD in r["flags"] for r in grp)


def test_texas_workforce_area_programs_and_providers(ingested: Path) -> None:
    wda = _stored(ingested, "workforce_areas").filter((pl.col("state") == "TX") & (pl.col("area_code") == "28"))
    harris = set(wda["county_fips"])
    assert "48201" in harris
    proc = run_cli("programs", "--sector", "transportation", "--region", "wda:TX-28", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert "Gulf Coast workforce area (TX)" in proc.stdout
    prov = _cli_csv(ingested, "programs", "--sector", "transportation", "--region", "wda:TX-28", "--view", "providers")
    assert prov.height > 20
    assert set(prov["county_fips"]) <= harris  # campus county in the area
    assert "outside IPEDS" in " ".join(prov["reports_to"].unique().to_list())
    apprentices = prov.filter(pl.col("apprenticeship").str.to_lowercase() == "true")
    assert apprentices.height > 0
    raw = _stored(ingested, "etpl_programs").filter(pl.col("program_id").is_in(apprentices["program_id"].to_list()))
    want = dict(raw.select("program_id", pl.col("apprentices").fill_null(0.0)).iter_rows())
    for pid, n in apprentices.select("program_id", "apprentices").iter_rows():
        assert float(n) == pytest.approx(want[pid]), pid
    js = _cli_json(ingested, "programs", "--sector", "transportation", "--region", "wda:TX-28", "--view", "providers")
    assert len(js["rows"]) == prov.height


def test_etpl_completers_as_stated_extra_supply(ingested: Path) -> None:
    base = _cli_json(ingested, "gap", "--sector", "transportation", "--region", "TX", "--by", "occupation")
    out = _cli_json(ingested, "gap", "--sector", "transportation", "--region", "TX", "--by", "occupation", "--etpl-completers", "10")
    extra = sum(r["supply_extra"] for r in out["rows"])
    assert extra > 0 and sum(r["supply_extra"] for r in base["rows"]) == 0
    b = _by(base["rows"])
    for soc, r in _by(out["rows"]).items():  # extra supply adds to supply, never changes demand
        assert r["supply"] == pytest.approx(b[soc]["supply"] + r["supply_extra"], abs=0.02), soc
        assert r["openings"] == pytest.approx(b[soc]["openings"])
    md = out["metadata"]
    assert md["extra_supply"] == "ETPL at 10 a program"
    said = " ".join(md["assumptions"])
    assert "counted at 10 completer(s) a year each (an assumption" in said and "reported apprentices ÷ 4 years" in said
    table = run_cli("gap", "--sector", "transportation", "--region", "TX", "--etpl-completers", "10", data_dir=ingested)
    assert table.returncode == 0 and "an assumption: the list publishes no completer counts" in " ".join(table.stdout.split())


def test_regions_listing(ingested: Path) -> None:
    oh = _cli_json(ingested, "regions", "OH")
    rows = _by(oh["rows"], "region")
    assert rows[f"metro:{COLUMBUS}"]["area_data"] == "OEWS area, QCEW all counties"
    assert rows[f"metro:{COLUMBUS}"]["counties"] == 10 and rows["county:39049"]["area_data"] == "QCEW"
    metros = _ohio_metros(ingested)
    assert {r for r, x in rows.items() if x["kind"] == "metro"} == {f"metro:{c}" for c in metros}
    assert sum(1 for x in rows.values() if x["kind"] == "county") == 88  # every Ohio county
    assert oh["metadata"]["title"].startswith("Regions in OH")
    tx = _cli_csv(ingested, "regions", "TX", "--kind", "wda")
    wda = _stored(ingested, "workforce_areas").filter(pl.col("state") == "TX")
    assert set(tx["region"]) == {f"wda:TX-{c}" for c in wda["area_code"].unique()} and tx.height == 24
    sizes = dict(wda.group_by("area_code").len().iter_rows())
    assert {r: int(n) for r, n in tx.select("region", "counties").iter_rows()} == {f"wda:TX-{c}": n for c, n in sizes.items()}
    table = run_cli("regions", "TX", "--kind", "wda", data_dir=ingested)
    assert table.returncode == 0 and "Gulf Coast" in table.stdout


def test_pathways_occupation_chart_report_with_a_metro(ingested: Path, tmp_path: Path) -> None:
    path = run_cli("pathways", "--sector", "transportation", "--region", f"metro:{COLUMBUS}", "--top", "5", data_dir=ingested)
    assert path.returncode == 0, path.stderr
    text = " ".join(path.stdout.split())
    assert "pathway priorities in Columbus, OH" in text and "Wages: OEWS May 2025, Columbus, OH" in text
    pw = _cli_csv(ingested, "pathways", "--sector", "transportation", "--region", f"metro:{COLUMBUS}")
    oews = _stored(ingested, "oews_wages", "2025").filter((pl.col("area_code") == COLUMBUS) & (pl.col("soc_code") == "53-3032"))
    assert float(pw.filter(pl.col("soc_code") == "53-3032")["median_wage"].item()) == oews["a_median"].item()  # the metro's wage
    occ = _cli_json(ingested, "occupation", "53-3032", "--region", f"metro:{COLUMBUS}")
    assert occ["region"] == f"metro:{COLUMBUS}" and occ["region_name"] == "Columbus, OH"
    occ_table = run_cli("occupation", "53-3032", "--region", f"metro:{COLUMBUS}", data_dir=ingested)
    assert occ_table.returncode == 0 and "Columbus, OH (metro:18140)" in occ_table.stdout
    svg = tmp_path / "bars.svg"
    chart = run_cli("chart", "bars", "--region", f"metro:{COLUMBUS}", "--out", str(svg), data_dir=ingested)
    assert chart.returncode == 0, chart.stderr
    assert "Columbus, OH" in chart.stderr and "Columbus, OH" in svg.read_text(encoding="utf-8")
    report = run_cli("report", "--region", f"metro:{COLUMBUS}", "--out", str(tmp_path / "brief"), data_dir=ingested)
    assert report.returncode == 0, report.stderr
    brief = (tmp_path / "brief" / "brief.md").read_text(encoding="utf-8")
    assert brief.startswith("# Transportation skills gap: Columbus, OH")
    assert "industry-based (QCEW x staffing pattern)" in brief and "institutions in its counties" in brief
    assert "metro:18140's Projections Central" not in brief and "the state's published openings times" not in brief
    assert "| qcew_area | 2023 |" in brief  # provenance of the area data


def test_extra_supply_for_a_county_list_in_any_order(ingested: Path, tmp_path: Path) -> None:
    x = tmp_path / "cdl.csv"
    x.write_text('soc,region,annual_completers,source\n53-3032,"county:39049,39041",500,CDL schools\n'
                 "53-3032,OH,9999,not this area\n", encoding="utf-8")
    rows = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region", "county:39041,39049", "--by", "occupation",
                         "--extra-supply", str(x))["rows"])
    base = _by(_cli_json(ingested, "gap", "--sector", "transportation", "--region", "county:39041,39049", "--by", "occupation")["rows"])
    assert rows["53-3032"]["supply_extra"] > 0
    assert rows["53-3032"]["supply"] - base["53-3032"]["supply"] == pytest.approx(rows["53-3032"]["supply_extra"], abs=0.02)
    assert rows["53-3032"]["supply_extra"] < 500  # the sector's share of 500, not Ohio's 9,999


# =============================================================================================
# names that resolve, and bad input: one clear paragraph, a non-zero exit, no traceback
# =============================================================================================
@pytest.mark.parametrize("text", ["metro:columbus", "columbus", "Columbus, OH", "metro:18140", "cbsa:18140"])
def test_columbus_by_name_resolves_to_18140(ingested: Path, text: str) -> None:
    """Columbus GA-AL, IN, MS and NE are CBSAs too; 'columbus' is the one metro gapkit has area data for."""
    md = _cli_json(ingested, "gap", "--sector", "transportation", "--region", text, "--by", "sector")["metadata"]
    assert (md["region"], md["region_name"]) == (f"metro:{COLUMBUS}", "Columbus, OH")


def _region_files(tmp: Path) -> dict[str, Path]:
    files = {
        "bad-fips": 'name = "x"\ntitle = "X"\ncounties = ["39049", "3904a"]\n',
        "no-state": 'name = "x"\ntitle = "X"\ncounties = ["99999"]\n',
        "no-county": 'name = "x"\ntitle = "X"\ncounties = ["39049", "39999"]\n',
        "no-counties-key": 'name = "x"\ntitle = "X"\n',
        "empty-list": 'name = "x"\ntitle = "X"\ncounties = []\n',
        "not-toml": "name = central ohio [[[\n",
        "twice": 'name = "x"\ntitle = "X"\ncounties = ["39049", "39049"]\n',
        "too-many": 'name = "x"\ntitle = "X"\ncounties = [' + ", ".join(f'"{39000 + i:05d}"' for i in range(10_000)) + "]\n",
    }
    out = {}
    for k, text in files.items():
        out[k] = tmp / f"{k}.toml"
        out[k].write_text(text, encoding="utf-8")
    out["folder"] = tmp / "a-folder.toml"
    out["folder"].mkdir()
    out["missing"] = tmp / "missing.toml"
    return out


REGION_FILE_ERRORS = {
    "bad-fips": ["counties[1]", "'3904a' is not a county FIPS code"],
    "no-state": ["'99999' is not a county FIPS code"],
    "no-county": ["counties 39999 are not counties of the ingested geography"],
    "no-counties-key": ["counties: Field required", 'counties = ["39049", ...]'],
    "empty-list": ["counties: List should have at least 1 item"],
    "not-toml": ["not valid TOML", "line 1"],
    "twice": ["county listed twice: 39049"],
    "too-many": ["at most 5000 items", "not 10000"],
    "folder": ["is a folder, not a file"],
    "missing": ["no such file"],
}


BAD_REGIONS: list[tuple[list[str], list[str]]] = [
    (["gap", "--region", "metro:99999"], ["no CBSA 99999 in the 2023 delineation", "gapkit regions STATE"]),
    (["gap", "--region", "metro:colombus"], ["no metropolitan or micropolitan area is called that", "did you mean",
                                             "metro:18140 (Columbus, OH)"]),
    (["gap", "--region", "metro:portland"], ["matches 2 areas", "metro:38860", "metro:38900", "Give the code"]),
    (["gap", "--region", "metro:"], ["give a CBSA code (metro:18140) or a metro name"]),
    (["gap", "--region", "county:39999"], ["39999 is not a county of the ingested geography", "gapkit ingest geo"]),
    (["gap", "--region", "county:3904"], ["'3904' is not a five-digit county FIPS code"]),
    (["gap", "--region", "county:39049,39041,39049"], ["county listed twice: 39049", "list each county once"]),
    (["gap", "--region", "county:"], ["give one or more five-digit county FIPS codes"]),
    (["gap", "--by", "metro"], ["--by metro puts a state's areas side by side", "--region OH --by metro"]),
    (["gap", "--by", "wda", "--region", f"metro:{COLUMBUS}"], ["--by wda puts a state's areas side by side"]),
    (["gap", "--region-file", "{region_file}", "--region", "OH"], ["is the region; it cannot be combined with --region OH"]),
    (["gap", "--region", "county:39035"], ["No QCEW 2023 area file is ingested for county 39035",
                                           "gapkit ingest qcew --counties 39035 --years 2023"]),
    (["gap", "--region", "county:39049,39035,39151"], ["gapkit ingest qcew --counties 39035,39151"]),
    (["gap", "--region", "metro:35620"], ["gapkit ingest qcew --counties 34003,", "or ingest the OEWS metro file",
                                          "New York-Newark-Jersey City"]),
    (["gap", "--by", "wda", "--region", "TX"], ["no area of Texas can be measured", "gapkit ingest qcew --counties"]),
    (["gap", "--region", "TX", "--etpl-completers", "-1"], ["--etpl-completers -1", "a number from 0 to 500"]),
    (["gap", "--region", "TX", "--etpl-completers", "nan"], ["--etpl-completers nan", "a number from 0 to 500"]),
    (["gap", "--region", "TX", "--etpl-completers", "1e9"], ["--etpl-completers 1000000000", "a number from 0 to 500"]),
    (["gap", "--region", "US", "--etpl-completers", "10"], ["--etpl-completers counts a state's Eligible Training Provider List",
                                                            "wda:TX-9"]),
    (["gap", "--region", "OH", "--etpl-completers", "10"], ["no Eligible Training Provider List is ingested for Ohio"]),
    (["programs", "--region", "OH", "--view", "providers"], ["--view providers", "none is ingested for Ohio"]),
    (["programs", "--region", "wda:TX-99"], ["no workforce area 99 in TX's file", "TX-28"]),
    (["gap", "--region", "wda:TX-99"], ["no workforce area 99 in TX's file"]),
    (["gap", "--region", "wda:OH-1"], ["no county -> workforce area file for OH is ingested"]),
    (["gap", "--region", "wda:TX"], ["give a state and an area number, e.g. wda:TX-9"]),
    (["gap", "--region", f"metro:{COLUMBUS}", "--supply-area", "county"], ["--supply-area 'county'", "choose region"]),
    (["chart", "states", "--region", f"metro:{COLUMBUS}", "--out", "{tmp}/s.svg"], ["The states chart compares every state",
                                                                                    "drop --region metro:18140"]),
]


def _case_id(args: list[str]) -> str:
    return " ".join(args[:5])


@pytest.fixture(scope="module")
def bad_runs(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every bad command run once, two at a time (each is a fresh `gapkit` process): case id -> (process, argv, tmp)."""
    from concurrent.futures import ThreadPoolExecutor

    tmp = tmp_path_factory.mktemp("bad-regions")
    files = _region_files(tmp)
    rf = tmp / "r.toml"
    rf.write_text('name = "r"\ntitle = "R"\ncounties = ["39049"]\n', encoding="utf-8")
    cases = {f"file:{k}": ["gap", "--sector", "transportation", "--region-file", str(files[k])] for k in REGION_FILE_ERRORS}
    for args, _ in BAD_REGIONS:
        cases[_case_id(args)] = [a.replace("{region_file}", str(rf)).replace("{tmp}", str(tmp)) for a in args]
    with ThreadPoolExecutor(max_workers=2) as pool:
        running = {k: pool.submit(run_cli, *argv, data_dir=ingested) for k, argv in cases.items()}
        return {k: (f.result(), cases[k], tmp) for k, f in running.items()}


@pytest.mark.parametrize("case", sorted(REGION_FILE_ERRORS))
def test_bad_region_files(bad_runs: dict[str, Any], case: str) -> None:
    proc, argv, _ = bad_runs[f"file:{case}"]
    assert_clean_error(proc, f"--region-file {argv[-1]}", *REGION_FILE_ERRORS[case])
    assert proc.returncode == 2 and proc.stderr.count("error:") == 1 and proc.stdout == ""


@pytest.mark.parametrize(("args", "needles"), BAD_REGIONS, ids=[_case_id(a) for a, _ in BAD_REGIONS])
def test_bad_regions_are_one_clear_message(bad_runs: dict[str, Any], args: list[str], needles: list[str]) -> None:
    proc, _, tmp = bad_runs[_case_id(args)]
    assert_clean_error(proc, *needles)
    assert proc.returncode in (1, 2) and proc.stderr.count("error:") == 1, proc.stderr
    assert not (tmp / "s.svg").exists()


# =============================================================================================
# a metro OEWS file for another state parses the same way (hand-made, official MSA_M<year>_dl layout)
# =============================================================================================
OEWS_TX = FIXTURES / "oews" / "MSA_M2099_dl.csv"  # Austin-Round Rock-San Marcos, TX (CBSA 12420); 53-2011 is "**"


def _san_antonio_zip(tmp: Path) -> Path:
    """The same layout as a workbook inside oesm99ma.zip: San Antonio-New Braunfels, TX (41700)."""
    import zipfile

    from tests.minixlsx import write_xlsx

    lines = OEWS_TX.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows: list[list[Any]] = [header]
    for rec in csv.reader(lines[1:]):
        vals = dict(zip(header, rec, strict=True))
        vals.update(AREA="41700", AREA_TITLE="San Antonio-New Braunfels, TX")
        if vals["OCC_CODE"] == "53-3032":
            vals["TOT_EMP"] = "12,500"
        rows.append([int(v.replace(",", "")) if re.fullmatch(r"[\d,]+", v) else v for v in (vals[h] for h in header)])
    x = write_xlsx(tmp / "MSA_M2099_dl.xlsx", {"MSA_M2099_dl": rows})
    z = tmp / "oesm99ma.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(x, "oesm99ma/MSA_M2099_dl.xlsx")
    x.unlink()
    return z


def test_a_texas_metro_oews_file_parses_and_measures_the_metro(ingested: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ingested, data)
    z = _san_antonio_zip(tmp_path)
    proc = run_cli("ingest", "--offline", "--from", str(OEWS_TX), "--from", str(z), data_dir=data)
    assert proc.returncode == 0, proc.stderr
    stored = _stored(data, "oews_wages", "2099")
    assert set(stored["area_type"]) == {"metro"} and set(stored["area_code"]) == {"12420", "41700"}
    assert set(stored["state"]) == {"TX"} and stored.height == 22
    pilots = stored.filter((pl.col("area_code") == "12420") & (pl.col("soc_code") == "53-2011")).row(0, named=True)
    assert pilots["tot_emp"] is None and pilots["emp_flag"] == "not available"  # "**" is not 0
    listed = _by(_cli_json(data, "regions", "TX", "--kind", "metro")["rows"], "region")
    assert listed["metro:12420"]["area_data"] == "OEWS area" and listed["metro:41700"]["area_data"] == "OEWS area"
    # the share method: the metro's openings are Texas's x the metro's share of Texas's OEWS employment
    tx_state = _stored(data, "oews_wages", "2024").filter((pl.col("area_type") == "state") & (pl.col("state") == "TX")
                                                          & (pl.col("o_group") == "detailed"))
    state_emp = dict(tx_state.select("soc_code", "tot_emp").iter_rows())
    metro_emp = dict(stored.filter((pl.col("area_code") == "12420") & (pl.col("o_group") == "detailed"))
                     .select("soc_code", "tot_emp").iter_rows())
    known = [s for s, v in metro_emp.items() if v is not None and state_emp.get(s)]
    overall = sum(metro_emp[s] for s in known) / sum(state_emp[s] for s in known)
    texas = _by(_cli_json(data, "gap", "--sector", "all-industries", "--region", "TX", "--by", "occupation")["rows"])
    austin = _by(_cli_json(data, "gap", "--sector", "all-industries", "--region", "metro:12420", "--by", "occupation")["rows"])
    for soc in ("53-3032", "53-7062", "49-3031", "11-3071"):
        assert austin[soc]["openings"] == pytest.approx(texas[soc]["openings"] * metro_emp[soc] / state_emp[soc], abs=0.01), soc
        assert regions.OEWS_SHARE in austin[soc]["flags"] and "OEWS May 2099 area" in austin[soc]["flags"]
    assert austin["53-2011"]["openings"] == pytest.approx(texas["53-2011"]["openings"] * overall, abs=0.01)  # "**"
    assert regions.OEWS_NOT_RELEASED in austin["53-2011"]["flags"]
    assert austin["29-1141"]["openings"] == 0  # not in the metro's file: no employment there; its supply is kept
    assert austin["29-1141"]["supply"] > 0
    sa = _by(_cli_json(data, "gap", "--sector", "all-industries", "--region", "metro:41700", "--by", "occupation")["rows"])
    assert sa["53-3032"]["openings"] == pytest.approx(texas["53-3032"]["openings"] * 12_500 / state_emp["53-3032"], abs=0.01)
    # pathways: the metro's wages and all-occupation median
    pw = run_cli("pathways", "--sector", "transportation", "--region", "metro:12420", "--format", "csv", data_dir=data)
    assert pw.returncode == 0, pw.stderr
    text = " ".join(pw.stderr.split())  # CSV on standard output is data; its method goes to standard error
    assert "Wages: OEWS May 2099, Austin-Round Rock-San Marcos, TX (MSA_M2099_dl.csv)" in text
    assert "1 × Austin-Round Rock-San Marcos, TX all-occupation median $52,000" in text
    body = "\n".join(line for line in pw.stdout.splitlines() if not line.startswith("#"))
    wages = dict(pl.read_csv(io.StringIO(body), infer_schema_length=0).select("soc_code", "median_wage").iter_rows())
    assert float(wages["53-3032"]) == 54_000 and float(wages["53-7062"]) == 38_000
    # national and state wages are untouched by the newer metro vintage
    texas_paths = run_cli("pathways", "--sector", "transportation", "--region", "TX", "--top", "3", data_dir=data)
    assert texas_paths.returncode == 0 and "Wages: OEWS May 2024, Texas" in " ".join(texas_paths.stdout.split())
