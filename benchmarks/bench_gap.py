"""Speed of the interactive commands, as ratios (the machines are shared and noisy):

- `gapkit gap --sector transportation` vs `python -c "import polars"` (target ≤ 1.5×);
- `gapkit gap --sector all --by state` (target < 2 s);
- the same transportation computation in plain pandas (benchmarks/pandas_gap.py), side by side;
- `gapkit --help` (must not import polars or matplotlib).
"""

from __future__ import annotations

import subprocess
import sys

from _common import GAPKIT, REPO, best_of, data_dir_arg


def main() -> None:
    data = data_dir_arg()
    dd = ["--data-dir", str(data)]
    t_polars = best_of([sys.executable, "-c", "import polars"])
    t_gap = best_of([*GAPKIT, "gap", "--sector", "transportation", *dd])
    cold = {"GAPKIT_NO_CACHE": "1"}
    t_gap_cold = best_of([*GAPKIT, "gap", "--sector", "transportation", *dd], env=cold)
    t_all_cold = best_of([*GAPKIT, "gap", "--sector", "all", "--by", "state", *dd], n=3, env=cold)
    t_sub = best_of([*GAPKIT, "gap", "--sector", "transportation", "--by", "subsector", *dd], env={"GAPKIT_NO_CACHE": "1"})
    t_all = best_of([*GAPKIT, "gap", "--sector", "all", "--by", "state", *dd], n=3)
    t_pandas = best_of([sys.executable, str(REPO / "benchmarks/pandas_gap.py"), str(data)], n=3)
    t_help = best_of([*GAPKIT, "--help"])
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "gapkit.cli", "--help"], capture_output=True, text=True)
    heavy = [m for m in ("polars", "matplotlib", "pyarrow") if f" {m}" in out.stderr]
    print(f"import polars                          {t_polars:6.3f} s")
    print(f"gapkit gap --sector transportation     {t_gap:6.3f} s  ratio to import polars {t_gap / t_polars:4.2f} (target <= 1.5; result cache warm)")
    print(f"  ... computed from scratch            {t_gap_cold:6.3f} s  ratio {t_gap_cold / t_polars:4.2f} (GAPKIT_NO_CACHE=1)")
    print(f"  ... --by subsector, from scratch     {t_sub:6.3f} s  ratio {t_sub / t_polars:4.2f}")
    print(f"plain pandas, same computation         {t_pandas:6.3f} s  gapkit is {t_pandas / t_sub:4.1f}x faster")
    print(f"gapkit gap --sector all --by state     {t_all:6.3f} s  (target < 2 s; cache warm)")
    print(f"  ... computed from scratch            {t_all_cold:6.3f} s  (GAPKIT_NO_CACHE=1)")
    print(f"gapkit --help                          {t_help:6.3f} s  heavy imports: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
