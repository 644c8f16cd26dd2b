"""The gap engine on real data: METHOD.md's self-checks and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from gapkit.analysis.method import supply_by_occupation
from gapkit.analysis.query import ALLOC_MODES
from gapkit.config.sectors import list_sectors
from gapkit.store import Store
from gapkit.workspace import Workspace
from tests.conftest import assert_clean_error, run_cli

PUBLISHED_K = {"2022-32": 18566.5, "2023-33": 19174.8, "2024-34": 18863.3}


@pytest.fixture(scope="module")
def ws(ingested: Path) -> Workspace:
    return Workspace(ingested)


@pytest.mark.parametrize("cycle", sorted(PUBLISHED_K))
def test_all_industries_openings_equal_published_total(ws: Workspace, cycle: str) -> None:
    r = ws.gap("all-industries", by="sector", vintage=cycle)
    # the sum of 832 detailed occupations, each rounded to 100 people: within 0.02% of the published total
    assert r.table["openings"].sum() == pytest.approx(PUBLISHED_K[cycle] * 1000, rel=2e-4)


def test_line_item_industries_vs_national_openings(ws: Workspace) -> None:
    """Σ over the matrix's line-item industries of the METHOD formula vs BLS national openings (same cycle).

    The 2022-32 per-industry exports hold wage-and-salary jobs in published line items only: the
    self-employed (TE1100) and unpublished detail (e.g. limited-service restaurants inside 722500) are
    in the national total but in no line item, so industry openings must stay at or below the national
    figure, occupation by occupation, and cover the same share of openings as of employment.
    """
    md = ws.tables.matrix_demand("2022-32", "2022-32")
    ep = ws.tables.ep("2022-32")
    by_occ = md.group_by("soc_code").agg(pl.col("openings_m").sum(), pl.col("emp_base_m").sum()).join(ep, on="soc_code")
    over = by_occ.filter(pl.col("openings_m") > pl.col("openings_nat") * 1.02 + 200)
    assert over.height <= 5, over.select("soc_code", "openings_m", "openings_nat")
    open_cov = by_occ["openings_m"].sum() / ep["openings_nat"].sum()
    emp_cov = by_occ["emp_base_m"].sum() / ep["emp_base"].sum()
    assert 0.75 < open_cov < 0.95
    assert open_cov == pytest.approx(emp_cov, abs=0.03)


def test_sector_shares_never_exceed_one(ws: Workspace) -> None:
    for s in list_sectors():
        r = ws.gap(s.name, by="occupation")
        ep = ws.tables.ep("2024-34")
        j = r.table.join(ep.select("soc_code", "openings_nat"), on="soc_code")
        assert (j["openings"] <= j["openings_nat"] * 1.0001 + 1).all(), s.name


@pytest.mark.parametrize("alloc", [a for a in ALLOC_MODES if a != "none"])
@pytest.mark.parametrize("awards", ["all", "subbacc", "entry"])
def test_allocation_conserves_completions(ws: Workspace, alloc: str, awards: str) -> None:
    r = ws.resolve("gap", "all-industries", alloc=alloc, awards=awards, completions_years="2024")
    supply, un = supply_by_occupation(r, ws.tables, ws.tables.ep(r.ep_cycle))
    assert supply["supply_ipeds"].sum() == pytest.approx(un["allocated"], rel=1e-9)
    assert un["allocated"] + un["unallocated"] == pytest.approx(un["input"], rel=1e-9)
    assert un["unallocated"] >= 0
    assert un["unallocated"] == pytest.approx(un["unlinked"] + un["not_entry_route"], rel=1e-9)
    if awards == "all":
        assert un["input"] == pytest.approx(5_459_862, rel=1e-9)  # every 2024 first-major completion
        # harmonized codes: only 4% of completions are in programs linked to no projections occupation
        assert un["unlinked"] / un["input"] < 0.05
        if alloc != "education":
            assert un["not_entry_route"] == 0


def test_alloc_none_is_an_upper_bound(ws: Workspace) -> None:
    a = ws.gap("transportation", by="sector", alloc="openings").table["supply"].sum()
    n = ws.gap("transportation", by="sector", alloc="none")
    assert n.table["supply"].sum() >= a
    assert "double counts" in n.method_line()


@pytest.mark.parametrize("demand", ["entrants", "openings", "growth"])
def test_groups_add_up_to_sector_and_ratio_consistent(ws: Workspace, demand: str) -> None:
    tables = {by: ws.gap("transportation", by=by, demand=demand).table for by in ("sector", "subsector", "group", "occupation")}
    for col in ("openings", "entrants", "supply"):
        total = tables["sector"][col].sum()
        for by, t in tables.items():
            assert t[col].sum() == pytest.approx(total, rel=1e-9), (by, col)
    for t in tables.values():
        ok = t.filter(pl.col("ratio").is_not_null())
        assert ((ok["ratio"] - ok[demand] / ok["supply"]).abs() <= 1e-9 * ok["ratio"].abs()).all()  # the ratio follows --demand
        assert (ok["supply"] >= 5).all()  # no ratio below the supply floor
        assert ((t["gap"] - (t[demand] - t["supply"])).abs() < 1e-6).all()
        assert t.filter(pl.col("ratio").is_null())["ratio_note"].null_count() == 0  # a missing ratio says why


def test_state_rows_sum_and_report(ws: Workspace) -> None:
    r = ws.gap("all-industries", by="state")
    assert r.table.height == 51
    proj = Store(ws.store.root).scan("state_projections", "2022-32").collect()
    det = proj.filter((pl.col("soc_level") == "detailed") & (pl.col("stfips") == "39"))
    oh = r.table.filter(pl.col("region") == "OH")["openings"].item()
    in_ep = det.join(ws.tables.ep("2024-34").select("soc_code"), on="soc_code")["openings"].sum()
    assert oh == pytest.approx(in_ep, rel=1e-9)
    assert any("NY" in n and "not adjusted" in n for n in r.notes)  # New York's published total looks odd


def test_extra_supply_and_retention(ws: Workspace, tmp_path: Path) -> None:
    f = tmp_path / "cdl.csv"
    f.write_text("soc,region,annual_completers,source\n53-3032,US,50000,CDL schools (state survey)\n53-3032,OH,1200,Ohio CDL schools\n")
    base = ws.gap("transportation", by="occupation").table
    more = ws.gap("transportation", by="occupation", extra_supply=str(f)).table
    half = ws.gap("transportation", by="occupation", retention=0.5).table
    get = lambda t: t.filter(pl.col("soc_code") == "53-3032")  # noqa: E731
    share = get(base)["openings"].item() / ws.tables.ep("2024-34").filter(pl.col("soc_code") == "53-3032")["openings_nat"].item()
    assert get(more)["supply"].item() == pytest.approx(get(base)["supply"].item() + 50000 * share, rel=1e-6)
    assert get(half)["supply"].item() == pytest.approx(get(base)["supply"].item() / 2, rel=1e-9)


# -- the real CLI ----------------------------------------------------------------------------
@pytest.mark.parametrize("by", ["subsector", "group", "occupation", "state", "sector"])
def test_cli_transportation(ingested: Path, by: str) -> None:
    proc = run_cli("gap", "--sector", "transportation", "--by", by, "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rows"] and {"openings", "supply", "ratio", "gap", "flags"} <= set(out["rows"][0])
    md = out["metadata"]
    assert md["vintages"]["ep_occupations"]["vintage"] == "2024-34" and md["alloc"] == "education" and md["demand"] == "entrants"
    assert "same rate in every industry" in md["method_line"]
    if by == "state":
        assert len(out["rows"]) == 51


@pytest.mark.parametrize("sector", [s.name for s in list_sectors()] + ["all"])
def test_cli_every_sector(ingested: Path, sector: str) -> None:
    proc = run_cli("gap", "--sector", sector, "--format", "csv", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("sector,region")
    assert not any(ln.startswith("#") for ln in proc.stdout.splitlines())  # plain data on standard output
    assert "# Sources: BLS EP 2024-34" in proc.stderr  # the method beside it, on standard error


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown", "parquet"])
def test_cli_every_format(ingested: Path, tmp_path: Path, fmt: str) -> None:
    from gapkit.render.tables import extension_of

    out = tmp_path / f"gap{extension_of(fmt)}"
    proc = run_cli("gap", "--sector", "transportation", "--format", fmt, "--out", str(out), data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 200
    if fmt == "parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(out)
        assert b"gapkit.method" in t.schema.metadata and t.num_rows == 5
    elif fmt == "csv":  # plain data; the method in the sidecar
        assert "Units: people per year" in json.loads(out.with_name("gap.csv.meta.json").read_text())["method_line"]
    elif fmt != "json":
        assert "Units: people per year" in " ".join(out.read_text().split())


def test_cli_sensitivity_and_sector_all_by_state(ingested: Path) -> None:
    proc = run_cli("gap", "--sector", "transportation", "--sensitivity", "--format", "csv", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if not ln.startswith("#")]
    assert len(lines) == 1 + 2 * 5 * 5  # header + demand measures × alloc modes × award presets
    proc = run_cli("gap", "--sector", "all", "--by", "state", "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["rows"]) == 51 * len(list_sectors())


def test_cli_user_sector_file_and_extra_supply(ingested: Path, tmp_path: Path) -> None:
    f = tmp_path / "ports.toml"
    f.write_text('name = "ports"\ntitle = "Ports and freight"\n[[subsectors]]\nkey = "water"\ntitle = "Water"\n'
                 'nem_industries = ["483100", "488300"]\n[[subsectors]]\nkey = "warehousing"\ntitle = "Warehousing"\n'
                 'nem_industries = ["493000"]\n[[groups]]\nkey = "movers"\ntitle = "Material movers"\nsoc = ["53-7"]\n'
                 '[[groups]]\nkey = "other"\ntitle = "Other"\nsoc = ["*"]\n')
    x = tmp_path / "extra.csv"
    x.write_text("soc,region,annual_completers,source\n53-7062,US,1000,Port authority training\n")
    proc = run_cli("gap", "--sector-file", str(f), "--by", "subsector", "--extra-supply", str(x), "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert {r["subsector"] for r in rows} == {"water", "warehousing"}
    assert sum(r["supply_extra"] for r in rows) > 0


def test_cli_occupation_drilldown(ingested: Path) -> None:
    proc = run_cli("occupation", "53-3032", "--region", "TX", "--format", "json", data_dir=ingested)
    assert proc.returncode == 0, proc.stderr
    p = json.loads(proc.stdout)
    assert p["national"]["title"] == "Heavy and tractor-trailer truck drivers"
    assert p["national"]["openings"] == pytest.approx(237_600)
    assert p["states"][0]["state"] == "TX" and p["programs"] and p["top_institutions"]
    assert any(s["sector"] == "transportation" for s in p["sector_shares"])
    # award levels carry their IPEDS meaning (AWLEVEL 20 = under 12 weeks, 21 = 12 weeks to under a year)
    cdl = {r["awlevel"]: r["award"] for r in p["programs"] if r["cipcode"] == "49.0205"}
    assert cdl[20] == "Certificate, under 12 weeks" and cdl[21] == "Certificate, 12 weeks to under 1 year"
    table = run_cli("occupation", "53-3032", "--region", "TX", data_dir=ingested).stdout
    assert "Certificate, under 12 weeks" in table


@pytest.mark.parametrize(("args", "needle"), [
    (["gap", "--sector", "spaceflight"], "Unknown sector 'spaceflight'"),
    (["gap", "--region", "XX"], "--region"),
    (["gap", "--by", "zipcode"], "--by 'zipcode'"),
    (["gap", "--by", "county"], "--region OH --by county"),
    (["gap", "--alloc", "magic"], "--alloc 'magic'"),
    (["gap", "--awards", "phd"], "--awards 'phd'"),
    (["gap", "--by", "state", "--region", "OH"], "cannot be combined"),
    (["gap", "--completions-years", "1999"], "not ingested"),
    (["gap", "--vintage", "2030-40"], "--vintage 2030-40"),
    (["gap", "--retention", "0"], "--retention"),
    (["gap", "--extra-supply", "/nonexistent.csv"], "no such file"),
    (["gap", "--format", "parquet"], "--out"),
    (["occupation", "99-9999"], "not in the BLS projections"),
    (["occupation", "banana"], "not a SOC code"),
    (["occupation", "53-0000"], "summary group"),
])
def test_cli_bad_input(ingested: Path, args: list[str], needle: str) -> None:
    assert_clean_error(run_cli(*args, data_dir=ingested), needle)


def test_cli_malformed_sector_and_supply_files(ingested: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ntitle = "X"\n[[subsectors]]\nkey = "a"\ntitle = "A"\nnem_industries = ["48A!"]\n[[groups]]\nkey = "g"\ntitle = "G"\nsoc = ["53-"]\n')
    proc = run_cli("gap", "--sector-file", str(bad), data_dir=ingested)
    assert_clean_error(proc, "bad.toml", "subsectors[0].nem_industries")
    syntax = tmp_path / "syntax.toml"
    syntax.write_text('name = "x\n')
    assert_clean_error(run_cli("gap", "--sector-file", str(syntax), data_dir=ingested), "syntax.toml", "not valid TOML")
    sup = tmp_path / "sup.csv"
    sup.write_text("soc,region,annual_completers,source\n53-3032,US,lots,x\n")
    assert_clean_error(run_cli("gap", "--extra-supply", str(sup), data_dir=ingested), "sup.csv, row 2", "annual_completers")
    assert_clean_error(run_cli("gap", "--out", str(tmp_path), data_dir=ingested), "is a folder")


def test_independent_pandas_implementation_agrees(ingested: Path) -> None:
    """benchmarks/pandas_gap.py computes transportation by subsector in plain pandas from the same Parquet,
    with the default measures (entrant openings, education-aware supply): the same rows to 0.01 person."""
    import runpy

    mod = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "pandas_gap.py"))
    pdf = mod["transportation_by_subsector"](ingested)
    ours = Workspace(ingested).gap("transportation", by="subsector").table
    got = {r["subsector"]: r for r in ours.iter_rows(named=True)}
    theirs = pdf.to_dict(orient="records")
    assert sorted(got) == sorted(r["subsector"] for r in theirs)
    assert [r["subsector"] for r in ours.iter_rows(named=True)] == [r["subsector"] for r in theirs]  # by entrants, descending
    for r in theirs:
        g = got[r["subsector"]]
        for col in ("openings", "entrants", "supply", "gap"):
            assert g[col] == pytest.approx(r[col], abs=0.01), (r["subsector"], col)
        if r["ratio"] != r["ratio"]:  # NaN: below the supply floor, no ratio
            assert g["ratio"] is None, r["subsector"]
        else:
            assert g["ratio"] == pytest.approx(r["ratio"], rel=1e-9)


def test_result_cache_is_exact_and_invalidated(ingested: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(ingested, data, ignore=shutil.ignore_patterns("cache"))
    fresh = run_cli("gap", "--sector", "energy", "--by", "group", "--format", "csv", data_dir=data, env={"GAPKIT_NO_CACHE": "1"})
    first = run_cli("gap", "--sector", "energy", "--by", "group", "--format", "csv", data_dir=data)
    cached = run_cli("gap", "--sector", "energy", "--by", "group", "--format", "csv", data_dir=data)
    assert first.stdout == cached.stdout
    import csv

    def num(out: str) -> list[float]:
        rows = list(csv.DictReader(line for line in out.splitlines() if not line.startswith("#")))
        return [float(r[k]) for r in rows for k in ("openings", "supply", "gap")]

    assert num(fresh.stdout) == pytest.approx(num(first.stdout), rel=1e-9, abs=0.011)
    assert list((data / "cache" / "results").glob("*.json"))
    # a different input (a user sector file edited) is a different key
    f = tmp_path / "s.toml"
    f.write_text('name = "s"\ntitle = "S"\n[[subsectors]]\nkey = "a"\ntitle = "A"\nnem_industries = ["484000"]\n[[groups]]\nkey = "o"\ntitle = "O"\nsoc = ["*"]\n')
    a = run_cli("gap", "--sector-file", str(f), "--format", "csv", data_dir=data)
    f.write_text(f.read_text().replace('"484000"', '"481100"'))
    b = run_cli("gap", "--sector-file", str(f), "--format", "csv", data_dir=data)
    assert a.returncode == b.returncode == 0 and a.stdout != b.stdout


def test_cli_sectors_list_and_show(ingested: Path) -> None:
    proc = run_cli("sectors", data_dir=ingested)
    assert proc.returncode == 0 and "transportation" in proc.stdout and "all-industries" in proc.stdout
    show = run_cli("sectors", "show", "transportation", data_dir=ingested)
    assert show.returncode == 0, show.stderr
    assert "484000" in show.stdout and "Sector employment" in show.stdout
    assert_clean_error(run_cli("sectors", "show", "spaceflight", data_dir=ingested), "Unknown sector")


def test_refresh_module(ingested: Path, shared: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "gapkit.cli.refresh", "--offline", "--from", str(shared / "data" / "bls_ep"),
                           "--data-dir", str(ingested)], capture_output=True, text=True)
    assert proc.returncode == 0 and "unchanged" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "gapkit.cli.refresh", "--offline", "--data-dir", str(ingested)], capture_output=True, text=True)
    assert bad.returncode != 0 and "refresh failed" in bad.stderr and "Traceback" not in bad.stderr
