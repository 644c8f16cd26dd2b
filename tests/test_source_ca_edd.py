"""ca-edd source: California EDD sub-state projections 2020-2030 in ../shared (MANIFEST-substate entry 5),
a hand-made file in the Socrata export layout, bad files and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from gapkit.errors import SchemaDriftError, SourceFormatError, UsageError
from gapkit.ingestion.readers import read_csv_text
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable
from gapkit.ingestion.sources.ca_edd import SCHEMAS, CaEdd
from gapkit.ingestion.sources.geo import Geo
from gapkit.store import Store
from tests.conftest import FIXTURES, assert_clean_error, run_cli
from tests.substate_support import assert_ingest_refused, copy_data, manifest_text, number, owner, parse_one

SRC = CaEdd()
CSV = "substate/projections_ca/ca_edd_Long-Term_Occupational_Employment_Projections_2020-2030.csv"
FIXTURE = FIXTURES / "ca_edd" / "ca_edd_Long-Term_Occupational_Employment_Projections_2088-2098.csv"


@pytest.fixture(scope="module")
def edd(shared_data: Path) -> ParsedTable:
    [t] = parse_one(SRC, shared_data / CSV)
    assert t.frame.schema == pl.from_arrow(SCHEMAS["substate_projections"].empty_table()).schema
    return t


@pytest.fixture(scope="module")
def published(shared_data: Path) -> dict[str, int]:
    text = manifest_text(shared_data)
    m = re.search(r"1 header \+ \*\*([\d,]+) rows\*\*, period \*\*2020-2030\*\*", text)
    t = re.search(r"California total, ([\d,]+) exits \+\s+([\d,]+) transfers \+ ([\d,]+) change = ([\d,]+) openings", text)
    areas = re.search(r"`State` \(([\d,]+) rows\), `Metropolitan Area` \(([\d,]+) rows, (\d+) MSAs.*?`Consortium` \(([\d,]+) rows", text, re.S)
    detailed = re.search(r"there are ([\d,]+) detailed rows", text)
    assert m and t and areas and detailed
    return {"rows": number(m[1]), "exits": number(t[1]), "transfers": number(t[2]), "change": number(t[3]), "openings": number(t[4]),
            "state_rows": number(areas[1]), "metro_rows": number(areas[2]), "metros": int(areas[3]), "consortium_rows": number(areas[4]),
            "detailed": number(detailed[1])}


def test_rows_areas_and_levels(edd: ParsedTable, published: dict[str, int]) -> None:
    f = edd.frame
    assert (edd.dataset, edd.vintage, edd.unit) == ("substate_projections", "2020-30", "CA")
    assert f.height == published["rows"] == 16_908
    rows = dict(f.group_by("area_type").len().iter_rows())
    assert rows == {"state": published["state_rows"], "metro": published["metro_rows"], "consortium": published["consortium_rows"]}
    areas = dict(f.group_by("area_type").agg(pl.col("area_name").n_unique()).iter_rows())
    assert areas == {"state": 1, "metro": published["metros"], "consortium": 3}
    assert f.filter(pl.col("soc_level") == "detailed").height == published["detailed"]
    assert dict(f.group_by("soc_level").len().iter_rows())["total"] == 33
    # level 4 holds a few broad codes (29-2010...) in place of their detailed codes, never beside them: no double count
    det = f.filter(pl.col("soc_level") == "detailed").with_columns(pl.col("soc_code").str.slice(0, 6).alias("broad"))
    stand_ins = det.filter(pl.col("soc_code").str.ends_with("0"))
    assert stand_ins.height > 0
    assert stand_ins.join(det.filter(~pl.col("soc_code").str.ends_with("0")), on=["area_name", "broad"]).height == 0
    assert (f["state"] == "CA").all() and (f["stfips"] == "06").all() and (f["years"] == 10).all()
    assert f.filter(pl.col("area_type") == "state")["area_code"].unique().to_list() == ["06"]
    assert f.filter(pl.col("area_type") != "state")["area_code"].null_count() == f.filter(pl.col("area_type") != "state").height


def test_california_total_ten_year_and_annual(edd: ParsedTable, published: dict[str, int]) -> None:
    ca = edd.frame.filter((pl.col("area_type") == "state") & (pl.col("soc_code") == "00-0000")).row(0, named=True)
    assert (ca["exits_period"], ca["transfers_period"], ca["emp_change"], ca["openings_period"]) == (
        published["exits"], published["transfers"], published["change"], published["openings"])
    assert published["exits"] + published["transfers"] + published["change"] == published["openings"] == 23_563_820
    # annualized over the 10-year period; change is the whole period's, as published
    assert (ca["exits"], ca["transfers"], ca["openings"]) == (811_810, 1_260_202, 2_356_382)
    f = edd.frame
    assert ((f["openings"] * f["years"] - f["openings_period"]).abs() < 1e-6).all()
    assert ((f["exits"] * 10 - f["exits_period"]).abs() < 1e-6).all() and ((f["transfers"] * 10 - f["transfers_period"]).abs() < 1e-6).all()


def test_identity_checked_and_reported_not_fixed(edd: ParsedTable) -> None:
    f = edd.frame
    gap = f["exits_period"] + f["transfers_period"] + f["emp_change"] - f["openings_period"]
    assert (gap != 0).sum() == 1  # one published row: Salinas' total
    salinas = f.filter(gap != 0).row(0, named=True)
    assert salinas["area_title"] == "Salinas MSA" and salinas["soc_code"] == "00-0000" and salinas["openings_period"] == 282_500
    assert any("1 row(s) publish total job openings that differ" in n and "Salinas MSA" in n for n in edd.notes)


def test_zero_wages_are_not_available(edd: ParsedTable, shared_data: Path) -> None:
    raw = read_csv_text(shared_data / CSV, origin="x")
    zero = raw.filter(pl.col("Median Annual Wage") == "0.00").height
    assert zero > 0 and edd.frame["a_median"].null_count() == zero
    assert edd.frame.filter(pl.col("a_median") == 0).height == 0 and edd.frame.filter(pl.col("h_median") == 0).height == 0
    assert raw.filter(pl.col("Entry Level Education") == "N/A").height == edd.frame["education"].null_count()


def test_area_counties_cover_california_once(edd: ParsedTable, shared_data: Path) -> None:
    areas = edd.frame.filter(pl.col("area_type") != "state").select("area_title", "counties").unique()
    assert areas.height == 32
    names = areas["counties"].explode()
    assert names.len() == names.n_unique() == 58  # every county in exactly one area
    yuba = areas.filter(pl.col("area_title") == "Yuba City MSA")["counties"].item().to_list()
    assert yuba == ["Sutter", "Yuba"]
    # each name is a California county of the OEWS area definitions (join on state + county_key)
    [defs] = Geo().parse(shared_data / "substate/oews_msa/area_definitions_m2021.xlsx", "x")
    ca = defs.frame.filter(pl.col("state") == "CA").select("county_key", "county_fips")
    from gapkit.ingestion.sources.geo import county_key_expr

    keyed = pl.DataFrame({"name": names}).with_columns(county_key_expr("name").alias("county_key")).join(ca, on="county_key", how="left")
    assert keyed["county_fips"].null_count() == 0 and keyed["county_fips"].n_unique() == 58 == ca.height


def test_metros_and_consortia_versus_the_state(edd: ParsedTable) -> None:
    """The 32 areas name all 58 counties once, yet their totals fall short of the state's by 1-2%: EDD projects
    each area on its own and does not benchmark the areas to the state. Reported in a note, not forced."""
    tot = edd.frame.filter(pl.col("soc_level") == "total")
    state = tot.filter(pl.col("area_type") == "state")
    areas = tot.filter(pl.col("area_type") != "state")
    for col in ("emp_base", "emp_proj", "openings", "exits", "transfers"):
        short = 1 - areas[col].sum() / state[col].item()
        assert 0 < short < 0.025, (col, short)
    assert any("32 sub-state areas (58 counties) vs the state total" in n and "(-1.9%)" in n and "(-1.0%)" in n for n in edd.notes)
    # detailed rows are published only where confidentiality allows: within each area they sum below its total
    det = edd.frame.filter(pl.col("soc_level") == "detailed").group_by("area_name").agg(pl.col("emp_base").sum())
    j = det.join(tot.select("area_name", pl.col("emp_base").alias("total")), on="area_name")
    assert (j["emp_base"] <= j["total"]).all()


def test_hand_made_export_layout() -> None:
    [t] = parse_one(SRC, FIXTURE)
    f = t.frame
    assert (t.vintage, t.unit, f.height) == ("2088-98", "CA", 6)
    truck = f.filter((pl.col("area_title") == "Yuba City MSA") & (pl.col("soc_code") == "53-3032")).row(0, named=True)
    assert (truck["openings_period"], truck["openings"], truck["a_median"], truck["h_median"]) == (170, 17, None, None)
    assert f.filter(pl.col("area_type") == "consortium")["counties"][0].to_list() == ["Del Norte", "Humboldt", "Lake", "Mendocino"]


def _edit(tmp_path: Path, edit, name: str = FIXTURE.name) -> Path:  # noqa: ANN001
    p = tmp_path / name
    p.write_text(edit(FIXTURE.read_text()))
    return p


def _truck(s: str) -> str:
    return next(ln for ln in s.splitlines() if ln.startswith("Metropolitan") and "53-3032" in ln)


BAD = {
    "renamed openings": (lambda s: s.replace("Total  Job Openings", "Job Openings"), SchemaDriftError, "Total Job Openings not found"),
    "unreadable number": (lambda s: s.replace(",60,90,170,", ",60,9O,170,"), SourceFormatError,
                          "'Transfers' has 1 value(s) that are not numbers, e.g. '9O'"),
    "missing number": (lambda s: s.replace(",60,90,170,", ",60,,170,"), SourceFormatError, "'Transfers' is empty on 1 row(s)"),
    "unknown area type": (lambda s: s.replace("Consortium,", "Region,"), SourceFormatError, "not State, Metropolitan Area or Consortium"),
    "bad soc": (lambda s: s.replace("53-3032,Heavy", "53-303,Heavy", 1), SourceFormatError, "not SOC codes, e.g. '53-303'"),
    "bad period": (lambda s: s.replace("2088-2098", "2088"), SourceFormatError, "not a projection period"),
    "two states": (lambda s: s.replace("State,California,2088-2098,4", "State,Oregon,2088-2098,4"), SourceFormatError,
                   "exactly one State area"),
    "conflicting duplicate": (lambda s: s + _truck(s).replace(",150,170,", ",151,170,") + "\n", SourceFormatError, "different figures"),
    "empty": (lambda s: "", SourceFormatError, "empty"),
    "html": (lambda s: "<!DOCTYPE html><html><body>Service Unavailable</body></html>", SourceFormatError, "HTML page"),
    "header only": (lambda s: s.splitlines()[0] + "\n", SourceFormatError, "no data rows"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files(case: str, tmp_path: Path) -> None:
    edit, exc, needle = BAD[case]
    p = _edit(tmp_path, edit)
    with pytest.raises(exc, match=re.escape(needle)) as e:
        SRC.parse(p, str(p))
    assert str(p) in str(e.value)


def test_exact_duplicate_dropped_and_reported(tmp_path: Path) -> None:
    [t] = SRC.parse(p := _edit(tmp_path, lambda s: s + _truck(s) + "\n"), str(p))
    assert t.frame.height == 6 and "1 exact duplicate" in t.notes[0]


def test_recognized_by_name_and_content(shared_data: Path, tmp_path: Path) -> None:
    assert owner(shared_data / CSV) == "ca-edd" and owner(FIXTURE) == "ca-edd"
    socrata = tmp_path / "Long-Term_Occupational_Employment_Projections.csv"  # the export's default name: content tells
    socrata.write_bytes(FIXTURE.read_bytes())
    assert owner(socrata) == "ca-edd"
    for p in [shared_data / "projections_central" / "ltprojections_2020-30_all_states.csv",
              shared_data / "substate/oews_msa/MSA_M2025_dl_OH_derived.csv", shared_data / "cip/CIPCode2020.csv"]:
        assert owner(p) != "ca-edd", p


def test_no_download_url_is_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no fixed download URL"):
        SRC.remotes(IngestOptions())
    proc = run_cli("ingest", "ca-edd", "--offline", "--mirror", str(tmp_path), data_dir=tmp_path / "d")
    assert_clean_error(proc, "ca-edd has no fixed download URL", "--from")
    assert proc.returncode == 2


def test_ingested_from_shared(ingested: Path) -> None:
    s = Store(ingested).scan("substate_projections", "2020-30")
    assert s.select(pl.len()).collect().item() == 16_908
    entry = Store(ingested).entry("substate_projections", "2020-30")
    assert entry is not None and set(entry.inputs) == {"CA"} and entry.source == "ca-edd"


def test_bad_file_through_the_cli_leaves_the_store_intact(ingested: Path, tmp_path: Path) -> None:
    data = copy_data(ingested, tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ca_edd_Long-Term_Occupational_Employment_Projections_2020-2030.csv").write_text(
        FIXTURE.read_text().replace("2088-2098", "2020-2030").replace("Total  Job Openings", "Openings"))
    assert_ingest_refused(data, bad, "ca_edd_Long-Term_Occupational_Employment_Projections_2020-2030.csv: required column(s) "
                                     "Total Job Openings not found")
