"""The data store: data/raw/ (downloads), data/processed/<dataset>/<vintage>.parquet, the manifest.

Every write is atomic (temporary file + ``os.replace`` in the same folder), so a failed or killed
ingest leaves the previous good Parquet and manifest in place. One ingest at a time holds an
exclusive lock on ``data/.gapkit.lock``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapkit import __version__
from gapkit.errors import GapkitError, LockedError, MissingDataError, UsageError

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

ENV_DATA_DIR = "GAPKIT_DATA_DIR"
MANIFEST = "manifest.json"
UNIT_COLUMN = "source_unit"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    if data_dir:
        given, label = Path(data_dir), f"--data-dir {data_dir}"
    elif os.environ.get(ENV_DATA_DIR):
        given, label = Path(os.environ[ENV_DATA_DIR]), f"{ENV_DATA_DIR}={os.environ[ENV_DATA_DIR]}"
    else:
        given, label = Path.cwd() / "data", "the data folder ./data"
    try:
        return given.expanduser().resolve()
    except (RuntimeError, OSError) as exc:  # a symbolic link loop (RuntimeError before Python 3.13), a name too long
        reason = "a symbolic link loop" if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP \
            else (exc.strerror or str(exc))
        raise UsageError(f"{label}: the path cannot be used ({reason}). Give --data-dir (or {ENV_DATA_DIR}) an existing "
                         "folder or a new folder's name; nothing was changed.") from None


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- files gapkit writes and reads: never through a symbolic link, never a pipe or a device -----------
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"),
          (stat.S_ISREG, "a regular file"))


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, for messages."""
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


class UnsafePathError(GapkitError):
    """gapkit was about to write (or read its own file) through a symbolic link, or into a pipe or device."""


def _refusal(path: Path, mode: int, label: str | None, writing: bool) -> UnsafePathError:
    what = label or str(path)
    if stat.S_ISLNK(mode):
        try:
            target = f" (pointing to {os.readlink(path)})"
        except OSError:
            target = ""
        if label and label.startswith("--"):
            return UnsafePathError(
                f"{what} is a symbolic link{target}. gapkit never writes through a link or replaces one (it could "
                "overwrite a file anywhere on the machine): give the real path of the file, or another name; nothing "
                "was written.")
        return UnsafePathError(
            f"{what} is a symbolic link{target} where gapkit keeps a file of its own. gapkit never "
            f"{'writes' if writing else 'reads its own files'} through a link (it could overwrite a file anywhere on the "
            "machine): remove the link and run again; nothing was changed.")
    kind = kind_of(mode)
    if label and label.startswith("--"):
        return UnsafePathError(
            f"{what} is {kind}, not a regular file; gapkit writes only regular files it can replace atomically. To send "
            f"the output there, leave out the option and redirect it (`> {path}`); nothing was written.")
    return UnsafePathError(
        f"{what} is {kind} where gapkit keeps a regular file of its own; gapkit never opens it (reading a pipe "
        "would hang, writing a device would destroy it). Remove it and run again; nothing was changed.")


def check_target(path: Path, label: str | None = None, *, within: Path | None = None, writing: bool = True) -> None:
    """Refuse ``path`` when it is a symbolic link, or exists and is neither a regular file nor a folder (a
    folder is left to the caller, whose error says "Is a directory"). With ``within`` (gapkit's own folder,
    e.g. the data folder), every folder between it and ``path`` must be a real folder, not a link.

    Raises :class:`UnsafePathError` (one paragraph naming the path); a name too long is a UsageError.
    """
    try:
        if within is not None:
            try:
                rel = path.relative_to(within)
            except ValueError:
                rel = None
            cur = within
            for part in (rel.parts[:-1] if rel is not None else ()):
                cur = cur / part
                try:
                    st = os.lstat(cur)
                except FileNotFoundError:
                    break  # created later by gapkit itself (mkdir), a real folder
                if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
                    raise _refusal(cur, st.st_mode, None, writing)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
    except OSError as exc:
        raise UsageError(f"{label or path}: the path cannot be used ({exc.strerror or exc}); choose a shorter or valid "
                         "path; nothing was changed.") from None
    if stat.S_ISLNK(st.st_mode) or not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise _refusal(path, st.st_mode, label, writing)


