"""Finding things by name (issue 14, item 4): `gapkit find`, names accepted by every option that takes a
SOC, CIP, sector or state, and "did you mean" for near misses. Real data (``ingested``) unless noted."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapkit.analysis import names
from gapkit.analysis.tables import Tables
from gapkit.errors import UsageError
from gapkit.workspace import Workspace
from tests.conftest import assert_clean_error, run_cli


@pytest.fixture(scope="module")
def ws(ingested: Path) -> Workspace:
    return Workspace(ingested)


def codes(df: pl.DataFrame) -> list[str]:
    return df["code"].to_list()


# -- gapkit find: the examples of the issue ------------------------------------------------------
def test_truck_driver_lists_heavy_truck_drivers_first(ws: Workspace) -> None:
    hits = ws.find("truck driver")
    assert hits.columns == ["kind", "code", "title", "detail", "match"]
    assert hits.row(0, named=True) | {"detail": None} == {"kind": "occupation", "code": "53-3032", "title": "Heavy and tractor-trailer truck drivers",
                                                          "detail": None, "match": "all words, in order"}
    assert "53-3033" in codes(hits)  # light truck drivers too, after
    assert "49.0205" in codes(hits.filter(pl.col("kind") == "program"))  # and the truck-driving program


def test_cli_find_truck_driver_lists_53_3032_first(ingested: Path) -> None:
    proc = run_cli("find", "truck driver", "--format", "csv", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert rows[0]["code"] == "53-3032" and rows[0]["kind"] == "occupation"
    table = run_cli("find", "truck driver", data_dir=ingested)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("gapkit find 'truck driver'") and lines[3].split()[:2] == ["occupation", "53-3032"]
    assert "Ranked: exact code" in table.stdout and "BLS Employment Projections 2024-34" in table.stdout


@pytest.mark.parametrize("text", ["registered nurse", "Registered Nurses", "registered-nurses", "29-1141", "291141"])
def test_registered_nurse(ws: Workspace, text: str) -> None:
    first = ws.find(text).row(0, named=True)
    assert (first["kind"], first["code"], first["title"]) == ("occupation", "29-1141", "Registered nurses")
    assert first["match"] in {"exact name", "code"}


def test_nursing_finds_the_nursing_programs(ws: Workspace) -> None:
    top = ws.find("nursing")
    assert sum(c.startswith("51.38") for c in codes(top)) >= 5
    programs = ws.find("nursing", kind="program", top=None)
    assert set(programs["kind"]) == {"program"}
    titles = Tables.cip_titles(ws.tables)
    series = set(titles.filter(pl.col("cipcode").str.starts_with("51.38") & pl.col("cip_title").str.contains("(?i)nursing"))["cipcode"])
    assert series <= set(codes(programs))
    assert codes(programs)[0] == "51.3801"  # the most completions of all nursing programs


def test_columbus_finds_the_columbus_ohio_metro(ws: Workspace) -> None:
    hits = ws.find("columbus", kind="region")
    first = hits.row(0, named=True)
    assert (first["code"], first["title"]) == ("18140", "Columbus, OH")
    assert "metro area (CBSA), 10 counties in OH" in first["detail"]
    assert {"17980", "18020"} <= set(codes(hits))  # Columbus GA-AL and IN metros too


def test_franklin_finds_franklin_county_ohio_among_others(ws: Workspace) -> None:
    hits = ws.find("franklin", kind="region", top=None)
    oh = hits.filter(pl.col("code") == "39049").row(0, named=True)
    assert oh["title"] == "Franklin County, OH" and "Columbus, OH metro area (central)" in oh["detail"]
    counties = hits.filter(pl.col("title").str.starts_with("Franklin County"))
    assert counties.height >= 15 and counties["code"].n_unique() == counties.height
    assert "39049" in codes(ws.find("franklin"))  # within the default 20
    assert codes(ws.find("franklin ohio"))[0] == "39049"


def test_workforce_areas_and_states(ws: Workspace) -> None:
    assert ws.find("greater austin").row(0, named=True)["code"] == "TX-15"
    assert ws.find("ohio").row(0, named=True)["code"] == "OH"
    assert ws.find("39").row(0, named=True)["match"] == "FIPS code"
    assert ws.find("dona ana county").row(0, named=True)["title"] == "Doña Ana County, NM"


def test_sectors_by_name_title_and_subsector(ws: Workspace) -> None:
    hits = ws.find("healthcare", kind="sector")
    assert codes(hits) == ["healthcare"] and hits["match"][0] == "code"  # its subsectors share the code but are not named by it
    assert ws.find("Information Technology", kind="sector")["match"].to_list() == ["exact name"]
    sub = ws.find("trucking", kind="sector").row(0, named=True)
    assert (sub["code"], sub["title"]) == ("transportation", "Trucking") and "subsector of Transportation" in sub["detail"]


# -- codes: a broad or merged code lists its detailed codes (SOC 2018 <-> projections) -------------------
def test_broad_code_lists_its_detailed_occupations(ws: Workspace) -> None:
    hits = ws.find("29-1140")
    assert codes(hits) == ["29-1141"] and hits["match"][0] == "in broad group 29-1140"


def test_every_merged_projections_code_lists_its_soc_2018_codes(ws: Workspace) -> None:
    soc = ws.load("soc_nem").filter(pl.col("relation") == "merged").collect()
    assert soc.height > 20
    for nem, members in soc.group_by("nem_code").agg("soc_code").iter_rows():
        hits = ws.find(nem, kind="occupation", top=None)
        assert hits.row(0, named=True)["code"] == nem and hits.row(0, named=True)["match"] == "code"
        inside = set(hits.filter(pl.col("match") == f"SOC 2018 code inside projections code {nem}")["code"])
        assert inside == set(members) - {nem}, nem
        for member in set(members) - {nem}:  # and each SOC 2018 code leads back to it
            back = ws.find(member, kind="occupation")
            assert back.row(0, named=True)["code"] == member
            assert back.filter(pl.col("match") == f"projections code that includes {member}")["code"].to_list() == [nem]


def test_major_group_and_cip_series_list_everything_inside(ws: Workspace) -> None:
    hits = ws.find("53-0000", top=None)
    assert hits.row(0, named=True)["code"] == "53-0000"
    ep = ws.tables.ep(ws.tables.vintage("ep_occupations"))
    lines = set(ep.filter(pl.col("soc_code").str.starts_with("53-"))["soc_code"])
    assert lines <= set(hits.filter(pl.col("match") == "in major group 53-0000")["code"])
    series = ws.find("51.38", top=None)
    assert set(series["code"]) == set(Tables.cip_titles(ws.tables).filter(pl.col("cipcode").str.starts_with("51.38"))["cipcode"])


# -- close spelling, no match, ranking stability ---------------------------------------------------------
def test_close_spelling(ws: Workspace) -> None:
    first = ws.find("registred nurses").row(0, named=True)
    assert first["code"] == "29-1141" and first["match"] == "close spelling (registred → registered)"
    assert ws.find("truck drivr").row(0, named=True)["code"] == "53-3032"


def test_unknown_text_matches_nothing(ws: Workspace, ingested: Path) -> None:
    assert ws.find("qwertyzzz").height == 0
    proc = run_cli("find", "qwertyzzz", data_dir=ingested)
    assert_clean_error(proc, "Nothing matches 'qwertyzzz'", "a code (53-3032, 51.38, 39049)")
    assert proc.returncode == 2
    assert_clean_error(run_cli("find", "   ", data_dir=ingested), "give the text to look for")
    assert_clean_error(run_cli("find", "nurse", "--top", "0", data_dir=ingested), "--top 0")


@pytest.mark.parametrize("text", ["truck driver", "nursing", "franklin", "columbus", "health", "53-0000", "39", "registred nurses"])
def test_ranking_does_not_depend_on_index_order(ws: Workspace, text: str) -> None:
    idx = names.name_index(ws.tables)
    base = names.ranked(idx, text)
    for seed in (1, 2):
        shuffled = names.ranked(idx.sample(fraction=1.0, shuffle=True, seed=seed), text)
        assert shuffled.select("eid", "tier", "why").equals(base.select("eid", "tier", "why")), text


def test_index_is_built_once_per_tables(ws: Workspace) -> None:
    assert names.name_index(ws.tables) is names.name_index(ws.tables)


def test_query_and_index_normalize_names_alike(ws: Workspace) -> None:
    idx = names.name_index(ws.tables).select("alias", "key").unique()
    assert idx.height > 8000
    assert idx["key"].to_list() == [names.name_key(a) for a in idx["alias"].to_list()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("abcdeinorstyAEIOSY019 -/'’.,&ÉéñüØ")), max_size=40) | st.text(max_size=20),
                min_size=1, max_size=10))
def test_normalization_property(texts: list[str]) -> None:  # no data needed
    assert pl.DataFrame({"a": texts}).select(names.key_expr("a"))["a"].to_list() == [names.name_key(t) for t in texts]


def test_ranking_tiers_on_a_hand_made_table_set() -> None:  # no data needed
    ep = pl.DataFrame({"soc_code": ["53-3032", "53-3033", "53-3030", "29-1141"],
                       "title": ["Heavy and tractor-trailer truck drivers", "Light truck drivers", "Driver/sales workers and truck drivers",
                                 "Registered nurses"],
                       "occ_type": ["Line item", "Line item", "Summary", "Line item"], "emp_base_k": [2200.0, 1100.0, 3500.0, 3300.0]})
    xw = pl.DataFrame({"cipcode": ["49.0205", "51.3801"], "cip_title": ["Truck and Bus Driver/Commercial Vehicle Operator.",
                                                                        "Registered Nursing/Registered Nurse."]})
    t = Tables.from_frames({"ep_occupations": {"2030-40": ep}, "cip_soc": {"X": xw}})
    hits = names.find(t, "truck drivers")
    assert codes(hits) == ["53-3032", "53-3033", "53-3030", "49.0205"]  # detailed by employment, summary, then programs
    assert hits["match"].to_list() == ["all words, in order"] * 3 + ["all words"]
    assert codes(names.find(t, "53-3030")) == ["53-3030", "53-3032", "53-3033"]  # the code, then what it holds
    assert codes(names.find(t, "registered nurse")) == ["29-1141", "51.3801"]  # exact name before all words
    assert names.find(t, "regstered nurse")["match"].to_list() == ["close spelling (regstered → registered)"] * 2
    assert names.unique_name("occupation", "Light Truck Driver", t) == "53-3033"
    assert names.unique_name("occupation", "truck drivers", t) is None
    assert names.suggest("occupation", "truck drivers", t) == [("53-3032", "Heavy and tractor-trailer truck drivers"),
                                                               ("53-3033", "Light truck drivers")]
    with pytest.raises(UsageError, match="--kind 'job'"):
        names.find(t, "truck", kind="job")


def test_find_without_data_searches_states_and_sectors(tmp_path: Path) -> None:
    proc = run_cli("find", "ohio", "--format", "json", data_dir=tmp_path / "empty")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rows"][0]["code"] == "OH"
    assert "gapkit ingest bls-ep" in out["metadata"]["notes"][0]
    assert not (tmp_path / "empty").exists()  # finding writes nothing


# -- names accepted by the analysis commands, near misses answered -----------------------------------------
def test_occupation_by_unique_name(ingested: Path) -> None:
    proc = run_cli("occupation", "registered nurses", "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["soc_code"] == "29-1141"


def test_occupation_near_miss_and_ambiguous_names(ingested: Path) -> None:
    proc = run_cli("occupation", "registred nurses", data_dir=ingested)
    assert_clean_error(proc, "'registred nurses' is not a SOC code", "; did you mean 29-1141 Registered nurses?")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("occupation", "truck", data_dir=ingested)
    assert_clean_error(proc, "did you mean 53-3032 Heavy and tractor-trailer truck drivers, 53-3033 Light truck drivers",
                       '`gapkit find "truck" --kind occupation`')


def test_occupation_broad_and_merged_codes_name_their_detailed_codes(ingested: Path) -> None:
    assert_clean_error(run_cli("occupation", "29-1140", data_dir=ingested),
                       "SOC 29-1140 is a broad group", "its detailed occupations: 29-1141 Registered nurses")
    assert_clean_error(run_cli("occupation", "21-1014", data_dir=ingested),
                       "SOC 21-1014 Mental Health Counselors is a SOC 2018 occupation", "did you mean 21-1018?")


def test_sector_names_any_case(ingested: Path) -> None:
    a = run_cli("gap", "--sector", "Healthcare", "--format", "csv", data_dir=ingested)
    b = run_cli("gap", "--sector", "healthcare", "--format", "csv", data_dir=ingested)
    assert a.returncode == 0 and a.stdout == b.stdout, a.stderr
    assert_clean_error(run_cli("gap", "--sector", "helthcare", data_dir=ingested),
                       "Unknown sector 'helthcare'; did you mean healthcare?", "Shipped sectors:")
    assert_clean_error(run_cli("sectors", "show", "Trucking"), "did you mean transportation?")


def test_region_names_and_near_misses(ingested: Path) -> None:
    a = run_cli("gap", "--region", "ohio", "--format", "csv", data_dir=ingested)
    b = run_cli("gap", "--region", "OH", "--format", "csv", data_dir=ingested)
    assert a.returncode == 0 and a.stdout == b.stdout, a.stderr
    assert_clean_error(run_cli("gap", "--region", "Ohoi", data_dir=ingested), "--region", "did you mean OH (Ohio)?")


def test_programs_cip_and_soc_by_name(ingested: Path) -> None:
    proc = run_cli("programs", "--region", "OH", "--cip", "Registered Nursing/Registered Nurse", "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["metadata"]["cip"] == "51.3801" and {r["cipcode"] for r in out["rows"]} == {"51.3801"}
    proc = run_cli("programs", "--region", "OH", "--soc", "light truck drivers", "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metadata"]["soc"] == "53-3033"
    assert_clean_error(run_cli("programs", "--cip", "nursing", data_dir=ingested), "--cip 'nursing'",
                       "did you mean 51.3801 Registered Nursing/Registered Nurse")


def test_library_accepts_names_too(ws: Workspace) -> None:
    assert ws.resolve("occupation", soc="Heavy and Tractor-Trailer Truck Drivers").soc == "53-3032"
    assert ws.resolve("gap", "Information Technology").sector.name == "information-technology"
    assert ws.resolve("gap", region="New York").region.code == "NY"
    with pytest.raises(UsageError, match="did you mean 29-1141 Registered nurses"):
        ws.resolve("programs", soc="registred nurses")
