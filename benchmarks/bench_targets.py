"""The engine's speed targets, each measured side by side with its yardstick in the same run (whole
processes, best of N, same ingested data; the machines are shared and noisy, so only ratios count):

- cold `gapkit gap --sector transportation` (GAPKIT_NO_CACHE=1) vs `python -c "import polars"` (<= 1.5x);
- cold `gapkit gap --sector all --by state` vs the DuckDB SQL reference (benchmarks/duckdb_gap.py)
  answering the same question from the same Parquet files (ratio <= 1.0);
- `gapkit report` re-run on unchanged data vs `import polars` (<= 2x), and cold (<= 8x);
- regions (issue 12): cold `gapkit gap --sector transportation --by metro --region OH` vs `import polars` (<= 2x),
  and every county of Ohio x every shipped sector (`--sector all --by county --region OH`) (<= 6x).

gapkit's sources are byte-compiled first (as an installed package is; forced, so no stale .pyc is left), so a
machine that sets PYTHONDONTWRITEBYTECODE does not charge every run for compiling them.

The commands of each ratio take turns within every round (best of N each), so a shared machine's load
changes hit both sides alike.

Before timing, both questions are answered by gapkit and by the DuckDB reference and compared to
0.01 person per row; a disagreement is printed (the timings are still shown).

Usage: python benchmarks/bench_targets.py [--data-dir DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    COLD,
    DUCKDB_GAP,
    GAPKIT,
    IMPORT_POLARS,
    REPO,
    Run,
    default_data_dir,
    disagreements,
    interleaved,
    measure,
    output_of,
)
from duckdb_gap import answer


def check(data: Path) -> None:
    dd = ["--data-dir", str(data)]
    for label, gap_args, ref_args, keys in (
        ("transportation by group", ["--sector", "transportation"], ("transportation", "group"), ("sector", "region", "group")),
        ("all sectors by state", ["--sector", "all", "--by", "state"], ("all", "state"), ("sector", "region")),
    ):
        text = output_of([*GAPKIT, "gap", *gap_args, "--format", "csv", *dd], env=COLD)
        bad = disagreements(answer(data, *ref_args), text, keys)
        verdict = "agree to 0.01 person per row" if not bad else f"DISAGREE on {len(bad)} value(s): " + "; ".join(bad[:5])
        print(f"check: gapkit and the DuckDB reference, {label}: {verdict}")


def line(name: str, run: Run, base: Run | None = None, target: float | None = None, yardstick: str = "") -> None:
    text = f"{name:<46} {run.secs:7.3f} {run.cpu:7.3f} {run.peak_mib:8.0f}"
    if base is not None:
        ratio = run.secs / base.secs
        text += f"  {ratio:5.2f} / {run.cpu / base.cpu:5.2f} to {yardstick}"
        if target is not None:
            text += f"  (target <= {target:g}: {'ok' if ratio <= target else 'OVER'})"
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--runs", type=int, default=5, help="best of N for the short commands (default 5)")
    args = ap.parse_args()
    data = args.data_dir or default_data_dir()
    n = args.runs
    dd = ["--data-dir", str(data)]
    # -f: a source rewritten within the second its .pyc was written (a `git stash pop`) would keep a stale .pyc that
    # Python rejects, and every run would pay for compiling that module
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-f", str(REPO / "src" / "gapkit")], check=True)
    check(data)

    dd_all = ["--sector", "all", "--by", "state", *dd]
    r = interleaved({
        "polars": (IMPORT_POLARS, None),
        "trans": ([*GAPKIT, "gap", "--sector", "transportation", *dd], COLD),
        "duck_trans": ([*DUCKDB_GAP, "--sector", "transportation", *dd], None),
        "all": ([*GAPKIT, "gap", *dd_all], COLD),
        "duck_all": ([*DUCKDB_GAP, *dd_all], None),
        "metro": ([*GAPKIT, "gap", "--sector", "transportation", "--by", "metro", "--region", "OH", *dd], COLD),
        "counties": ([*GAPKIT, "gap", "--sector", "all", "--by", "county", "--region", "OH", *dd], COLD),
    }, n)
    with tempfile.TemporaryDirectory() as tmp:
        report = [*GAPKIT, "report", "--sector", "transportation", "--out", str(Path(tmp) / "brief"), *dd]
        measure(report)  # the first run with the cache on fills it
        rr = interleaved({"polars": (IMPORT_POLARS, None), "cold": (report, COLD), "rerun": (report, None)}, max(2, n // 2))

    print(f"whole processes, best of {n} (reports: {max(2, n // 2)}), the commands of a ratio taking turns; "
          "ratio = wall / CPU time ratio")
    print(f"{'':<46} {'wall s':>7} {'cpu s':>7} {'peak MiB':>8}  ratio")
    line('python -c "import polars"', r["polars"])
    line("gapkit gap --sector transportation, cold", r["trans"], r["polars"], 1.5, "import polars")
    line("  DuckDB reference, same question", r["duck_trans"], r["polars"], None, "import polars")
    line("gapkit gap --sector all --by state, cold", r["all"], r["duck_all"], 1.0, "DuckDB")
    line("  DuckDB reference, same question", r["duck_all"], r["polars"], None, "import polars")
    line("gapkit gap transportation --by metro --region OH", r["metro"], r["polars"], 2.0, "import polars")
    line("gapkit gap --sector all --by county --region OH", r["counties"], r["polars"], 6.0, "import polars")
    line('python -c "import polars" (with the reports)', rr["polars"])
    line("gapkit report, re-run on unchanged data", rr["rerun"], rr["polars"], 2.0, "import polars")
    line("gapkit report, cold (GAPKIT_NO_CACHE=1)", rr["cold"], rr["polars"], 8.0, "import polars")


if __name__ == "__main__":
    main()
