"""The engine's speed targets, each measured side by side with its yardstick in the same run (whole
processes, best of N, same ingested data; the machines are shared and noisy, so only ratios count):

- cold `gapkit gap --sector transportation` (GAPKIT_NO_CACHE=1) vs `python -c "import polars"` (<= 1.5x);
- cold `gapkit gap --sector all --by state` vs the DuckDB SQL reference (benchmarks/duckdb_gap.py)
  answering the same question from the same Parquet files (ratio <= 1.0);
- `gapkit report` re-run on unchanged data vs `import polars` (<= 2x), and cold (<= 8x).

Before timing, both questions are answered by gapkit and by the DuckDB reference and compared to
0.01 person per row; a disagreement is printed (the timings are still shown).

Usage: python benchmarks/bench_targets.py [--data-dir DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import (
    COLD,
    DUCKDB_GAP,
    GAPKIT,
    IMPORT_POLARS,
    best_measure,
    best_of,
    default_data_dir,
    disagreements,
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


def line(name: str, secs: float, base: float | None = None, target: float | None = None, note: str = "") -> None:
    text = f"{name:<52} {secs:6.3f} s"
    if base is not None:
        ratio = secs / base
        text += f"  ratio {ratio:5.2f}"
        if target is not None:
            text += f" (target <= {target:g}: {'ok' if ratio <= target else 'OVER'})"
    print(text + (f"  {note}" if note else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--runs", type=int, default=5, help="best of N for the short commands (default 5)")
    args = ap.parse_args()
    data = args.data_dir or default_data_dir()
    n = args.runs
    dd = ["--data-dir", str(data)]
    check(data)

    t_polars = best_of(IMPORT_POLARS, n)
    t_trans, m_trans = best_measure([*GAPKIT, "gap", "--sector", "transportation", *dd], n, env=COLD)
    t_duck_trans, _ = best_measure([*DUCKDB_GAP, "--sector", "transportation", *dd], n)
    t_all, m_all = best_measure([*GAPKIT, "gap", "--sector", "all", "--by", "state", *dd], n, env=COLD)
    t_duck_all, m_duck_all = best_measure([*DUCKDB_GAP, "--sector", "all", "--by", "state", *dd], n)
    with tempfile.TemporaryDirectory() as tmp:
        report = [*GAPKIT, "report", "--sector", "transportation", "--out", str(Path(tmp) / "brief"), *dd]
        t_report_cold, _ = best_measure(report, max(2, n // 2), env=COLD)
        best_measure(report, 1)  # the first run with the cache on fills it
        t_report, _ = best_measure(report, max(2, n // 2))

    print(f"{'(best of ' + str(n) + ', whole processes)':<52} {'':>8}  ratios to the line's yardstick")
    line('python -c "import polars"', t_polars)
    line("gapkit gap --sector transportation, cold", t_trans, t_polars, 1.5, f"(to import polars; peak {m_trans:.0f} MiB)")
    line("  DuckDB reference, same question", t_duck_trans, t_polars, None, "(to import polars)")
    line("gapkit gap --sector all --by state, cold", t_all, t_duck_all, 1.0, f"(to DuckDB; peak {m_all:.0f} MiB)")
    line("  DuckDB reference, same question", t_duck_all, t_polars, None, f"(to import polars; peak {m_duck_all:.0f} MiB)")
    line("gapkit report --sector transportation, re-run", t_report, t_polars, 2.0, "(to import polars; unchanged data)")
    line("gapkit report --sector transportation, cold", t_report_cold, t_polars, 8.0, "(to import polars; GAPKIT_NO_CACHE=1)")


if __name__ == "__main__":
    main()
