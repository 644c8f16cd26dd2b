"""The `gapkit` command line: a thin layer over the library API.

Each command imports what it needs inside its body, so ``gapkit --help`` and commands that do not
compute stay fast (no polars, no matplotlib at start-up).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from gapkit.errors import GapkitError

APP_SETTINGS: dict[str, Any] = {
    "name": "gapkit",
    "help": "Labor-market skills-gap analysis from official public data: openings (BLS, Projections Central) "
    "vs completions (IPEDS), by sector, occupation and state.",
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
    "add_completion": False,
    "rich_markup_mode": None,
}
app = typer.Typer(**APP_SETTINGS)

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
    xlsx = "xlsx"


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


_registered: list[str] = []


def _register_optional_commands() -> None:
    """Commands that live in their own modules (imported lazily by name, not at start-up), added to the whole app once
    per process (main() is called many times by tests and notebooks)."""
    import importlib

    for module in dict.fromkeys(COMMAND_MODULES.values()):
        if module in _registered:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(app)
        _registered.append(module)


class Terminated(BaseException):
    """SIGTERM (a cron timeout, `kill`, a container stopping): raised in the main thread so that every
    ``finally`` and cleanup handler runs (temporary files and folders are removed) before gapkit exits."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


class _ClosedOutput(io.TextIOBase):
    """Stands in for standard output when the process started with it closed (``>&-``): writing the result
    is one clear error instead of a crash; file descriptor 1 itself is parked on /dev/null so that no file
    gapkit opens later can land on it."""

    gapkit_closed = True
    encoding = "utf-8"

    def write(self, s: str) -> int:
        from gapkit.render.tables import write_stdout

        write_stdout(s.encode())  # raises the clear error
        return 0

    def isatty(self) -> bool:
        return False

    @property
    def buffer(self) -> _ClosedOutput:
        return self


class _GuardedOutput:
    """Standard output whose write errors (a full disk behind ``> file``, an I/O error) are one clear error
    naming standard output, whatever prints (tables, rich, print)."""

    def __init__(self, inner: Any, binary: bool = False) -> None:
        self._inner = inner
        self._binary = binary

    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            from gapkit.render.tables import OutputError

            raise OutputError(f"The result could not be written to standard output ({exc.strerror or exc}); if it "
                              "goes to a file, free some space on its disk, or give --out FILE elsewhere.") from None

    def write(self, s: Any) -> Any:
        return self._guard(self._inner.write, s)

    def flush(self) -> None:
        self._guard(self._inner.flush)

    @property
    def buffer(self) -> _GuardedOutput:
        return _GuardedOutput(self._inner.buffer, binary=True) if not self._binary else self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _prepare_process(own_process: bool = True) -> Any:
    """Standard streams that work whatever the caller gave (closed, full, or a non-UTF-8 locale), and (when gapkit
    is the process, not a call inside a notebook or a test run) SIGTERM that cleans up. Returns a function that
    puts back what it changed."""
    import signal

    saved = (sys.stdout, sys.stderr)
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:  # closed by the caller: park /dev/null there
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if fd == 1:
                sys.stdout = _ClosedOutput()
            elif fd == 2:
                sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    for stream in (sys.stdout, sys.stderr):
        # a terminal or locale that cannot show a character (ISO-8859-1, C) gets '?' instead of a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="replace")
    if sys.stdout is not None and not getattr(sys.stdout, "gapkit_closed", False):
        sys.stdout = _GuardedOutput(sys.stdout)  # type: ignore[assignment]
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if own_process and on_main_thread else None

    def restore() -> None:
        sys.stdout, sys.stderr = saved
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return restore


