"""`gapkit programs` on real data: completions by award level and year, institutions, linked occupations,
alignment labels, and the consistency check: a program's alignment comes from the supply and openings
`gapkit gap --by occupation` prints for the occupations it feeds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest

from gapkit.analysis.programs import BALANCED, NO_LINK, OVER, UNDER, WEAK
from gapkit.analysis.query import parse_cip_filter
from gapkit.config.rules import load_rules
from gapkit.store import Store
from gapkit.workspace import Workspace
from tests.conftest import assert_clean_error, run_cli

pytest_plugins = ["tests.pathways_support"]  # the pw_dir / pw_ws fixtures


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def oh(pw_ws: Workspace):  # type: ignore[no-untyped-def]
    return pw_ws.programs(region="OH")


def _oh_completions(store: Store, year: int) -> pl.DataFrame:
    inst = store.scan("ipeds_institutions", str(year)).select("unitid", "state")
    return (store.scan("ipeds_completions", str(year)).filter(pl.col("cip_level") == 6).join(inst, on="unitid")
            .filter(pl.col("state") == "OH").collect())


def test_programs_in_a_state_with_alignment_labels(oh, pw_dir: Path) -> None:  # type: ignore[no-untyped-def]
    t = oh.programs
    assert t.height > 800
    labels = set(t["alignment"].unique())
    assert {UNDER, BALANCED, OVER, WEAK, NO_LINK} <= labels
    assert t["cipcode"].str.contains(r"^\d{2}\.\d{4}$").all()
    # completions = the state's IPEDS first-major 6-digit completions of the newest year, program by program
    store = Store(pw_dir)
    c24 = _oh_completions(store, 2024).group_by("cipcode").agg(pl.col("completions").sum())
    j = t.join(c24, on="cipcode", suffix="_ipeds")
    assert j.height > 800 and (j["completions"] == j["completions_ipeds"].cast(pl.Float64)).all()
    assert t["completions"].sum() == pytest.approx(float(c24["completions"].sum()))
    # every ingested year has its column; earlier years match IPEDS too
    c21 = _oh_completions(store, 2021).group_by("cipcode").agg(pl.col("completions").sum())
    j21 = t.join(c21, on="cipcode")
    assert (j21["completions_2021"] == j21["completions_right"].cast(pl.Float64)).all()
    # nursing: known institutions and levels
    rn = t.filter(pl.col("cipcode") == "51.3801").row(0, named=True)
    assert rn["institutions"] > 50 and "bachelor's" in rn["award_levels"] and "associate's" in rn["award_levels"]
    assert "Registered nurses (29-1141)" in rn["top_occupations"]
    # truck driving feeds an undersupplied occupation in Ohio
    cdl = t.filter(pl.col("cipcode") == "49.0205").row(0, named=True)
    assert cdl["alignment"] == UNDER and cdl["ratio"] > 5
    # weakly aligned programs: the reason names the low wage or the decline
    weak = t.filter(pl.col("alignment") == WEAK)
    assert weak["reason"].str.contains("linked median wage|linked employment").all()
    assert ((weak["median_wage"] < oh.area.wage_median) | (weak["growth_pct"] < 0)).all()


def test_views_add_up(oh) -> None:  # type: ignore[no-untyped-def]
    aw = oh.awards.filter(pl.col("year") == 2024).group_by("cipcode").agg(pl.col("completions").sum())
    j = oh.programs.join(aw, on="cipcode", suffix="_aw")
    assert (j["completions"] - j["completions_aw"]).abs().max() < 1e-6
    inst = oh.institutions.group_by("cipcode").agg(pl.len().alias("n"), pl.col("completions").sum())
    j = oh.programs.join(inst, on="cipcode", suffix="_inst")
    assert (j["institutions"] == j["n"]).all()
    assert (j["completions"] - j["completions_inst"]).abs().max() < 1e-6
    assert set(oh.institutions["state"].drop_nulls().unique()) == {"OH"}


def test_views_are_of_the_listed_programs(pw_ws: Workspace) -> None:
    """For a sector, the awards, institutions and links views hold the programs the programs view lists — not every
    program in the region (they once listed agriculture and nursing in a transportation question)."""
    r = pw_ws.programs("transportation", region="OH")
    listed = set(r.programs["cipcode"])
    assert 10 < len(listed) < 100
    assert set(r.awards["cipcode"]) == listed
    assert set(r.institutions["cipcode"]) == listed
    assert set(r.links["cipcode"]) <= listed
    assert any("are not listed" in n for n in r.notes)  # the programs left out are counted in a note
    aw = r.awards.group_by("cipcode", "year").agg(pl.col("completions").sum()).filter(pl.col("year") == 2024)
    j = r.programs.join(aw, on="cipcode")
    assert j.height == len(listed) and (j["completions"] - j["completions_right"]).abs().max() < 1e-6
    inst = r.institutions.group_by("cipcode").agg(pl.len().alias("n"))
    assert r.programs.join(inst, on="cipcode").select((pl.col("institutions") == pl.col("n")).all()).item()


def test_alignment_consistent_with_gap_cli(pw_dir: Path, pw_ws: Workspace) -> None:
    """The consistency check: a program's openings and supply are what `gapkit gap --by occupation` prints for the
    occupations its completers are allocated to, weighted by that allocation."""
    gj = json.loads(run_cli("gap", "--sector", "all-industries", "--region", "OH", "--by", "occupation", "--format", "json",
                            data_dir=pw_dir).stdout)
    pj = json.loads(run_cli("programs", "--region", "OH", "--format", "json", data_dir=pw_dir).stdout)
    gap = pl.DataFrame(gj["rows"]).select("soc_code", "entrants", "supply")
    links = pw_ws.programs(region="OH").links
    shares = links.group_by("cipcode").agg(pl.col("allocated_share").sum())
    assert ((shares["allocated_share"] - 1).abs() < 1e-9).all()  # every allocated completer goes somewhere
    sums = (links.join(gap, on="soc_code", how="inner").group_by("cipcode")
            .agg(pl.len().alias("n"), (pl.col("allocated_share") * pl.col("entrants")).sum().alias("o"),
                 (pl.col("allocated_share") * pl.col("supply")).sum().alias("s")))
    prog = pl.DataFrame(pj["rows"], infer_schema_length=None)
    j = prog.join(sums, on="cipcode", how="left")
    linked = j.filter(pl.col("occupations") > 0)
    assert linked.height > 600
    assert (linked["occupations"] == linked["n"]).all()
    # printed to 0.01 per occupation: the sums agree within the rounding of their terms
    assert ((linked["openings"] - linked["o"]).abs() <= 0.006 * linked["n"] + 1e-6).all()
    assert ((linked["supply"] - linked["s"]).abs() <= 0.006 * linked["n"] + 1e-6).all()
    rules = load_rules()
    for r in linked.iter_rows(named=True):
        if r["alignment"] == WEAK or not r["o"]:
            continue
        ratio = r["o"] / r["s"] if r["s"] > 0 else None
        want = UNDER if ratio is None or ratio >= rules.undersupplied_ratio else OVER if ratio <= rules.oversupplied_ratio else BALANCED
        if ratio is not None and abs(ratio - rules.undersupplied_ratio) < 1e-3 or ratio is not None and abs(ratio - rules.oversupplied_ratio) < 1e-3:
            continue  # printed rounding decides a ratio on a threshold
        assert r["alignment"] == want, r["cipcode"]
    assert j.filter(pl.col("occupations") == 0)["alignment"].is_in([NO_LINK]).all()


def test_filters_and_rules(pw_ws: Workspace, tmp_path: Path) -> None:
    r = pw_ws.programs(region="OH", cip="51.38")
    assert r.programs.height >= 5 and r.programs["cipcode"].str.starts_with("51.38").all()
    r = pw_ws.programs(region="OH", cip="51.3801")
    assert r.programs["cipcode"].to_list() == ["51.3801"]
    r = pw_ws.programs(region="OH", soc="53-3032")
    assert "49.0205" in r.programs["cipcode"].to_list()
    assert r.links.filter(pl.col("soc_code") == "53-3032").height == r.programs.height
    # a rules file moves the alignment thresholds (the numbers stay)
    base = pw_ws.programs(region="OH")
    loose = write(tmp_path / "align.toml", "[alignment]\noversupplied_ratio = 0.1\nundersupplied_ratio = 5\n")
    r = pw_ws.programs(region="OH", rules=loose)
    n = {k: r.programs.filter(pl.col("alignment") == k).height for k in (OVER, UNDER, BALANCED)}
    n0 = {k: base.programs.filter(pl.col("alignment") == k).height for k in (OVER, UNDER, BALANCED)}
    assert n[OVER] < n0[OVER] and n[UNDER] < n0[UNDER] and n[BALANCED] > n0[BALANCED]
    assert r.programs.sort("cipcode")["openings"].fill_null(-1).to_list() == pytest.approx(
        base.programs.sort("cipcode")["openings"].fill_null(-1).to_list(), rel=1e-9)
    # nothing matches: an empty table with a note, not an error
    r = pw_ws.programs(region="WY", cip="51.2401")  # no veterinary school in Wyoming
    assert r.programs.height == 0 and "No program" in r.notes[0]


def test_national_and_transportation(pw_ws: Workspace) -> None:
    r = pw_ws.programs(region="US", cip="49", sector="transportation")
    t = r.programs
    assert t.height >= 8 and t["cipcode"].str.starts_with("49.").all()
    assert t.filter(pl.col("cipcode") == "49.0205")["alignment"][0] == UNDER
    assert r.method["sector"] == "transportation"
    # only programs that send a set share of their completers to the sector
    assert (t["sector_share"] >= 0.05).all()


@pytest.mark.parametrize(("text", "code", "prefix"), [("51", "51.", True), ("1", "01.", True), ("51.38", "51.38", True),
                                                      ("51.3801", "51.3801", False)])
def test_cip_filter_parsing(text: str, code: str, prefix: bool) -> None:
    assert parse_cip_filter(text) == (code, prefix)


def test_cli(pw_dir: Path, tmp_path: Path) -> None:
    proc = run_cli("programs", "--region", "OH", "--cip", "51.38", data_dir=pw_dir)
    assert proc.returncode == 0, proc.stderr
    assert "programs (CIP) in Ohio" in proc.stdout and "Alignment (gapkit/config/shipped/pathways.toml)" in proc.stdout
    proc = run_cli("programs", "--region", "OH", "--cip", "51.3801", "--view", "institutions", "--format", "csv", data_dir=pw_dir)
    assert proc.returncode == 0 and "Ohio State University-Main Campus" in proc.stdout
    proc = run_cli("programs", "--region", "OH", "--soc", "53-3032", "--view", "awards", "--format", "csv", data_dir=pw_dir)
    assert proc.returncode == 0 and "Certificate, under 12 weeks" in proc.stdout
    # every share is printed to 4 decimals (the last bits of parallel sums never reach the output: a re-run prints
    # the same bytes)
    proc = run_cli("programs", "--sector", "transportation", "--region", "OH", "--format", "csv", data_dir=pw_dir)
    rows = list(csv.DictReader(line for line in io.StringIO(proc.stdout) if not line.startswith("#")))
    assert rows and all(len(r["sector_share"].partition(".")[2]) <= 4 for r in rows), [r["sector_share"] for r in rows[:3]]
    png = tmp_path / "programs.png"
    proc = run_cli("programs", "--region", "OH", "--chart", str(png), "--top", "2", data_dir=pw_dir)
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "needles"), [
    (["--cip", "abc"], ["--cip 'abc'"]),
    (["--soc", "99-9999"], ["--soc 99-9999 is not a BLS detailed occupation"]),
    (["--soc", "nurse"], ["--soc"]),
    (["--cip", "51", "--soc", "29-1141"], ["not both"]),
    (["--view", "schools"], ["--view 'schools'"]),
    (["--by", "state"], ["--by 'state'"]),
    (["--by", "cluster", "--view", "awards"], ["--by cluster"]),
    (["--region", "Atlantis"], ["--region"]),
    (["--format", "xml"], ["xml"]),
])
def test_cli_bad_input(pw_dir: Path, args: list[str], needles: list[str]) -> None:
    assert_clean_error(run_cli("programs", *args, data_dir=pw_dir), *needles)
