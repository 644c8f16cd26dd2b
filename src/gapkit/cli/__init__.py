"""The `gapkit` command line: a thin layer over the library API.

Each command imports what it needs inside its body, so ``gapkit --help`` and commands that do not
compute stay fast (no polars, no matplotlib at start-up).
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from gapkit.errors import GapkitError

app = typer.Typer(
    name="gapkit",
    help="Labor-market skills-gap analysis from official public data: openings (BLS, Projections Central) "
    "vs completions (IPEDS), by sector, occupation and state.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default ./data, or $GAPKIT_DATA_DIR).", envvar="GAPKIT_DATA_DIR", show_default=False),
]


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"
    parquet = "parquet"


@app.command()
def ingest(
    sources: Annotated[list[str] | None, typer.Argument(help="bls-ep, bls-matrix, projections, ipeds, crosswalk, bls-codes (SOC -> projections "
                                                             "codes), oews, qcew (county "
                                                             "employment and wages; needs --counties), geo (county -> metro, OEWS area, "
                                                             "workforce area), ca-edd (California sub-state projections; --from only), "
                                                             "etpl (Texas training-provider list) (none = all).", show_default=False)] = None,
    from_: Annotated[list[Path] | None, typer.Option("--from", help="Local file or folder of downloaded files (repeatable; folders are scanned recursively).", show_default=False)] = None,
    mirror: Annotated[str | None, typer.Option(help="A base URL or folder holding upstream files under <host>/<path> (e.g. ../shared/mirror).", show_default=False)] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never touch the network (use --from or a --mirror folder).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Re-download and re-parse even when nothing changed.")] = False,
    years: Annotated[str | None, typer.Option(help="IPEDS/OEWS/QCEW years, e.g. 2024 or 2021-2024 or 2022,2024.", show_default=False)] = None,
    states: Annotated[str | None, typer.Option(help="Projections Central states (postal codes or FIPS, comma-separated; default all).", show_default=False)] = None,
    counties: Annotated[str | None, typer.Option(help="QCEW counties: 5-digit county FIPS codes, comma-separated (e.g. 39049,39041).", show_default=False)] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for another running ingest to finish before giving up.")] = 0.0,
    data_dir: DataDir = None,
) -> None:
    """Download (or read local copies of) the official sources and store them as Parquet."""
    from gapkit.analysis.query import parse_years
    from gapkit.ingestion.pipeline import ingest as run_ingest
    from gapkit.ingestion.sources.base import IngestOptions
    from gapkit.render.ingest_report import print_ingest_report

    picked = parse_years(years, "--years")
    opts = IngestOptions(years=list(picked) if picked else None, states=_parse_states(states), counties=_parse_counties(counties))
    report = run_ingest(
        sources or None,
        from_paths=[str(p) for p in from_] if from_ else None,
        mirror=mirror,
        offline=offline,
        force=force,
        options=opts,
        data_dir=data_dir,
        wait=wait,
        progress=True,
    )
    print_ingest_report(report)
    if not report.ok:
        raise typer.Exit(1)


class SourcesFormat(str, Enum):
    table = "table"
    json = "json"


@app.command()
def sources(
    format: Annotated[SourcesFormat, typer.Option("--format", help="table or json.")] = SourcesFormat.table,
    data_dir: DataDir = None,
) -> None:
    """Show what is ingested: source, vintage, rows, when, sha256 prefix, age."""
    from gapkit.render.ingest_report import print_sources

    print_sources(data_dir, format.value)


def _parse_states(text: str | None) -> list[str] | None:
    if not text:
        return None
    from gapkit.codes import normalize_fips

    out = []
    for part in text.split(","):
        try:
            out.append(normalize_fips(part.strip()))
        except ValueError as exc:
            raise GapkitError(f"--states: {exc}.") from None
    return out


def _parse_counties(text: str | None) -> list[str] | None:
    if text is None:
        return None
    from gapkit.codes import normalize_county_fips
    from gapkit.errors import UsageError

    out = []
    for part in text.split(","):
        try:
            out.append(normalize_county_fips(part.strip()))
        except ValueError as exc:
            raise UsageError(f"--counties {text!r}: {exc}.") from None
    return list(dict.fromkeys(out))


def _register_optional_commands() -> None:
    """Commands that live in their own modules (imported lazily by name, not at start-up)."""
    import importlib

    for module in ("gapkit.cli.analysis", "gapkit.cli.reports", "gapkit.cli.pathways", "gapkit.cli.find"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(app)


def main(argv: list[str] | None = None) -> Any:
    try:
        _register_optional_commands()
        return app(args=argv, standalone_mode=True)
    except GapkitError as exc:
        _print_error(exc.message)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _print_error("Interrupted; data already ingested was left untouched.")
        sys.exit(130)
    except BrokenPipeError:
        os._exit(0)
    except Exception as exc:  # a bug: still one paragraph, never a traceback (GAPKIT_DEBUG=1 shows it)
        if os.environ.get("GAPKIT_DEBUG"):
            raise
        _print_error(
            f"gapkit hit an unexpected error ({type(exc).__name__}: {str(exc)[:300]}). This is a bug in gapkit, not in "
            "your data: please report it with the command you ran (set GAPKIT_DEBUG=1 to see the details). "
            "Data already ingested was left untouched."
        )
        sys.exit(70)


def _print_error(message: str) -> None:
    """One paragraph on stderr (the terminal wraps it; scripts can grep it)."""
    print("error: " + " ".join(message.split()), file=sys.stderr)


if __name__ == "__main__":
    main()
