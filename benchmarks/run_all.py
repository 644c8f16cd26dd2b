"""Run every benchmark and print their ratios."""

from __future__ import annotations

import runpy
from pathlib import Path

HERE = Path(__file__).resolve().parent

for name in ("bench_ingest.py", "bench_gap.py", "bench_pathways.py", "bench_reports.py"):
    if (HERE / name).exists():
        print(f"== {name}")
        runpy.run_path(str(HERE / name), run_name="__main__")
