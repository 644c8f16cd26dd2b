"""Run the golden commands through the real CLI entry point (in one process) and summarize their outputs.

    python -m tests.golden.run --data-dir DIR [--record] [--keep FOLDER]

``--record`` rewrites ``expected.json`` (only after a deliberate change of the method; say so in the
commit); ``--keep`` leaves the full outputs in FOLDER (outside the repository) for a diff.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from tests.golden.commands import commands
from tests.golden.normalize import summarize

EXPECTED = Path(__file__).with_name("expected.json")


def run_one(argv: list[str], data_dir: Path, out: Path) -> None:
    from gapkit.cli import main

    args = [*argv, "--out", str(out), "--data-dir", str(data_dir)]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            main(args)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise AssertionError(f"gapkit {' '.join(argv)} exited {exc.code}: {err.getvalue()}") from None


def run_all(data_dir: Path, work: Path) -> dict[str, dict[str, Any]]:
    work.mkdir(parents=True, exist_ok=True)
    got: dict[str, dict[str, Any]] = {}
    for name, argv in commands():
        fmt = argv[argv.index("--format") + 1] if "--format" in argv else None
        out = work / (f"{name}.{fmt}" if fmt else name)
        run_one(argv, data_dir, out)
        got[name] = summarize(out)
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--keep", type=Path)
    a = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work = a.keep or Path(tmp)
        got = run_all(a.data_dir, work)
        if a.keep:
            for name, s in got.items():
                (work / f"{name}.normalized.txt").write_text(s["_text"], encoding="utf-8")
    clean = {k: {"sha256": v["sha256"], "summary": v["summary"]} for k, v in got.items()}
    if a.record:
        EXPECTED.write_text(json.dumps(clean, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"recorded {len(clean)} outputs in {EXPECTED}", file=sys.stderr)
        return
    want = json.loads(EXPECTED.read_text(encoding="utf-8"))
    bad = [k for k in want if k not in clean or clean[k]["sha256"] != want[k]["sha256"]]
    print(f"{len(want) - len(bad)} of {len(want)} outputs unchanged; changed: {', '.join(bad) or 'none'}")


if __name__ == "__main__":
    main()