def check_regular_file(path: Path, label: str | None = None, *, within: Path | None = None) -> bool:
    """True when ``path`` is a regular file gapkit may read (False when it does not exist); a link, pipe,
    device or socket is refused before anything opens it (opening a pipe blocks forever)."""
    check_target(path, label, within=within, writing=False)
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
    except OSError:
        return False


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[Any]:
    """Open a file for reading only if it is a regular file: O_NOFOLLOW is not used (readers of user files
    may follow links), but O_NONBLOCK makes a pipe return at once and the fstat check refuses it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({kind_of(st.st_mode)})", str(path))
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def temp_name(path: Path, suffix: str = ".tmp") -> Path:
    """A short, unpredictable sibling name for a temporary file (``.<first 24 chars of the name>.<8 hex><suffix>``):
    a legal 250-character file name never gets a temporary name past the 255-byte limit."""
    stem = path.name[:24]
    return path.with_name(f".{stem}.{secrets.token_hex(4)}{suffix}")


def create_new(path: Path, mode: int = 0o600) -> Any:
    """A new file opened for writing: fails if anything (a planted link included) is already there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    return os.fdopen(fd, "wb")


def open_for_write(path: Path) -> Any:
    """Open (create or truncate) ``path`` for writing, refusing a symbolic link (O_NOFOLLOW) and anything that is
    not a regular file (O_NONBLOCK so a pipe does not block; fstat refuses it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except OSError:
        try:  # a link (ELOOP) or a pipe without a reader (ENXIO): say what is there
            st = os.lstat(path)
        except OSError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            raise _refusal(path, st.st_mode, None, True) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refusal(path, st.st_mode, None, True)
        os.set_blocking(fd, True)
        os.ftruncate(fd, 0)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, within: Path | None = None, label: str | None = None,
                       mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically (a short temporary sibling, fsync, rename).

    A symbolic link or special file at ``path`` is refused (:class:`UnsafePathError`), and with ``within`` so is
    a link anywhere between that folder and ``path``: the rename would otherwise replace a link the user
    placed, and a folder that is a link would send the file elsewhere. OS errors (no space, read-only...)
    propagate as OSError after the temporary file is removed. ``mode`` is the new file's permissions before the
    umask (0o600: the store's own files; documents the user asked for pass 0o666, rw-r--r-- under the usual umask).
    """
    check_target(path, label, within=within)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        with create_new(tmp, mode) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def finite_seconds(value: float, option: str, *, maximum: float = 7 * 86400) -> float:
    """A waiting time from the command line: a finite number of seconds between 0 and ``maximum`` (a week)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or v < 0 or v > maximum:
        raise UsageError(f"{option} {value}: give a number of seconds from 0 to {maximum:,.0f} (a week); "
                         "nothing was changed.")
    return v


# The scratch folder of the running ingest (``<data folder>/tmp``, swept under the lock): sources unpack
# archive members there instead of the system temporary folder, so a killed ingest leaves nothing behind
# that the next one does not remove.
_SCRATCH: list[Path] = []


def scratch_dir() -> Path | None:
    """Where a source may create temporary folders now (None outside an ingest: the system default)."""
    return _SCRATCH[-1] if _SCRATCH else None


def _reason(exc: BaseException) -> str:
    """An OS or library error in a few words (``No space left on device``)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, GapkitError):
        return exc.message
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def vintage_sort_key(vintage: str) -> tuple[int, str]:
    digits = "".join(ch for ch in vintage[:4] if ch.isdigit())
    return (int(digits) if digits else -1, vintage)


@dataclass
class DatasetEntry:
    dataset: str
    vintage: str
    source: str
    rows: int
    path: str
    updated: str
    inputs: dict[str, dict[str, Any]]

    @classmethod
    def from_record(cls, rec: Any) -> DatasetEntry | None:
        """The entry of a manifest record, or None when the record is unusable (a key missing or of the wrong
        type: damage from outside, or a run killed by an older gapkit). Keys a newer gapkit added are ignored.
        An unusable entry is rewritten by the next ingest of its source (its files count as not yet parsed)."""
        if not isinstance(rec, dict):
            return None
        kinds = {"dataset": str, "vintage": str, "source": str, "rows": int, "path": str, "updated": str, "inputs": dict}
        if not all(isinstance(rec.get(k), t) for k, t in kinds.items()) or isinstance(rec["rows"], bool):
            return None
        inputs = {str(u): i for u, i in rec["inputs"].items() if isinstance(i, dict)}
        return cls(**{k: rec[k] for k in kinds if k != "inputs"}, inputs=inputs)

    @property
    def sha256(self) -> str:
        """The raw file's sha256, or for a table built from many files a digest of their digests."""
        shas = sorted({str(i.get("sha256") or "") for i in self.inputs.values()})
        if len(shas) == 1:
            return shas[0]
        return hashlib.sha256("".join(shas).encode()).hexdigest()

    @property
    def retrieved(self) -> str:
        return max((str(i.get("retrieved") or "") for i in self.inputs.values()), default="")

    @property
    def origins(self) -> list[str]:
        return sorted({str(i.get("origin", "")) for i in self.inputs.values()})


