"""`gapkit ingest`: get every official source into provenance-stamped Parquet.

Inputs come from one of three places: the agencies' URLs (default), a mirror laid out as
``<host>/<path>`` (a folder or a base URL, ``--mirror``), or local files a person downloaded
(``--from``, scanned recursively; files are recognized by name and content). A file whose sha256 is
already in the manifest (and whose tables are on disk) is not parsed again. A file that fails to
download or parse is reported and leaves everything already ingested untouched.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gapkit.errors import GapkitError, UsageError
from gapkit.ingestion.fetch import Fetched, Fetcher, copy_local, mirror_path, mirror_url
from gapkit.ingestion.readers import sniff
from gapkit.ingestion.sources import SOURCES, all_sources, get_source
from gapkit.ingestion.sources.base import IngestOptions, ParsedTable, Remote, Source
from gapkit.store import Store, check_target, finite_seconds, now_iso, sha256_file

SKIP_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "processed"}
BIG_FILE_BYTES = 64 * 1024 * 1024


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class FileResult:
    source: str
    file: str
    status: str  # parsed | unchanged | not-published | failed
    origin: str = ""
    tables: list[tuple[str, str, int]] = field(default_factory=list)  # (dataset, vintage, rows from this file)
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    unrecognized: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)  # "dataset/vintage" -> rows after merge

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class _Item:
    source: Source
    path: Path  # the file to parse
    origin: str  # URL or local path
    record: dict[str, Any]  # provenance for the manifest
    final: Path | None = None  # where a downloaded file goes once it parsed (None: local file)
    raw_rel: str | None = None
    sha256: str = ""


def parse_sources(names: Sequence[str] | None) -> list[Source]:
    if not names:
        return all_sources()
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise UsageError(f"Unknown source {', '.join(repr(u) for u in unknown)}. Choose from: {', '.join(SOURCES)} (none = all).")
    return [get_source(n) for n in dict.fromkeys(names)]


def ingest(
    sources: Sequence[str] | None = None,
    *,
    from_paths: Sequence[str | os.PathLike[str]] | None = None,
    mirror: str | None = None,
    offline: bool = False,
    force: bool = False,
    options: IngestOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    wait: float = 0.0,
    progress: bool = False,
    fetcher: Fetcher | None = None,
) -> IngestReport:
    """Ingest the selected sources (all when ``sources`` is empty); see the module docstring."""
    selected = parse_sources(sources)
    wait = finite_seconds(wait, "--wait")  # before anything else: a wait that never ends is refused at once
    options = options or IngestOptions()
    store = Store(data_dir)
    report = IngestReport()
    mirror_dir: Path | None = None
    if mirror and not mirror.startswith(("http://", "https://")):
        try:
            mirror_dir = Path(mirror).expanduser().resolve()
            usable = mirror_dir.is_dir()
        except (OSError, RuntimeError):
            usable = False
        if not usable:
            raise UsageError(f"--mirror {mirror}: no such folder. Give a folder laid out as <host>/<path> (like ../shared/mirror) or an http(s) base URL.")
    elif mirror and offline:
        raise UsageError("--offline cannot be combined with an http(s) --mirror; give a mirror folder or drop --offline.")
    if from_paths:
        for p in from_paths:
            path = Path(p).expanduser()
            try:
                if not path.exists():
                    raise UsageError(f"--from {p}: no such file or folder.")
                if not (path.is_file() or path.is_dir()):
                    raise UsageError(f"--from {p}: not a regular file or a folder (a pipe or device cannot be ingested).")
            except OSError as exc:
                raise UsageError(f"--from {p}: the path cannot be used ({exc.strerror or exc}).") from None

    # What to download is settled before anything is fetched: a source that cannot name its files for
    # these options (QCEW without --counties, a source without a fixed URL) stops a run that asked
    # for it by name, and is left out of a run over all sources.
    plans = [] if from_paths else _plan_remotes(selected, options, explicit=bool(sources))
    with store.lock(wait), _Progress(progress) as bar:
        store.sweep_temporary()
        with store.scratch():  # archives are unpacked under the data folder, never the system temporary folder
            if from_paths:
                items = _scan_local(selected, [Path(p).expanduser().resolve() for p in from_paths], report, store)
            else:
                own_fetcher = fetcher is None and not offline and mirror_dir is None
                f = fetcher or (Fetcher() if own_fetcher else None)
                try:
                    items = _collect_remotes(plans, store, report, f, mirror, mirror_dir, offline, force, bar)
                finally:
                    if own_fetcher and f is not None:
                        f.close()
            _parse_and_store(items, store, report, force, bar)
    return report


# -- collecting inputs ------------------------------------------------------------------------
def _scan_local(selected: list[Source], roots: list[Path], report: IngestReport, store: Store) -> list[_Item]:
    everyone = all_sources()
    chosen = {s.name for s in selected}
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            if Path(dirpath).resolve() == store.root or store.root in Path(dirpath).resolve().parents:
                continue
            # regular files only: opening a named pipe (or a device) to sniff it would block forever
            files.extend(f for n in sorted(filenames) if not n.startswith((".", "~$")) and (f := Path(dirpath) / n).is_file())
    items: list[_Item] = []
    for path in files:
        try:
            head = sniff(path)
        except OSError as exc:
            report.results.append(FileResult("?", str(path), "failed", error=f"{path}: cannot be read ({exc.strerror}).", origin=str(path)))
            continue
        owner = next((s for s in everyone if _recognizes(s, path, head)), None)
        if owner is None:
            report.unrecognized.append(str(path))
            continue
        if owner.name not in chosen:
            continue
        record = {"origin": str(path), "file": path.name, "retrieved": now_iso(), "kind": "local"}
        items.append(_Item(owner, path, str(path), record))
    return items


def _recognizes(source: Source, path: Path, head: bytes) -> bool:
    try:
        return bool(source.recognize(path, head))
    except Exception:
        return False


def _plan_remotes(selected: list[Source], options: IngestOptions, explicit: bool) -> list[tuple[Source, list[Remote]]]:
    plans = []
    for source in selected:
        try:
            plans.append((source, source.remotes(options)))
        except UsageError:
            if explicit:
                raise
    return plans


def _collect_remotes(
    plans: list[tuple[Source, list[Remote]]],
    store: Store,
    report: IngestReport,
    fetcher: Fetcher | None,
    mirror: str | None,
    mirror_dir: Path | None,
    offline: bool,
    force: bool,
    bar: _Progress,
) -> list[_Item]:
    items: list[_Item] = []
    for source, remotes in plans:
        for remote in remotes:
            raw_rel = f"{source.name}/{remote.raw_name}"
            final = store.raw_dir / raw_rel
            partial = store.raw_dir / source.name / ".partial" / remote.raw_name
            try:
                # a link planted where the raw copy or its download goes is refused, never followed
                check_target(partial, within=store.root)
                check_target(final, within=store.root)
                got = _fetch_one(source, remote, store, fetcher, mirror, mirror_dir, offline, force, final, partial, raw_rel, bar)
            except GapkitError as exc:
                report.results.append(FileResult(source.name, remote.raw_name, "failed", origin=remote.url, error=exc.message))
                continue
            if got.status == "missing":
                report.results.append(FileResult(source.name, remote.raw_name, "not-published", origin=got.url))
                continue
            record = {
                "origin": remote.url if mirror_dir is None and not mirror else got.url,
                "upstream_url": remote.url,
                "file": remote.raw_name,
                "retrieved": got.retrieved or now_iso(),
                "etag": got.etag,
                "last_modified": got.last_modified,
                "kind": "download" if mirror_dir is None else "mirror",
            }
            if got.status == "not_modified":
                if not final.exists():
                    report.results.append(FileResult(source.name, remote.raw_name, "failed", origin=got.url,
                                                     error=f"{got.url}: server says unchanged but the raw copy {final} is gone; run again with --force."))
                    continue
                old = store.raw_record(raw_rel) or {}
                record.update({k: old.get(k) for k in ("retrieved", "etag", "last_modified") if old.get(k)})
                record["checked"] = now_iso()
                items.append(_Item(source, final, got.url, record, None, raw_rel))
            else:
                assert got.path is not None
                items.append(_Item(source, got.path, got.url, record, final, raw_rel, got.sha256))
    return items


def _fetch_one(
    source: Source,
    remote: Remote,
    store: Store,
    fetcher: Fetcher | None,
    mirror: str | None,
    mirror_dir: Path | None,
    offline: bool,
    force: bool,
    final: Path,
    partial: Path,
    raw_rel: str,
    bar: _Progress,
) -> Fetched:
    if mirror_dir is not None:
        src = mirror_path(mirror_dir, remote.url)
        if not src.is_file():
            if remote.required:
                raise UsageError(f"{remote.url}: not found in the mirror folder {mirror_dir} (looked for {src}). "
                                 "Add the file there, or ingest it with --from PATH.")
            return Fetched("missing", str(src))
        return copy_local(src, partial)
    if offline:
        raise UsageError(f"{remote.url}: --offline is set and no local copy was given. Use --from PATH (files you "
                         "downloaded) or --mirror DIR (a folder laid out as <host>/<path>, like ../shared/mirror).")
    assert fetcher is not None
    url = mirror_url(mirror, remote.url) if mirror else remote.url
    if remote.paged_json:
        from gapkit.ingestion.sources import projections

        with bar.task(f"download {remote.raw_name}", None):
            return fetcher.download_pages(url, partial, page_url=projections.page_url, required=remote.required,
                                          merge=lambda pages, u: projections.merge_pages(pages, _fips_of(remote), u))
    old = store.raw_record(raw_rel) if (final.exists() and not force) else None
    with bar.task(f"download {remote.raw_name}", None) as tick:
        got = fetcher.download(url, partial, etag=(old or {}).get("etag"), last_modified=(old or {}).get("last_modified"),
                               required=remote.required, on_progress=tick)
    return got


def _fips_of(remote: Remote) -> str:
    return Path(remote.raw_name).stem


# -- parsing and storing ----------------------------------------------------------------------
def _parse_one(item: _Item) -> tuple[str, list[ParsedTable] | None, str | None]:
    try:
        sha = item.sha256 or sha256_file(item.path)
    except OSError as exc:
        return "", None, f"{item.path}: cannot be read ({exc.strerror})."
    item.sha256 = sha
    return sha, None, None


def _parse_and_store(items: list[_Item], store: Store, report: IngestReport, force: bool, bar: _Progress) -> None:
    # 1. digests; unchanged files skip parsing entirely
    todo: list[_Item] = []
    for item in items:
        _, _, err = _parse_one(item)
        rel_name = item.raw_rel or item.record["file"]
        if err:
            report.results.append(FileResult(item.source.name, rel_name, "failed", origin=item.origin, error=err))
            continue
        if not force and store.known_sha(item.sha256, item.source.name):
            report.results.append(FileResult(item.source.name, rel_name, "unchanged", origin=item.origin))
            _settle_raw(item, store, keep=True)
            continue
        todo.append(item)

    # 2. parse (two workers: the readers release the GIL for most of their work)
    def work(item: _Item) -> tuple[_Item, list[ParsedTable] | None, str | None]:
        try:
            return item, item.source.parse(item.path, item.origin), None
        except GapkitError as exc:
            return item, None, exc.message
        except Exception as exc:  # a parser bug or a file we could not foresee: report, don't crash
            if os.environ.get("GAPKIT_DEBUG"):
                traceback.print_exc()
            return item, None, f"{item.path}: could not be parsed ({type(exc).__name__}: {str(exc)[:300]}). " \
                               "Check that it is the agency's file; data already ingested was left untouched."

    pending: dict[tuple[str, str], dict[str, tuple[Source, Any, dict[str, Any]]]] = {}
    parsed_items: list[tuple[_Item, FileResult]] = []
    # Small files parse two at a time; a big one (tens of millions of rows) parses alone, after
    # them, so that two large tables are never held in memory at once.
    small = [i for i in todo if _size(i.path) <= BIG_FILE_BYTES]
    big = [i for i in todo if _size(i.path) > BIG_FILE_BYTES]

    def results() -> Any:
        with ThreadPoolExecutor(max_workers=2) as pool:
            yield from pool.map(work, small)
        for item in big:
            yield work(item)

    with bar.task("parse files", len(todo)) as tick:
        for n, (item, tables, err) in enumerate(results(), start=1):
            tick(n, len(todo))
            rel_name = item.raw_rel or item.record["file"]
            if err is not None or tables is None:
                report.results.append(FileResult(item.source.name, rel_name, "failed", origin=item.origin, error=err))
                _settle_raw(item, store, keep=False)
                continue
            res = FileResult(item.source.name, rel_name, "parsed", origin=item.origin)
            rec = {**item.record, "sha256": item.sha256, "bytes": item.path.stat().st_size}
            for t in tables:
                pending.setdefault((t.dataset, t.vintage), {})[t.unit] = (item.source, t.frame, rec)
                res.tables.append((t.dataset, t.vintage, t.frame.height))
                res.notes.extend(t.notes)
            parsed_items.append((item, res))

    # 3. write each dataset vintage once (atomic Parquet + manifest)
    failed_keys: set[tuple[str, str]] = set()
    for (dataset, vintage), units in pending.items():
        source = next(iter(units.values()))[0]
        parts = [(u, frame, rec) for u, (_, frame, rec) in units.items()]
        try:
            report.written[f"{dataset}/{vintage}"] = store.write_table(dataset, vintage, source.name, parts, source.schema(dataset))
        except GapkitError as exc:
            failed_keys.add((dataset, vintage))
            report.results.append(FileResult(source.name, f"{dataset}/{vintage}", "failed", error=exc.message))
        except Exception as exc:
            failed_keys.add((dataset, vintage))
            report.results.append(FileResult(source.name, f"{dataset}/{vintage}", "failed",
                                             error=f"Writing {dataset} {vintage} failed ({type(exc).__name__}: {str(exc)[:300]}); "
                                                   "the previous table was left in place."))
    for item, res in parsed_items:
        ok = not any((d, v) in failed_keys for d, v, _ in res.tables)
        if not ok:
            res.status = "failed"
            bad = ", ".join(f"{d} {v}" for d, v, _ in res.tables if (d, v) in failed_keys)
            res.error = res.error or f"{item.origin}: parsed, but its table ({bad}) could not be written (see above); nothing was changed."
        report.results.append(res)
        if ok:
            store.record_file(item.sha256, item.origin, [f"{d}/{v}" for d, v, _ in res.tables], item.source.name)
        note = _settle_raw(item, store, keep=ok)
        if note:
            res.notes.append(note)
    try:
        store.save_manifest()
    except (GapkitError, OSError) as exc:
        reason = exc.message if isinstance(exc, GapkitError) else (exc.strerror or str(exc))
        report.results.append(FileResult("manifest", store.manifest_path.name, "failed", error=(
            f"{store.manifest_path} could not be saved ({reason}). The tables written above are recorded in it; the "
            "records of the raw copies are not, so the next ingest downloads or reads them again. Free some space "
            "and run the ingest again.")))


def _settle_raw(item: _Item, store: Store, keep: bool) -> str | None:
    """Move a downloaded file into data/raw once its data is stored; drop it otherwise. Returns a note when the
    raw copy could not be kept (its data is stored; the next run downloads it again)."""
    if item.final is None:
        if item.raw_rel and keep:  # a raw copy re-checked with the server (304): same fields as a download
            store.set_raw_record(item.raw_rel, {**item.record, "sha256": item.sha256, "bytes": item.path.stat().st_size})
        return None
    if keep:
        try:
            check_target(item.final, within=store.root)
            item.final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(item.path, item.final)
        except (GapkitError, OSError) as exc:
            with contextlib.suppress(OSError):
                item.path.unlink()
            reason = exc.message if isinstance(exc, GapkitError) else (exc.strerror or str(exc))
            return f"{item.final}: the raw copy could not be kept ({reason}); its data was stored, and the next run downloads it again."
        store.set_raw_record(item.raw_rel or "", {**item.record, "sha256": item.sha256, "bytes": item.final.stat().st_size})
    else:
        with contextlib.suppress(OSError):
            item.path.unlink()
    return None


class _Progress:
    """rich progress bars on stderr when asked for (and a terminal is attached)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            console = Console(stderr=True)
            if console.is_terminal:
                self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                                         console=console, transient=True)
                self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    @contextlib.contextmanager
    def task(self, description: str, total: int | None):  # type: ignore[no-untyped-def]
        if self.progress is None:
            yield lambda done, total=None: None
            return
        tid = self.progress.add_task(description, total=total)

        def tick(done: int, total_: int | None = None) -> None:
            self.progress.update(tid, completed=done, total=total_ if total_ is not None else total)

        try:
            yield tick
        finally:
            self.progress.remove_task(tid)
