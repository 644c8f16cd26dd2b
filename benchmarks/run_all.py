"""Run every benchmark and print their ratios: python benchmarks/run_all.py [--data-dir DIR]

``--data-dir`` (any gapkit data folder) is passed to every benchmark that reads ingested data; without
it they share a temp folder with ../shared ingested once (benchmarks/_common.py). The scale benchmark
runs at 50x completions, with its 3,000-region variant.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (script, its own arguments, whether it takes --data-dir)
SCRIPTS = [
    ("bench_ingest.py", [], False),
    ("bench_targets.py", [], True),
    ("bench_gap.py", [], True),
    ("bench_pathways.py", [], True),
    ("bench_reports.py", [], True),
    ("bench_scale.py", ["50"], True),
]


def main(argv: list[str]) -> None:
    data = argv[argv.index("--data-dir") + 1] if "--data-dir" in argv[:-1] else None
    sys.path.insert(0, str(HERE))
    for name, args, takes_data in SCRIPTS:
        print(f"== {name}", flush=True)
        sys.argv = [str(HERE / name), *args, *(["--data-dir", data] if data and takes_data else [])]
        runpy.run_path(str(HERE / name), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
