"""`gapkit ingest` end to end on the real agency files in ../shared (local folder and loopback HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from gapkit.store import Store
from tests.conftest import run_cli
from tests.httpserver import base_url, serve

PUBLISHED_OPENINGS_K = {"2022-32": 18566.5, "2023-33": 19174.8, "2024-34": 18863.3}
IPEDS_FIRST_MAJOR_TOTALS = {2021: 5_315_767, 2022: 5_310_086, 2023: 5_297_774, 2024: 5_459_862}
IPEDS_ROWS = {2021: 274_932, 2022: 279_506, 2023: 282_322, 2024: 286_979}


def test_everything_in_shared_is_ingested(ingested: Path) -> None:
    store = Store(ingested)
    have = {(e.dataset, e.vintage) for e in store.entries()}
    for cycle in PUBLISHED_OPENINGS_K:
        assert ("ep_occupations", cycle) in have
    for year in IPEDS_FIRST_MAJOR_TOTALS:
        assert ("ipeds_completions", str(year)) in have and ("ipeds_institutions", str(year)) in have
    for key in [("nem_matrix", "2022-32"), ("nem_matrix", "2021-31"), ("nem_matrix", "2014-24"), ("state_projections", "2022-32"),
                ("state_projections", "2020-30"), ("cip_soc", "CIP2020-SOC2018"), ("oews_wages", "2024"), ("oews_wages", "2023"),
                ("ep_attainment", "2022-32"), ("soc_nem", "2023-09-06"),
                ("qcew_area", "2022"), ("qcew_area", "2023"), ("cbsa_delineation", "2023"), ("oews_area_definitions", "2021"),
                ("workforce_areas", "current"), ("substate_projections", "2020-30"), ("etpl_programs", "2024-03-20")]:
        assert key in have
    m = json.loads((ingested / "manifest.json").read_text())
    e = m["datasets"]["ep_occupations/2024-34"]
    rec = next(iter(e["inputs"].values()))
    assert len(rec["sha256"]) == 64 and rec["bytes"] > 0 and rec["retrieved"] and rec["origin"]
    assert m["gapkit_version"]


@pytest.mark.parametrize("cycle", sorted(PUBLISHED_OPENINGS_K))
def test_national_openings_equal_published_totals(ingested: Path, cycle: str) -> None:
    ep = Store(ingested).scan("ep_occupations", cycle).collect()
    total = ep.filter(pl.col("soc_code") == "00-0000")["openings_k"].item()
    assert total == PUBLISHED_OPENINGS_K[cycle]
    lines = ep.filter(pl.col("occ_type") == "Line item")
    assert lines.height == 832
    # 832 values each rounded to 0.1 thousand: their sum is within 2 thousand of the published total
    assert abs(lines["openings_k"].sum() - total) < 2.0
    assert lines["education"].null_count() == 0
    # separation-rate identity (METHOD.md): r = separations / mean employment reproduces separations,
    # and openings = change / 10 + separations for every detailed occupation, to the rounding of the table
    r = lines["separations_k"] / ((lines["emp_base_k"] + lines["emp_proj_k"]) / 2)
    rebuilt = (lines["emp_proj_k"] - lines["emp_base_k"]) / 10 + r * (lines["emp_base_k"] + lines["emp_proj_k"]) / 2
    assert (rebuilt - lines["openings_k"]).abs().max() < 0.15


@pytest.mark.parametrize("year", sorted(IPEDS_FIRST_MAJOR_TOTALS))
def test_ipeds_six_digit_completions_equal_99_totals(ingested: Path, year: int) -> None:
    c = Store(ingested).scan("ipeds_completions", str(year)).collect()
    assert c.height == IPEDS_ROWS[year]
    six = c.filter(pl.col("cip_level") == 6)["completions"].sum()
    tot = c.filter(pl.col("cip_level") == 0)["completions"].sum()
    assert six == tot == IPEDS_FIRST_MAJOR_TOTALS[year]
    inst = Store(ingested).scan("ipeds_institutions", str(year)).collect()
    assert set(c["unitid"].unique()) <= set(inst["unitid"])
    assert inst["county_fips"].drop_nulls().str.len_chars().unique().to_list() == [5]


def test_every_state_projection_parses_and_totals_checked(ingested: Path) -> None:
    p = Store(ingested).scan("state_projections", "2022-32").collect()
    assert p["stfips"].n_unique() == 55  # US, 50 states, DC, GU, PR, VI
    us = p.filter((pl.col("stfips") == "00") & (pl.col("soc_code") == "00-0000"))["openings"].item()
    assert us == 18_566_500  # the US row is the BLS 2022-32 national projection
    assert p.filter(pl.col("soc_level") == "detailed").height > 30_000


def test_crosswalk_sentinels_removed(ingested: Path) -> None:
    xw = Store(ingested).scan("cip_soc").collect()
    um = Store(ingested).scan("cip_soc_unmatched").collect()
    assert not xw.filter(pl.col("soc_code") == "99-9999").height and not xw.filter(pl.col("cipcode") == "99.9999").height
    assert xw["cipcode"].n_unique() + um.filter(pl.col("kind") == "cip").height == 2142
    assert xw["soc_code"].n_unique() + um.filter(pl.col("kind") == "soc").height == 867
    assert um.group_by("kind").len().sort("kind")["len"].to_list() == [194, 180]


def test_oews_special_values_explicit(ingested: Path) -> None:
    o = Store(ingested).scan("oews_wages", "2024").collect()
    nat = o.filter((pl.col("area_type") == "national") & (pl.col("soc_code") == "00-0000"))
    assert nat["a_median"].item() == 49_500 and nat["tot_emp"].item() == 154_187_380
    top = o.filter(pl.col("a_median_flag") == "top-coded")
    assert top.height > 0 and top["a_median"].null_count() == top.height and (top["a_median_topcode"] == 239_200).all()
    assert o.filter(pl.col("a_median") == 0).height == 0


def test_rerun_is_a_cache_hit(ingested: Path, shared: Path) -> None:
    proc = run_cli("ingest", "--offline", "--from", str(shared), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert "unchanged" in proc.stdout and " parsed" not in proc.stdout.split("Summary:")[-1]


def test_sources_json(ingested: Path) -> None:
    proc = run_cli("sources", "--format", "json", data_dir=ingested)
    rows = json.loads(proc.stdout)
    assert {"source", "vintage", "rows", "sha256", "retrieved"} <= set(rows[0])
    assert {r["source"] for r in rows} == {"bls-ep", "bls-matrix", "projections", "ipeds", "crosswalk", "bls-codes", "oews", "qcew", "geo",
                                           "ca-edd", "etpl"}


def test_ingest_over_loopback_http(tmp_path: Path, mirror_dir: Path) -> None:
    """download -> unpack -> parse for real, from the mirror served on 127.0.0.1."""
    with serve(mirror_dir) as srv:
        url = base_url(srv)
        proc = run_cli("ingest", "bls-ep", "projections", "ipeds", "crosswalk", "oews", "--mirror", url, data_dir=tmp_path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        store = Store(tmp_path)
        have = {(e.dataset, e.vintage) for e in store.entries()}
        assert ("ep_occupations", "2024-34") in have and ("ipeds_completions", "2021") in have and ("oews_wages", "2024") in have
        assert store.scan("state_projections", "2022-32").select(pl.col("stfips").n_unique()).collect().item() == 55
        assert (tmp_path / "raw" / "bls-ep" / "occupation.xlsx").exists()
        assert store.entry("ep_occupations", "2024-34").inputs["occupation"]["etag"]
        # second run: conditional GETs answer 304, nothing is parsed
        n_before = len(srv.requests)
        again = run_cli("ingest", "bls-ep", "ipeds", "crosswalk", "oews", "--mirror", url, data_dir=tmp_path)
        assert again.returncode == 0 and "parsed" not in again.stdout.split("Summary:")[-1]
        assert any("If-None-Match" in h for _, h in srv.requests[n_before:])
        # the matrix has no mirror copy: a clear message pointing at --from
        miss = run_cli("ingest", "bls-matrix", "--mirror", url, data_dir=tmp_path)
        assert miss.returncode != 0 and "Traceback" not in miss.stderr and "--from" in miss.stderr


def test_bad_files_clear_errors_and_data_intact(ingested: Path, tmp_path: Path, shared_data: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(ingested, data)
    before = {p: p.read_bytes() for p in data.rglob("*.parquet")}
    manifest = (data / "manifest.json").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "occupation.xlsx").write_bytes(b"<!DOCTYPE html><html><body>Access Denied</body></html>")
    (bad / "C2024_A.zip").write_bytes((shared_data.parent / "mirror/nces.ed.gov/ipeds/datacenter/data/C2024_A.zip").read_bytes()[:5000])
    (bad / "hd2024.csv").write_bytes(b"")
    csv = (shared_data / "bls_nem/2022-32/ind_csv_data.bls.gov/National Employment Matrix_IND_484000.csv").read_text()
    (bad / "National Employment Matrix_IND_484000.csv").write_text(csv.replace('"Occupation Code"', '"Occ Kode"'))
    proc = run_cli("ingest", "--offline", "--from", str(bad), data_dir=data)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    err = proc.stderr
    assert "occupation.xlsx: the file is an HTML page" in err
    assert "C2024_A.zip: the zip archive is corrupt or truncated" in err
    assert "hd2024.csv" in err and "empty" in err
    assert "occ_code" in err and "National Employment Matrix_IND_484000.csv" in err
    assert {p: p.read_bytes() for p in data.rglob("*.parquet")} == before
    assert (data / "manifest.json").read_bytes() == manifest
