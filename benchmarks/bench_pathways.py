"""Speed of `gapkit pathways --sector all --region OH` (target < 1 s) and `gapkit programs --region OH`.

Reported warm (the content-addressed result cache holds the answer, as when an analyst re-runs a
command) and from scratch (GAPKIT_NO_CACHE=1), next to `import polars` and to the same occupations from
`gapkit gap --by occupation` from scratch, which pathways builds on (its own work is the difference).
"""

from __future__ import annotations

import sys

from _common import GAPKIT, best_of, data_dir_arg

TARGET_S = 1.0


def main() -> None:
    data = data_dir_arg()
    dd = ["--data-dir", str(data)]
    cold = {"GAPKIT_NO_CACHE": "1"}
    cmd = [*GAPKIT, "pathways", "--sector", "all", "--region", "OH", *dd]
    t_polars = best_of([sys.executable, "-c", "import polars"])
    t_warm = best_of(cmd)
    t_cold = best_of(cmd, n=3, env=cold)
    t_gap = best_of([*GAPKIT, "gap", "--sector", "all-industries", "--by", "occupation", "--region", "OH", *dd], n=3, env=cold)
    t_prog = best_of([*GAPKIT, "programs", "--region", "OH", *dd], n=3)
    t_prog_cold = best_of([*GAPKIT, "programs", "--region", "OH", *dd], n=3, env=cold)
    ok = "ok" if t_warm < TARGET_S else "SLOW"
    print(f"import polars                                  {t_polars:6.3f} s")
    print(f"gapkit pathways --sector all --region OH       {t_warm:6.3f} s  target < {TARGET_S:g} s: {ok} (result cache warm)")
    print(f"  ... computed from scratch                    {t_cold:6.3f} s  (GAPKIT_NO_CACHE=1)")
    print(f"  gapkit gap --by occupation, from scratch     {t_gap:6.3f} s  (the engine pathways calls; pathways adds "
          f"{t_cold - t_gap:+.3f} s)")
    print(f"gapkit programs --region OH                    {t_prog:6.3f} s  (cache warm)")
    print(f"  ... computed from scratch                    {t_prog_cold:6.3f} s")


if __name__ == "__main__":
    main()
