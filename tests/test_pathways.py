"""`gapkit pathways` on real data: the same numbers as `gapkit gap`, OEWS wages and special values,
growth, thresholds and tiers from the rules file, the CLI end to end and its errors, the chart."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest

from gapkit.config.rules import load_rules
from gapkit.errors import UsageError
from gapkit.store import Store
from gapkit.workspace import Workspace
from tests.conftest import assert_clean_error, run_cli

pytest_plugins = ["tests.pathways_support"]  # the pw_dir / pw_ws fixtures


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GAP_COLS = ["openings", "supply", "ratio", "gap"]


def _oews(store: Store, area_type: str, state: str | None = None) -> pl.DataFrame:
    q = store.scan("oews_wages", "2024").filter(pl.col("area_type") == area_type)
    if state:
        q = q.filter(pl.col("state") == state)
    return q.collect()


@pytest.mark.parametrize(("sector", "region", "gap_sector"), [("all", "US", "all-industries"), ("transportation", "US", "transportation"),
                                                              ("all", "OH", "all-industries"), ("transportation", "OH", "transportation")])
def test_gap_numbers_are_the_gap_engines(pw_ws: Workspace, sector: str, region: str, gap_sector: str) -> None:
    r = pw_ws.pathways(sector, region=region)
    g = pw_ws.gap(gap_sector, region=region, by="occupation").table
    assert r.table.height == g.height > 0
    j = r.table.join(g.select("soc_code", *GAP_COLS), on="soc_code", suffix="_gap")
    assert j.height == g.height
    for c in GAP_COLS:  # the same computation (parallel sums may differ in their last bits between runs)
        diff = (pl.col(c).fill_null(-1) - pl.col(f"{c}_gap").fill_null(-1)).abs() / (pl.col(c).abs().fill_null(1) + 1)
        assert j.select((diff < 1e-9).all()).item(), c
    assert r.table["rank"].to_list() == list(range(1, r.table.height + 1))


def test_national_all_sectors_yardsticks(pw_ws: Workspace, pw_dir: Path) -> None:
    r = pw_ws.pathways("all", region="US")
    store = Store(pw_dir)
    nat = _oews(store, "national")
    assert r.area.wage_median == nat.filter(pl.col("soc_code") == "00-0000")["a_median"][0] == 49500.0
    tot = store.scan("ep_occupations", "2024-34").filter(pl.col("soc_code") == "00-0000").collect()
    assert r.area.growth_all_pct == pytest.approx((tot["emp_proj_k"][0] / tot["emp_base_k"][0] - 1) * 100)
    assert r.area.floor == 10000.0
    t = r.occupations
    # wages are the OEWS national medians, occupation by occupation
    j = t.join(nat.select("soc_code", "a_median"), on="soc_code").filter(pl.col("a_median").is_not_null())
    assert j.height > 800 and (j["median_wage"] == j["a_median"]).all()
    # flags follow the printed thresholds
    assert (t.filter(pl.col("median_wage") > 49500)["high_wage"]).all()
    assert not (t.filter(pl.col("median_wage") <= 49500)["high_wage"]).any()
    assert (t.filter(pl.col("openings") >= 10000)["high_demand"]).all()
    assert (t.filter(pl.col("growth_pct") > r.area.growth_all_pct)["high_growth"]).all()
    # the high-value tier is high-wage and (high-demand or high-growth)
    hv = t.filter(pl.col("tier") == "high-value")
    assert hv.height > 100
    assert (hv["high_wage"] & (hv["high_demand"] | hv["high_growth"])).all()
    assert set(t["tier"].unique()) == {"high-value", "in-demand", "high-wage", "other"}
    # tiers first, then openings
    assert r.table["tier"][0] == "high-value"
    assert r.table.filter(pl.col("tier") == "high-value")["openings"].is_sorted(descending=True)
    # education and training are the BLS assignments
    rn = r.table.filter(pl.col("soc_code") == "29-1141").row(0, named=True)
    assert rn["education"] == "Bachelor's degree" and rn["tier"] == "high-value"


def test_state_uses_state_wages_growth_and_scaled_floor(pw_ws: Workspace, pw_dir: Path) -> None:
    r = pw_ws.pathways("transportation", region="OH")
    store = Store(pw_dir)
    oh = _oews(store, "state", "OH")
    assert r.area.wage_median == oh.filter(pl.col("soc_code") == "00-0000")["a_median"][0] == 48060.0
    truck = r.table.filter(pl.col("soc_code") == "53-3032").row(0, named=True)
    assert truck["median_wage"] == oh.filter(pl.col("soc_code") == "53-3032")["a_median"][0]
    proj = store.scan("state_projections", "2022-32").filter(pl.col("stfips").is_in(["39", "00"])).collect()
    p = proj.filter((pl.col("stfips") == "39") & (pl.col("soc_code") == "53-3032")).row(0, named=True)
    assert truck["growth_pct"] == pytest.approx((p["emp_proj"] / p["emp_base"] - 1) * 100)
    tot = proj.filter(pl.col("soc_code") == "00-0000")
    share = tot.filter(pl.col("stfips") == "39")["openings"][0] / tot.filter(pl.col("stfips") == "00")["openings"][0]
    assert r.area.openings_share == pytest.approx(share)
    assert r.area.floor == pytest.approx(10000 * share)
    assert 0.02 < share < 0.05
    assert "Ohio" in r.method_line() and "state_M2024" in r.method_line()
    assert truck["tier"] == "high-value"


def test_top_coded_and_missing_wages_are_labelled_never_zero(pw_ws: Workspace, pw_dir: Path) -> None:
    store = Store(pw_dir)
    nat = _oews(store, "national")
    topcoded = set(nat.filter(pl.col("a_median_flag") == "top-coded")["soc_code"].to_list())
    na = set(nat.filter(pl.col("a_median_flag") == "not available")["soc_code"].to_list())
    assert topcoded and na
    t = pw_ws.pathways("all", region="US").occupations
    tc = t.filter(pl.col("soc_code").is_in(list(topcoded)))
    assert tc.height >= 15
    assert tc["median_wage"].null_count() == tc.height
    assert (tc["wage_note"] == "≥ $239,200 (top-coded)").all()
    assert tc["high_wage"].all() and (tc["wage_value"] == 239200.0).all()
    assert (tc["tier"].is_in(["high-value", "high-wage"])).all()
    miss = t.filter(pl.col("soc_code").is_in(list(na)))
    assert miss.height and miss["median_wage"].null_count() == miss.height
    assert miss["wage_note"].str.starts_with("annual not available").all() or miss["wage_note"].str.contains("not available").all()
    assert not miss["high_wage"].fill_null(False).any()
    assert (t["median_wage"].drop_nulls() > 0).all()
    # a state: occupations the state file does not publish are labelled too
    oh = pw_ws.pathways("all", region="OH").occupations
    gone = oh.filter(pl.col("wage_status") == "not published")
    assert gone.height > 10 and (gone["wage_note"] == "not in Ohio OEWS").all()
    # as printed: the CSV shows an empty wage and the label, never 0
    proc = run_cli("pathways", "--sector", "all", "--format", "csv", data_dir=pw_dir)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO("".join(line for line in proc.stdout.splitlines(True) if not line.startswith("#")))))
    anesth = next(r for r in rows if r["soc_code"] == "29-1211")
    assert anesth["median_wage"] == "" and anesth["wage_note"] == "≥ $239,200 (top-coded)" and "high-wage" in anesth["priority_flags"]
    assert all(r["median_wage"] not in {"0", "0.0"} for r in rows)


def test_rules_file_changes_thresholds_and_tiers(pw_ws: Workspace, tmp_path: Path) -> None:
    base = pw_ws.pathways("all", region="OH")
    strict = write(tmp_path / "strict.toml", "[wage]\nfactor = 1.5\n\n[demand]\nopenings_floor = 40000\n")
    r = pw_ws.pathways("all", region="OH", rules=strict)
    assert r.area.wage_threshold(r.rules) == pytest.approx(1.5 * 48060)
    assert r.area.floor == pytest.approx(4 * base.area.floor)
    n0 = base.occupations.filter(pl.col("tier") == "high-value").height
    n1 = r.occupations.filter(pl.col("tier") == "high-value").height
    assert n1 < n0
    hv = r.occupations.filter(pl.col("tier") == "high-value")
    assert ((hv["median_wage"] > 1.5 * 48060) | (hv["wage_status"] == "top-coded")).all()
    assert "$72,090" in r.method_line() and str(strict) in r.method_line()
    # a [[tiers]] list replaces the shipped tiers
    tiers = write(tmp_path / "tiers.toml", '[[tiers]]\nname = "priority"\nall = ["high_wage", "high_skill", "high_growth"]\n\n'
                                           '[[tiers]]\nname = "rest"\n')
    r2 = pw_ws.pathways("all", region="OH", rules=tiers)
    assert set(r2.occupations["tier"].unique()) == {"priority", "rest"}
    pri = r2.occupations.filter(pl.col("tier") == "priority")
    assert pri.height and (pri["high_wage"] & pri["high_skill"] & pri["high_growth"]).all()
    assert "priority = high-wage and high-skill and high-growth" in r2.method_line()
    # the gap numbers do not move with the rules
    assert r2.occupations.sort("soc_code")["openings"].equals(base.occupations.sort("soc_code")["openings"])


@pytest.mark.parametrize(("text", "needles"), [
    ("[wage]\nfactr = 1.2\n", ["wage.factr", "unknown key"]),
    ("[wage]\nfactor = -1\n", ["wage.factor", "greater than 0"]),
    ("[wage\nfactor = 1\n", ["not valid TOML"]),
    ('[[tiers]]\nname = "a"\nall = ["high_pay"]\n\n[[tiers]]\nname = "b"\n', ["tiers[0].all", "'high_pay' is not a flag"]),
    ('[[tiers]]\nname = "a"\nall = ["high_wage"]\n', ["tiers[0]", "catch-all"]),
    ("[alignment]\noversupplied_ratio = 2.0\n", ["oversupplied_ratio", "must be below"]),
    ('[skill]\neducation = ["PhD"]\n', ["skill.education", "'PhD' is not a BLS"]),
])
def test_bad_rules_are_clear_errors(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = write(tmp_path / "rules.toml", text)
    with pytest.raises(UsageError) as exc:
        load_rules(path)
    msg = exc.value.message
    assert str(path) in msg and "\n" not in msg
    for n in needles:
        assert n in msg, msg


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_rules(tmp_path / "nope.toml")


def test_cli_end_to_end(pw_dir: Path, tmp_path: Path) -> None:
    proc = run_cli("pathways", "--sector", "all", "--region", "OH", "--top", "10", data_dir=pw_dir)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "pathway priorities in Ohio" in out and "Thresholds (gapkit/config/shipped/pathways.toml)" in out
    assert "high-wage = median wage above $48,060" in out and "OEWS May 2024" in out
    # JSON: rows and the thresholds in the metadata; the same numbers `gapkit gap` prints
    pj = json.loads(run_cli("pathways", "--sector", "transportation", "--region", "OH", "--format", "json", data_dir=pw_dir).stdout)
    gj = json.loads(run_cli("gap", "--sector", "transportation", "--region", "OH", "--by", "occupation", "--format", "json",
                            data_dir=pw_dir).stdout)
    assert pj["metadata"]["pathways"]["area_median_wage"] == 48060.0
    g = {r["soc_code"]: r for r in gj["rows"]}
    assert len(pj["rows"]) == len(g)
    for r in pj["rows"]:
        for c in GAP_COLS:
            assert r[c] == g[r["soc_code"]][c], (r["soc_code"], c)
    # a user rules file through the CLI, and parquet/markdown outputs
    rules = write(tmp_path / "r.toml", "[wage]\nfactor = 2\n")
    proc = run_cli("pathways", "--region", "OH", "--rules", str(rules), "--format", "markdown", "--top", "5", data_dir=pw_dir)
    assert proc.returncode == 0 and "$96,120" in proc.stdout, proc.stderr
    pq = tmp_path / "p.parquet"
    assert run_cli("pathways", "--region", "OH", "--format", "parquet", "--out", str(pq), data_dir=pw_dir).returncode == 0
    assert pl.read_parquet(pq).height > 700
    # the pathway chart
    png = tmp_path / "oh.png"
    proc = run_cli("pathways", "--sector", "transportation", "--region", "OH", "--chart", str(png), "--top", "3", data_dir=pw_dir)
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "wrote" in proc.stderr


@pytest.mark.parametrize(("args", "needles"), [
    (["--region", "XX"], ["--region"]),
    (["--region", "all"], ["--region all"]),
    (["--by", "state"], ["--by 'state'"]),
    (["--sort", "size"], ["--sort 'size'"]),
    (["--sector", "nosuch"], ["Unknown sector 'nosuch'"]),
    (["--cluster", "Underwater basket weaving"], ["is not a Career Cluster"]),
    (["--cluster", "transportation"], ["matches several"]),
    (["--rules", "/nonexistent/rules.toml"], ["--rules /nonexistent/rules.toml: no such file"]),
    (["--top", "0"], ["--top 0"]),
    (["--chart", "x.gif"], [".png"]),
    (["--awards", "phd"], ["--awards 'phd'"]),
])
def test_cli_bad_input(pw_dir: Path, args: list[str], needles: list[str]) -> None:
    assert_clean_error(run_cli("pathways", *args, data_dir=pw_dir), *needles)


def test_no_clusters_loaded_is_a_clear_error(ingested: Path) -> None:
    assert_clean_error(run_cli("pathways", "--by", "cluster", data_dir=ingested), "gapkit clusters load")


def test_chart_library(pw_ws: Workspace) -> None:
    a = pw_ws.chart("pathways", "all", region="OH")
    b = pw_ws.chart("pathways", "all", region="OH")
    assert a.to_bytes("svg") == b.to_bytes("svg")  # deterministic
    assert a.data.frame.height == 40 and "Ohio" in a.title
    assert a.data.frame["wage_value"].null_count() == 0


@pytest.mark.parametrize(("kind", "args", "needle"), [
    ("pathways", ["--sector", "transportation", "--region", "OH", "--limit", "12"], "Ohio"),
    ("programs", ["--region", "OH", "--cip", "49.0205"], "Truck and Bus Driver"),
])
@pytest.mark.parametrize("ext", [".png", ".svg", ".pdf"])
def test_gapkit_chart_draws_the_pathway_kinds(pw_dir: Path, tmp_path: Path, kind: str, args: list[str], needle: str, ext: str) -> None:
    out = tmp_path / f"{kind}{ext}"
    proc = run_cli("chart", kind, *args, "--out", str(out), data_dir=pw_dir)
    assert proc.returncode == 0, proc.stderr
    assert needle in proc.stderr  # the finding title is echoed
    head = out.read_bytes()[:8]
    if ext == ".png":
        assert head == b"\x89PNG\r\n\x1a\n"
    elif ext == ".pdf":
        assert head.startswith(b"%PDF")
    else:
        svg = out.read_text()
        assert needle in svg and "Sources:" in svg and "pathways.toml" in svg


@pytest.mark.parametrize(("args", "needles"), [
    (["pathways", "--cip", "51", "--out", "x.png"], ["--cip and --soc choose programs"]),
    (["programs", "--limit", "0", "--out", "x.png"], ["--limit 0"]),
    (["programs", "--region", "ZZ", "--out", "x.png"], ["--region"]),
    (["bubbles", "--out", "x.png"], ["pathways", "programs"]),
])
def test_gapkit_chart_pathway_kinds_bad_input(pw_dir: Path, tmp_path: Path, args: list[str], needles: list[str]) -> None:
    args = [a if a != "x.png" else str(tmp_path / a) for a in args]
    assert_clean_error(run_cli("chart", *args, data_dir=pw_dir), *needles)


def test_chart_library_routes_the_pathway_kinds(pw_ws: Workspace) -> None:
    c = pw_ws.chart("programs", "all", region="OH", cip="49.0205")
    assert c.data.kind == "programs" and c.title.startswith("Ohio: Truck and Bus Driver")
    assert pw_ws.chart("pathways", "transportation", region="OH", limit=10).data.frame.height == 10
    # the library and the CLI default to the same sector for each kind (pathways: every occupation)
    assert pw_ws.chart("pathways", region="OH").data.method["sector"] == "all-industries"
    with pytest.raises(UsageError, match="--limit"):
        pw_ws.chart("pathways", region="OH", limit=0)
