"""Ingest speed: everything in ../shared from local files (target < 30 s on 2 cores), and a re-run
with unchanged inputs (target < 2 s, no parsing)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _common import GAPKIT, SHARED


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gapkit-bench-"))
    try:
        t0 = time.perf_counter()
        subprocess.run([*GAPKIT, "ingest", "--offline", "--from", str(SHARED), "--data-dir", str(tmp)], check=True, stdout=subprocess.DEVNULL)
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([*GAPKIT, "ingest", "--offline", "--from", str(SHARED), "--data-dir", str(tmp)], check=True, stdout=subprocess.DEVNULL)
        rerun = time.perf_counter() - t0
        print(f"full ingest of ../shared: {full:.1f} s (target < 30 s: {'OK' if full < 30 else 'SLOW'})")
        print(f"re-run, unchanged inputs: {rerun:.2f} s (target < 2 s: {'OK' if rerun < 2 else 'SLOW'})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