class Store:
    """A gapkit data directory."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_data_dir(data_dir)
        self.raw_dir = self.root / "raw"
        self.processed_dir = self.root / "processed"
        self.manifest_path = self.root / MANIFEST
        self.lock_path = self.root / ".gapkit.lock"
        self._manifest: dict[str, Any] | None = None
        self._dirty = False
        self._readable: dict[Path, bool] = {}

    # -- manifest -------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            try:
                if check_regular_file(self.manifest_path, within=self.root):
                    text = self._read_own(self.manifest_path)
                elif os.path.lexists(self.manifest_path):  # a folder (links, pipes and devices were refused above)
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self.manifest_path))
                else:
                    text = b"{}"
            except GapkitError:
                raise
            except OSError as exc:
                raise GapkitError(f"{self.manifest_path} cannot be read ({exc.strerror or exc}); gapkit keeps its record of "
                                  "every ingested table there. Fix or remove it; nothing was changed.") from None
            try:
                loaded = json.loads(text)
                if not isinstance(loaded, dict) or not all(isinstance(loaded.get(k, {}), dict) for k in ("datasets", "raw", "files")):
                    raise ValueError
            except (ValueError, UnicodeDecodeError, RecursionError):
                # A manifest is only ever replaced atomically, so this is outside damage. Never
                # overwrite it silently: the tables' provenance would be lost without a word.
                raise GapkitError(
                    f"{self.manifest_path} is damaged (it is not the JSON manifest gapkit writes); nothing was changed. "
                    "Move it aside (e.g. to manifest.json.bad) and run the ingest again: gapkit starts a new manifest and "
                    "keeps every table already in processed/, re-recording the provenance of the files it ingests."
                ) from None
            self._manifest = loaded
            self._manifest.setdefault("datasets", {})
            self._manifest.setdefault("raw", {})
            self._manifest.setdefault("files", {})
            for part in ("raw", "files"):  # records that are not objects say nothing: dropped at the next save
                for k in [k for k, v in self._manifest[part].items() if not isinstance(v, dict)]:
                    del self._manifest[part][k]
        return self._manifest

    MAX_MANIFEST_BYTES = 512 * 1024 * 1024

    def _read_own(self, path: Path) -> bytes:
        """A file of gapkit's own (the manifest), read with a bound: a regular file only, at most 512 MB."""
        with open_regular(path) as fh:
            data = fh.read(self.MAX_MANIFEST_BYTES + 1)
        if len(data) > self.MAX_MANIFEST_BYTES:
            raise GapkitError(f"{path} is larger than {self.MAX_MANIFEST_BYTES // 2**20} MB, far beyond any manifest gapkit "
                              "writes; it is damaged. Move it aside and run the ingest again; nothing was changed.")
        return data

    def manifest_bytes(self) -> bytes | None:
        """The manifest's bytes (for cache keys), or None when there is none or it cannot be read safely."""
        try:
            if not check_regular_file(self.manifest_path, within=self.root):
                return None
            return self._read_own(self.manifest_path)
        except (GapkitError, OSError):
            return None

    def save_manifest(self, force: bool = False) -> None:
        """Write the manifest atomically, only when something in it changed."""
        if not (self._dirty or force):
            return
        self._dirty = False
        m = self.manifest()
        m["gapkit_version"] = __version__
        m["updated"] = now_iso()
        try:
            atomic_write_bytes(self.manifest_path, json.dumps(m, indent=1, sort_keys=True).encode(), within=self.root)
        except BaseException:
            self._dirty = True  # still unsaved
            raise

    def entries(self) -> list[DatasetEntry]:
        """The usable dataset entries (see :meth:`DatasetEntry.from_record`)."""
        out = [e for rec in self.manifest()["datasets"].values() if (e := DatasetEntry.from_record(rec)) is not None]
        return sorted(out, key=lambda e: (e.source, e.dataset, vintage_sort_key(e.vintage)))

    def entry(self, dataset: str, vintage: str) -> DatasetEntry | None:
        return DatasetEntry.from_record(self.manifest()["datasets"].get(f"{dataset}/{vintage}"))

    def known_sha(self, sha256: str, source: str | None = None) -> bool:
        """True when a file with this digest was parsed and every table it fed is still on disk.

        A file whose rows were later replaced by another file of the same unit (e.g. the same
        state's projections as CSV and as JSON) still counts as parsed: it is not parsed again.
        """
        rec = self.manifest()["files"].get(sha256)
        if not isinstance(rec, dict) or (source is not None and rec.get("source", source) != source):
            return False
        outputs = rec.get("outputs")
        if not isinstance(outputs, list) or not all(isinstance(k, str) for k in outputs):
            return False  # an incomplete record: parse the file again, which rewrites it
        datasets = self.manifest()["datasets"]
        for key in outputs:
            e = DatasetEntry.from_record(datasets.get(key))
            if e is None or not self.table_readable(self.root / e.path):
                return False
        return True

    def table_readable(self, path: Path) -> bool:
        """The Parquet file exists and its footer reads (memoized; damage from outside is caught here)."""
        if path not in self._readable:
            import polars as pl

            try:
                # a link, pipe or device where a table belongs is refused before anything opens it
                self._readable[path] = check_regular_file(path, within=self.root)
                if self._readable[path]:
                    pl.read_parquet_schema(path)
            except UnsafePathError:
                self._readable[path] = False
            except Exception:
                self._readable[path] = False
        return self._readable[path]

    def record_file(self, sha256: str, origin: str, outputs: list[str], source: str) -> None:
        self.manifest()["files"][sha256] = {"origin": origin, "source": source, "outputs": sorted(set(outputs)), "parsed": now_iso()}
        self._dirty = True

    def raw_record(self, rel: str) -> dict[str, Any] | None:
        rec = self.manifest()["raw"].get(rel)
        return rec if isinstance(rec, dict) else None

    def set_raw_record(self, rel: str, record: dict[str, Any]) -> None:
        self.manifest()["raw"][rel] = record
        self._dirty = True

    # -- tables ---------------------------------------------------------------------------------
    def table_path(self, dataset: str, vintage: str) -> Path:
        return self.processed_dir / dataset / f"{vintage}.parquet"

    def vintages(self, dataset: str) -> list[str]:
        d = self.processed_dir / dataset
        if not d.is_dir():
            return []
        return sorted((p.stem for p in d.glob("*.parquet") if not p.name.startswith(".")), key=vintage_sort_key)

    def write_table(
        self,
        dataset: str,
        vintage: str,
        source: str,
        parts: list[tuple[str, pl.DataFrame, dict[str, Any]]],
        schema: pa.Schema,
    ) -> int:
        """Merge ``parts`` ((unit, frame, input record)) into the dataset vintage; returns its rows.

        Rows of units being written replace the stored rows of the same units; other units stay.
        The Parquet file and then the manifest entry are replaced atomically.
        """
        import polars as pl
        import pyarrow as pa

        # Provenance columns repeat one value per file: keep them dictionary-encoded in memory and in
        # the Parquet file (readers see strings / categoricals), so a 15-million-row table does not
        # carry two 15-million-string columns.
        full_schema = schema.append(pa.field(UNIT_COLUMN, pa.string()))
        dict_cols = [c for c in ("source_file", UNIT_COLUMN) if c in full_schema.names]
        for c in dict_cols:
            full_schema = full_schema.set(full_schema.get_field_index(c), pa.field(c, pa.dictionary(pa.int32(), pa.string())))
        units = [u for u, _, _ in parts]
        new = [f.with_columns(pl.lit(u).alias(UNIT_COLUMN)) for u, f, _ in parts]
        new = [f.with_columns(pl.col(c).cast(pl.Categorical) for c in ("source_file", UNIT_COLUMN) if c in f.columns) for f in new]
        path = self.table_path(dataset, vintage)
        key = f"{dataset}/{vintage}"
        check_target(path, within=self.root)  # a link or pipe where the table belongs: refused, never followed
        raw_old_entry = self.manifest()["datasets"].get(key)
        old = DatasetEntry.from_record(raw_old_entry)
        old_entry = {"inputs": old.inputs} if old is not None else None
        frames: list[pl.DataFrame] = []
        inputs: dict[str, dict[str, Any]] = {}
        # Other units' rows stay, also when the manifest has no entry for this table (a new manifest
        # after outside damage, or a run killed between the Parquet and the manifest write). When every
        # unit the manifest knows is being rewritten, the old table is not needed at all.
        if path.exists() and not (old_entry and set(old_entry["inputs"]) <= set(units)):
            try:
                old = pl.read_parquet(path)
            except Exception as exc:
                raise GapkitError(
                    f"{path} is damaged ({str(exc).splitlines()[0][:120]}), so the rows of its other files cannot be kept. "
                    f"Delete it and run `gapkit ingest --force {source}` to rebuild it; nothing was changed."
                ) from None
            if UNIT_COLUMN in old.columns:
                kept = old.filter(~pl.col(UNIT_COLUMN).cast(pl.String).is_in(units))
                frames.append(kept.with_columns(pl.col(c).cast(pl.Categorical) for c in ("source_file", UNIT_COLUMN) if c in kept.columns))
                known = (old_entry or {}).get("inputs", {})
                for u in kept.get_column(UNIT_COLUMN).cast(pl.String).unique().sort().to_list():
                    inputs[u] = known.get(u) or {"origin": "(kept from the stored table; its provenance was not in the manifest)",
                                                 "sha256": "", "retrieved": ""}
        frames.extend(new)
        table = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
        # Enforce the declared schema in polars and let polars write the file: no Arrow copy of a
        # table that may be tens of millions of rows.
        target = pl.from_arrow(full_schema.empty_table()).schema
        table = table.select(full_schema.names).cast(dict(target))  # type: ignore[arg-type]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._readable.pop(path, None)
        tmp = temp_name(path, ".parquet.tmp")
        backup = temp_name(path, ".parquet.prev.tmp")
        had_old = path.exists()
        try:
            try:
                create_new(tmp).close()
                table.write_parquet(tmp, compression="zstd")
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                if had_old:  # the previous table, put back if the manifest cannot be saved
                    try:
                        os.link(path, backup)
                    except OSError:  # a file system without hard links
                        shutil.copyfile(path, backup)
                os.replace(tmp, path)
            except Exception as exc:
                raise GapkitError(f"Writing {path} failed ({_reason(exc)}); the previous table was left in place and the "
                                  "manifest was not changed.") from None
        except BaseException:
            for leftover in (tmp, backup):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)
            raise
        for u, f, rec in parts:
            inputs[u] = {**rec, "rows": f.height}
        datasets = self.manifest()["datasets"]
        datasets[key] = {
            "dataset": dataset,
            "vintage": vintage,
            "source": source,
            "rows": table.height,
            "path": str(path.relative_to(self.root)),
            "updated": now_iso(),
            "inputs": inputs,
        }
        self._dirty = True
        try:
            self.save_manifest()
        except BaseException as exc:
            # The table and its manifest entry change together or not at all: put the previous table back
            # (or remove the new one) and forget the new entry.
            with contextlib.suppress(OSError):
                if had_old:
                    os.replace(backup, path)
                else:
                    os.unlink(path)
            if raw_old_entry is None:
                datasets.pop(key, None)
            else:
                datasets[key] = raw_old_entry
            self._readable.pop(path, None)
            if isinstance(exc, Exception):
                raise GapkitError(f"The manifest {self.manifest_path} could not be saved ({_reason(exc)}), so the new "
                                  f"{dataset} {vintage} table was not kept: the previous table and manifest were left in "
                                  "place. Free some space (or make the data folder writable) and run the ingest again."
                                  ) from None
            raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(backup)
        return table.height

    def scan(self, dataset: str, vintage: str | None = None) -> pl.LazyFrame:
        """A lazy frame over one vintage of a dataset (newest when ``vintage`` is None)."""
        import polars as pl

        from gapkit.ingestion.sources import DATASET_SOURCE

        available = self.vintages(dataset)
        hint = f"gapkit ingest {DATASET_SOURCE.get(dataset, '')}".strip()
        if not available:
            raise MissingDataError(dataset, hint)
        if vintage is None:
            vintage = available[-1]
        elif vintage not in available:
            raise MissingDataError(dataset, hint + f" (ingested vintages: {', '.join(available)})", vintage)
        path = self.table_path(dataset, vintage)
        check_target(path, within=self.root, writing=False)  # a link or pipe: named, never opened
        if not self.table_readable(path):
            raise GapkitError(f"{path} is damaged (not a readable Parquet file; changed outside gapkit?). Run `{hint}` "
                              "again to rebuild it (add --force if it says unchanged).")
        return pl.scan_parquet(path)

    # -- lock -----------------------------------------------------------------------------------
    def sweep_temporary(self) -> None:
        """Remove what a killed ingest left behind: temporary Parquet/manifest/cache files, partial downloads and
        the scratch folder's contents. Links are removed as links, never followed.

        Only called with the lock held: no other writer can be using them.
        """
        def entries(folder: Path) -> list[os.DirEntry[str]]:
            if not _real_dir(folder):
                return []
            with contextlib.suppress(OSError), os.scandir(folder) as it:
                return list(it)
            return []

        def remove(e: os.DirEntry[str]) -> None:
            with contextlib.suppress(OSError):
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path)
                else:
                    os.unlink(e.path)

        for e in entries(self.root):
            if e.name.startswith(f".{MANIFEST}.") and e.name.endswith(".tmp"):
                remove(e)
        own = [Path(d.path) for d in entries(self.processed_dir) if d.is_dir(follow_symlinks=False)]
        own.append(self.root / "cache" / "results")
        for folder in own:
            for e in entries(folder):
                if e.name.startswith(".") and e.name.endswith(".tmp"):
                    remove(e)
        for d in entries(self.raw_dir):
            if d.is_dir(follow_symlinks=False):
                for e in entries(Path(d.path) / ".partial"):
                    remove(e)
        for e in entries(self.scratch_path):
            remove(e)

    @property
    def scratch_path(self) -> Path:
        return self.root / "tmp"

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        """Make ``<data folder>/tmp`` the place sources unpack archives into (see :func:`scratch_dir`) while an
        ingest runs; an empty scratch folder is removed afterwards. Only used with the lock held."""
        d = self.scratch_path
        check_target(d, within=self.root)
        try:
            d.mkdir(exist_ok=True)
        except OSError as exc:
            raise GapkitError(f"{d}: gapkit's scratch folder cannot be created ({exc.strerror or exc}); remove what is "
                              "there and run again; nothing was changed.") from None
        _SCRATCH.append(d)
        try:
            yield d
        finally:
            _SCRATCH.remove(d)
            with contextlib.suppress(OSError):
                d.rmdir()

    @contextlib.contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        wait = finite_seconds(wait, "--wait")
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"The data folder {self.root} is a file, not a folder; give --data-dir (or GAPKIT_DATA_DIR) a folder.")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"Cannot use the data folder {self.root}: {exc.strerror or exc} ({exc.filename or self.root}). "
                             "Give --data-dir a writable folder; nothing was changed.") from None
        check_target(self.lock_path, within=self.root)  # a planted link would have its target truncated
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise _refusal(self.lock_path, st.st_mode, None, True)
                os.set_blocking(fd, True)
                fh = os.fdopen(fd, "r+")
            except BaseException:
                os.close(fd)
                raise
        except OSError as exc:
            raise UsageError(f"Cannot use the data folder {self.root}: {exc.strerror or exc} ({exc.filename or self.lock_path}). "
                             "Give --data-dir a writable folder; nothing was changed.") from None
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        fh.seek(0)
                        holder = " ".join(fh.read(200).split()) or "another process"
                        raise LockedError(
                            f"Another gapkit ingest ({holder}) is writing to {self.root}. Wait for it to finish, "
                            "or pass --wait SECONDS to queue behind it; nothing was changed."
                        ) from None
                    time.sleep(min(0.2, max(0.0, deadline - time.monotonic())) or 0.01)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} since {now_iso()}")
            fh.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def load(dataset: str, vintage: str | None = None, data_dir: str | os.PathLike[str] | None = None) -> pl.LazyFrame:
    """Library entry point: a lazy frame over an ingested dataset (newest vintage by default)."""
    return Store(data_dir).scan(dataset, vintage)
