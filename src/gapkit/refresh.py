"""Scheduled refresh (`make refresh`, for cron): re-ingest every source; unchanged upstream files are
skipped (conditional GET / sha256), failures exit non-zero with the reasons and leave the previous
data in place.

    python -m gapkit.refresh [--from PATH ...] [--mirror URL_OR_DIR] [--offline] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import sys

from gapkit.errors import GapkitError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gapkit.refresh", description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="from_", action="append", default=None, help="local files or folders (repeatable)")
    ap.add_argument("--mirror", default=None)
    ap.add_argument("--offline", action="store_true")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)

    from gapkit.ingest import ingest
    from gapkit.report_ingest import print_ingest_report

    try:
        report = ingest(None, from_paths=args.from_, mirror=args.mirror, offline=args.offline, data_dir=args.data_dir)
    except GapkitError as exc:
        print(f"error: refresh failed: {exc.message}", file=sys.stderr)
        return 2
    print_ingest_report(report)
    if not report.ok:
        print(f"error: refresh failed for {len(report.failed)} file(s); the previous data of those sources was left in place.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
