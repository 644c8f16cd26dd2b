"""Scheduled refresh (`make refresh`, for cron): re-ingest every source, then regenerate the briefs
listed in a small TOML file.

Unchanged upstream files are skipped (conditional GET / sha256). The briefs are written into a
temporary folder next to the reports and swapped into place only when every source ingested and
every brief was written; on any failure the command exits non-zero with the reason and the
previous reports (and the previous data of a failed source) stay as they were.

    python -m gapkit.cli.refresh [--config refresh.toml] [--from PATH ...] [--mirror URL_OR_DIR] [--offline]
                             [--data-dir DIR]

The config (``refresh.toml`` in the current folder is used when present)::

    out = "reports"                 # folder of the reports, relative to the config file

    [[report]]
    name = "transportation-us"      # sub-folder: brief.md, brief.html, charts/
    sector = "transportation"
    region = "US"
    # optional: awards, alloc, scope, completions_years ("2022-2024"), vintage, retention,
    #           extra_supply, sector_file (paths relative to the config file)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapkit.errors import GapkitError

DEFAULT_CONFIG = "refresh.toml"
REPORT_KEYS = {"name", "sector", "region", "awards", "alloc", "scope", "completions_years", "vintage", "retention",
               "extra_supply", "sector_file"}


class ConfigError(GapkitError):
    """The refresh config cannot be used."""


@dataclass
class ReportSpec:
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class RefreshConfig:
    path: Path
    out: Path
    reports: list[ReportSpec]


def load_config(path: str | os.PathLike[str]) -> RefreshConfig:
    """Read and check the refresh config; every problem is one clear ConfigError naming the file."""
    from gapkit.config.user_files import parse_toml, read_user_text

    p = Path(path)
    fix = "Give a refresh config (see `python -m gapkit.cli.refresh --help`) with --config PATH."
    try:
        doc = parse_toml(read_user_text(p, f"Refresh config {p}", fix), "Refresh config", str(p))
    except GapkitError as exc:
        raise ConfigError(exc.message) from None
    unknown = set(doc) - {"out", "report"}
    if unknown:
        raise ConfigError(f"{p}: unknown key(s) {', '.join(sorted(unknown))}; the file has `out` and [[report]] tables.")
    base = p.resolve().parent
    out = doc.get("out", "reports")
    if not isinstance(out, str) or not out.strip():
        raise ConfigError(f"{p}: `out` must be a folder path (text), e.g. out = \"reports\".")
    reports_raw = doc.get("report", [])
    if not isinstance(reports_raw, list) or not reports_raw:
        raise ConfigError(f"{p}: list at least one report as a [[report]] table with name, sector and region.")
    reports: list[ReportSpec] = []
    seen: set[str] = set()
    for i, r in enumerate(reports_raw, start=1):
        where = f"{p}, report {i}"
        if not isinstance(r, dict):
            raise ConfigError(f"{where}: each report is a [[report]] table.")
        bad = set(r) - REPORT_KEYS
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(bad))}; allowed: {', '.join(sorted(REPORT_KEYS))}.")
        name = r.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}", name):
            raise ConfigError(f"{where}: `name` must be a simple folder name (letters, digits, . _ -), got {name!r}.")
        if name in seen:
            raise ConfigError(f"{where}: the name {name!r} is used twice; each report needs its own folder.")
        seen.add(name)
        if not isinstance(r.get("sector"), str):
            raise ConfigError(f"{where} ({name}): `sector` is required (a sector name, see `gapkit sectors`).")
        opts = {k: _option_value(where, name, k, v) for k, v in r.items() if k != "name"}
        for key in ("extra_supply", "sector_file"):
            if key in opts:
                try:
                    opts[key] = str((base / str(opts[key])).resolve())
                except (OSError, RuntimeError):
                    raise ConfigError(f"{where} ({name}): `{key}` = {opts[key]!r} is not a usable path.") from None
        reports.append(ReportSpec(name, opts))
    return RefreshConfig(p, (base / out).resolve(), reports)


def _option_value(where: str, name: str, key: str, value: Any) -> Any:
    """A report option as `gapkit report` takes it on the command line: text, except `retention` (a number),
    `region` (a state postal code, or its FIPS number: 39 is Ohio) and `completions_years` (2024, "2022-2024"
    or a list of years)."""
    if key == "retention":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} ({name}): `retention` must be a number such as 0.8, got {value!r}.")
        return float(value)
    if key == "region" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:02d}" if 0 <= value < 100 else str(value)
    if key == "completions_years":
        from gapkit.analysis.query import parse_years
        from gapkit.errors import UsageError

        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif isinstance(value, list) and value and all(isinstance(y, int) and not isinstance(y, bool) for y in value):
            value = ",".join(str(y) for y in value)
        if isinstance(value, str):
            try:
                parse_years(value, "completions_years")
            except UsageError as exc:
                raise ConfigError(f"{where} ({name}): {exc.message}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{where} ({name}): `{key}` must be text (in quotes), got {value!r}.")
    return value


def regenerate(config: RefreshConfig, data_dir: str | os.PathLike[str] | None = None,
               generated_at: str | None = None) -> list[Path]:
    """Write every brief into a temporary folder, then swap them into ``config.out`` together.

    Nothing under ``config.out`` changes unless all briefs were written.
    """
    from gapkit.workspace import Workspace

    try:
        config.out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".refresh-", dir=config.out))
    except OSError as exc:
        raise ConfigError(f"{config.path}: cannot write the reports folder {config.out} ({exc.strerror or exc}).") from None
    try:
        ws = Workspace(data_dir)
        for spec in config.reports:
            try:
                brief = ws.brief(**spec.options, generated_at=generated_at)
                brief.write(staging / spec.name)
            except GapkitError as exc:
                raise GapkitError(f"report {spec.name}: {exc.message}") from None
            print(f"built {spec.name}: {brief.title}", file=sys.stderr)
        return _swap(config, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(config: RefreshConfig, staging: Path) -> list[Path]:
    """Move the new report folders into place; on an OS error put back what was already moved."""
    moved: list[tuple[Path, Path | None]] = []  # (final, backup)
    try:
        for spec in config.reports:
            final = config.out / spec.name
            backup = None
            if final.exists():
                backup = staging / f"{spec.name}.previous"
                os.replace(final, backup)
            os.replace(staging / spec.name, final)
            moved.append((final, backup))
    except OSError as exc:
        for final, backup in reversed(moved):
            shutil.rmtree(final, ignore_errors=True)
            if backup is not None:
                os.replace(backup, final)
        raise ConfigError(f"Could not move the new reports into {config.out} ({exc.strerror or exc}); the previous reports "
                          "were left in place.") from None
    return [f for f, _ in moved]


def main(argv: list[str] | None = None) -> int:
    from gapkit.cli import run_guarded

    return int(run_guarded(_main, argv, own_process=argv is None))


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gapkit.cli.refresh", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--config", default=None, help=f"reports to regenerate (default ./{DEFAULT_CONFIG} when present)")
    ap.add_argument("--from", dest="from_", action="append", default=None, help="local files or folders (repeatable)")
    ap.add_argument("--mirror", default=None)
    ap.add_argument("--offline", action="store_true")
    ap.add_argument("--data-dir", default=os.environ.get("GAPKIT_DATA_DIR"))
    args = ap.parse_args(argv)

    from gapkit.ingestion.pipeline import ingest
    from gapkit.render.ingest_report import print_ingest_report

    try:
        config = None
        if args.config or Path(DEFAULT_CONFIG).is_file():
            config = load_config(args.config or DEFAULT_CONFIG)
        report = ingest(None, from_paths=args.from_, mirror=args.mirror, offline=args.offline, data_dir=args.data_dir)
    except GapkitError as exc:
        print(f"error: refresh failed: {exc.message}", file=sys.stderr)
        return 2
    print_ingest_report(report)
    if not report.ok:
        print(f"error: refresh failed for {len(report.failed)} file(s); the previous data of those sources and the previous "
              "reports were left in place.", file=sys.stderr)
        return 1
    if config is None:
        return 0
    try:
        written = regenerate(config, args.data_dir)
    except GapkitError as exc:
        print(f"error: refresh failed: {exc.message} The previous reports in {config.out} were left in place.", file=sys.stderr)
        return 1
    print(f"refreshed {len(written)} report(s) in {config.out}: {', '.join(p.name for p in written)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