def run_guarded(fn: Any, *args: Any, own_process: bool = True, **kwargs: Any) -> Any:
    """Run a command: a GapkitError is one paragraph and its exit code, an OS error (no space, a path that
    cannot be used) one paragraph and exit 1, SIGTERM a clean stop (``own_process``: gapkit is the process,
    started from the command line); an unexpected error is still one paragraph (exit 70), with the traceback
    only when GAPKIT_DEBUG=1."""
    restore = _prepare_process(own_process)
    try:
        result = fn(*args, **kwargs)
        if sys.stdout is not None:
            sys.stdout.flush()  # here, not at exit: a full disk is reported like any other error
        return result
    except GapkitError as exc:
        _print_error(exc.message)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _print_error("Interrupted; data already ingested was left untouched.")
        sys.exit(130)
    except Terminated:
        _print_error("Stopped by SIGTERM; temporary files were removed and data already ingested was left untouched.")
        sys.exit(143)
    except BrokenPipeError:
        os._exit(0)
    except OSError as exc:  # the environment, not gapkit: a full disk, a read-only folder, a path too long
        if os.environ.get("GAPKIT_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        _print_error(f"{where}{exc.strerror or exc} (errno {exc.errno}). gapkit could not finish; check the path, the "
                     "free disk space and the permissions, then run the command again. Data already ingested was left "
                     "untouched.")
        sys.exit(1)
    except Exception as exc:  # a bug: still one paragraph, never a traceback (GAPKIT_DEBUG=1 shows it)
        if os.environ.get("GAPKIT_DEBUG"):
            raise
        _print_error(
            f"gapkit hit an unexpected error ({type(exc).__name__}: {str(exc)[:300]}). This is a bug in gapkit, not in "
            "your data: please report it with the command you ran (set GAPKIT_DEBUG=1 to see the details). "
            "Data already ingested was left untouched."
        )
        sys.exit(70)
    finally:
        restore()


# The module of each command that lives outside this one (a command added to a module's register() is listed here;
# a test checks that the two agree).
COMMAND_MODULES = {"gap": "gapkit.cli.analysis", "regions": "gapkit.cli.analysis", "sectors": "gapkit.cli.analysis",
                   "occupation": "gapkit.cli.analysis", "chart": "gapkit.cli.reports", "report": "gapkit.cli.reports",
                   "pathways": "gapkit.cli.pathways", "programs": "gapkit.cli.pathways", "clusters": "gapkit.cli.pathways",
                   "find": "gapkit.cli.find"}


def _command_name(info: Any) -> str:
    return str(info.name or info.callback.__name__.lower().replace("_", "-"))


def _app_for(argv: list[str]) -> typer.Typer:
    """The app that runs ``argv``. With a command's name first, an app holding that command alone: typer builds
    every registered command's parser from its signature at each start (about 30 ms with their modules' imports, more
    than a cached answer takes), so only the one asked for is built and imported. Anything else (no command, an
    option such as --help, a misspelt name) gets the whole app: its help lists every command and its errors suggest
    the nearest."""
    name = argv[0] if argv else ""
    module = COMMAND_MODULES.get(name)
    if module is None and name not in {_command_name(c) for c in app.registered_commands}:
        _register_optional_commands()
        return app
    holder = app
    if module is not None:
        import importlib

        holder = typer.Typer()
        importlib.import_module(module).register(holder)
    one = typer.Typer(**APP_SETTINGS)
    one.callback()(_no_options)  # a group of one command: `gapkit NAME ...` is parsed exactly as by the whole app
    one.registered_commands = [c for c in holder.registered_commands if _command_name(c) == name]
    one.registered_groups = [g for g in holder.registered_groups if g.name == name]
    return one


def _no_options() -> None:
    """gapkit: labor-market skills-gap analysis from official public data."""


def main(argv: list[str] | None = None) -> Any:
    """The `gapkit` command. Called with ``argv`` (a test, a notebook), SIGTERM keeps the caller's handling."""
    def run() -> Any:
        args = list(sys.argv[1:] if argv is None else argv)
        return _app_for(args)(args=args, standalone_mode=True)

    return run_guarded(run, own_process=argv is None)


def _print_error(message: str) -> None:
    """One paragraph on stderr (the terminal wraps it; scripts can grep it); no control characters."""
    from gapkit.render.tables import terminal_text

    with contextlib.suppress(OSError, ValueError):  # stderr itself is gone: the exit code still says it
        print("error: " + " ".join(terminal_text(message).split()), file=sys.stderr)


if __name__ == "__main__":
    main()
