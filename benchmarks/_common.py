"""Helpers for the benchmarks: timing whole commands (best of N) on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GAPKIT_SHARED", REPO.parent / "shared"))
GAPKIT = [sys.executable, "-m", "gapkit.cli"]


def best_of(cmd: list[str], n: int = 5, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        times.append(time.perf_counter() - t0)
    return min(times)


def ensure_ingested(data_dir: Path) -> None:
    if not (data_dir / "manifest.json").exists():
        print(f"ingesting ../shared into {data_dir} ...", file=sys.stderr)
        subprocess.run([*GAPKIT, "ingest", "--offline", "--from", str(SHARED), "--data-dir", str(data_dir)], check=True,
                       stdout=subprocess.DEVNULL)
