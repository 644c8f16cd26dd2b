"""Render time of the report side for transportation, national and one state (target < 5 s each, as whole
commands on a 2-core machine; best of 3, so a busy shared machine shows its quiet-time figure):

- `gapkit chart KIND` for every kind, PNG at 300 dpi (SVG/PDF for one kind);
- `gapkit report` (all tables, charts, method and provenance; the sensitivity grid is 20 engine runs).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from _common import GAPKIT, data_dir_arg

TARGET = 5.0
CHARTS = [("bars", ["--by", "subsector"]), ("states", []), ("scatter", []), ("sensitivity", []), ("trend", [])]


def best_of(cmd: list[str], n: int = 3) -> float:
    """Best wall time of n runs (the commands' "wrote ..." lines on stderr are dropped)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    data = data_dir_arg()
    dd = ["--data-dir", str(data)]
    with tempfile.TemporaryDirectory() as tmp:
        rows: list[tuple[str, float]] = []
        for region in ("US", "OH"):
            for kind, extra in CHARTS:
                if kind == "states" and region != "US":
                    continue
                out = Path(tmp) / f"{kind}-{region}.png"
                t = best_of([*GAPKIT, "chart", kind, "--region", region, *extra, "--out", str(out), *dd], n=3)
                rows.append((f"gapkit chart {kind} --region {region} (.png)", t))
            for fmt in ("svg", "pdf"):
                out = Path(tmp) / f"scatter-{region}.{fmt}"
                t = best_of([*GAPKIT, "chart", "scatter", "--region", region, "--out", str(out), *dd], n=3)
                rows.append((f"gapkit chart scatter --region {region} (.{fmt})", t))
            t = best_of([*GAPKIT, "report", "--sector", "transportation", "--region", region, "--out",
                         str(Path(tmp) / f"brief-{region}"), *dd], n=3)
            rows.append((f"gapkit report --region {region}", t))
    width = max(len(n) for n, _ in rows)
    for name, t in rows:
        print(f"{name:<{width}}  {t:6.2f} s  {'ok' if t < TARGET else 'OVER'} (target < {TARGET:.0f} s)")


if __name__ == "__main__":
    main()
