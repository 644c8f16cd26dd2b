"""gapkit's answers agree with an independent DuckDB SQL implementation of docs/METHOD.md
(benchmarks/duckdb_gap.py, which reads the stored Parquet files and the shipped TOML files and imports
nothing from gapkit), to 0.01 person per row: openings, entrant openings, supply, gap, the ratio or the
reason it is not printed (ratio_note), misalignment and flags, under the default options (entrant
demand, education-aware supply, harmonized SOC codes, state quality gates) and under the method before
issue 11 (--demand openings --alloc openings). Compared with the CLI's CSV, never with engine internals,
so the check holds while the engine is rewritten. A correctness test: nothing here is timed."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO, run_cli

BENCH = REPO / "benchmarks"
SECTORS = sorted(tomllib.loads(p.read_text())["name"] for p in (REPO / "src/gapkit/config/shipped/sectors").glob("*.toml"))


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


common = _load("_common")
reference = _load("duckdb_gap")


def gapkit_csv(data_dir: Path, *args: str) -> str:
    proc = run_cli("gap", *args, "--format", "csv", data_dir=data_dir, env={"GAPKIT_NO_CACHE": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_transportation_national_by_group(ingested: Path) -> None:
    ours = reference.answer(ingested, "transportation", "group")
    assert [r["group"] for r in ours][:1] == ["operations"]  # the question was answered, not an empty table
    bad = common.disagreements(ours, gapkit_csv(ingested, "--sector", "transportation"), ("sector", "region", "group"),
                               ordered=True)
    assert bad == []


def test_all_sectors_by_state(ingested: Path) -> None:
    ours = reference.answer(ingested, "all", "state")
    assert {r["sector"] for r in ours} == set(SECTORS)
    assert len({r["region"] for r in ours}) == 51  # 50 states and DC, all published by Projections Central
    # the quality gates are exercised, not vacuous: New York published openings without separations
    # (METHOD.md), and some rows carry too many missing occupations to print a ratio
    assert all("estimated state openings" in r["flags"] for r in ours if r["region"] == "NY")
    assert not any("estimated state openings" in r["flags"] for r in ours if r["region"] != "NY")
    assert any(r["ratio_note"] == "state data unusable" and r["ratio"] is None for r in ours)
    bad = common.disagreements(ours, gapkit_csv(ingested, "--sector", "all", "--by", "state"), ("sector", "region"))
    assert bad == []


@pytest.mark.parametrize(("sector", "by", "keys"), [("transportation", "group", ("sector", "region", "group")),
                                                    ("all", "state", ("sector", "region"))])
def test_total_openings_and_all_awards_allocation(ingested: Path, sector: str, by: str, keys: tuple[str, ...]) -> None:
    """The pre-issue-11 measures, still offered for comparison: total openings vs supply allocated by openings."""
    ours = reference.answer(ingested, sector, by, demand="openings", alloc="openings")
    args = ["--sector", sector, *(["--by", "state"] if by == "state" else []), "--demand", "openings", "--alloc", "openings"]
    assert common.disagreements(ours, gapkit_csv(ingested, *args), keys, ordered=by == "group") == []


@pytest.mark.parametrize("sector", [s for s in SECTORS if s != "transportation"])
def test_every_shipped_sector_national_by_group(ingested: Path, sector: str) -> None:
    ours = reference.answer(ingested, sector, "group")
    assert ours
    assert common.disagreements(ours, gapkit_csv(ingested, "--sector", sector), ("sector", "region", "group"), ordered=True) == []


def test_the_comparison_sees_a_difference(ingested: Path) -> None:
    """The check is not vacuous: 0.02 person, a flag, a missing row or a swapped order is reported."""
    text = gapkit_csv(ingested, "--sector", "transportation")
    ours = reference.answer(ingested, "transportation", "group")
    keys = ("sector", "region", "group")
    assert common.disagreements(ours, text, keys, ordered=True) == []
    shifted = [dict(r) for r in ours]
    shifted[1]["supply"] += 0.02
    assert any("supply" in d for d in common.disagreements(shifted, text, keys))
    flagged = [dict(r) for r in ours]
    flagged[0]["flags"] = ""
    assert any("flags" in d for d in common.disagreements(flagged, text, keys))
    noted = [dict(r) for r in ours]
    noted[0]["ratio"], noted[0]["ratio_note"] = None, "no meaningful supply"
    assert any("ratio_note" in d for d in common.disagreements(noted, text, keys))
    entrants = [dict(r) for r in ours]
    entrants[2]["entrants"] += 0.02
    assert any("entrants" in d for d in common.disagreements(entrants, text, keys))
    assert any("only in gapkit" in d for d in common.disagreements(ours[1:], text, keys))
    assert common.disagreements(ours[::-1], text, keys, ordered=True) == ["rows in a different order"]
