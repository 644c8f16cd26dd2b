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
import os
import tempfile
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
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get(ENV_DATA_DIR)
    return Path(env).expanduser().resolve() if env else (Path.cwd() / "data").resolve()


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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

    @property
    def sha256(self) -> str:
        """The raw file's sha256, or for a table built from many files a digest of their digests."""
        shas = sorted({i["sha256"] for i in self.inputs.values()})
        if len(shas) == 1:
            return shas[0]
        return hashlib.sha256("".join(shas).encode()).hexdigest()

    @property
    def retrieved(self) -> str:
        return max((i.get("retrieved") or "" for i in self.inputs.values()), default="")

    @property
    def origins(self) -> list[str]:
        return sorted({i.get("origin", "") for i in self.inputs.values()})


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
                text = self.manifest_path.read_bytes()
            except FileNotFoundError:
                text = b"{}"
            except OSError as exc:
                raise GapkitError(f"{self.manifest_path} cannot be read ({exc.strerror or exc}); gapkit keeps its record of "
                                  "every ingested table there. Fix or remove it; nothing was changed.") from None
            try:
                loaded = json.loads(text)
                if not isinstance(loaded, dict) or not all(isinstance(loaded.get(k, {}), dict) for k in ("datasets", "raw", "files")):
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
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
        return self._manifest

    def save_manifest(self, force: bool = False) -> None:
        """Write the manifest atomically, only when something in it changed."""
        if not (self._dirty or force):
            return
        self._dirty = False
        m = self.manifest()
        m["gapkit_version"] = __version__
        m["updated"] = now_iso()
        atomic_write_bytes(self.manifest_path, json.dumps(m, indent=1, sort_keys=True).encode())

    def entries(self) -> list[DatasetEntry]:
        out = [DatasetEntry(**e) for e in self.manifest()["datasets"].values()]
        return sorted(out, key=lambda e: (e.source, e.dataset, vintage_sort_key(e.vintage)))

    def entry(self, dataset: str, vintage: str) -> DatasetEntry | None:
        e = self.manifest()["datasets"].get(f"{dataset}/{vintage}")
        return DatasetEntry(**e) if e else None

    def known_sha(self, sha256: str, source: str | None = None) -> bool:
        """True when a file with this digest was parsed and every table it fed is still on disk.

        A file whose rows were later replaced by another file of the same unit (e.g. the same
        state's projections as CSV and as JSON) still counts as parsed: it is not parsed again.
        """
        rec = self.manifest()["files"].get(sha256)
        if not rec or (source is not None and rec.get("source", source) != source):
            return False
        datasets = self.manifest()["datasets"]
        for key in rec["outputs"]:
            e = datasets.get(key)
            if e is None or not self.table_readable(self.root / e["path"]):
                return False
        return True

    def table_readable(self, path: Path) -> bool:
        """The Parquet file exists and its footer reads (memoized; damage from outside is caught here)."""
        if path not in self._readable:
            import polars as pl

            try:
                pl.read_parquet_schema(path)
                self._readable[path] = True
            except Exception:
                self._readable[path] = False
        return self._readable[path]

    def record_file(self, sha256: str, origin: str, outputs: list[str], source: str) -> None:
        self.manifest()["files"][sha256] = {"origin": origin, "source": source, "outputs": sorted(set(outputs)), "parsed": now_iso()}
        self._dirty = True

    def raw_record(self, rel: str) -> dict[str, Any] | None:
        return self.manifest()["raw"].get(rel)

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
        old_entry = self.manifest()["datasets"].get(key)
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
        fd, tmp = tempfile.mkstemp(prefix=f".{vintage}.", suffix=".parquet.tmp", dir=path.parent)
        os.close(fd)
        try:
            table.write_parquet(tmp, compression="zstd")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        for u, f, rec in parts:
            inputs[u] = {**rec, "rows": f.height}
        self.manifest()["datasets"][key] = {
            "dataset": dataset,
            "vintage": vintage,
            "source": source,
            "rows": table.height,
            "path": str(path.relative_to(self.root)),
            "updated": now_iso(),
            "inputs": inputs,
        }
        self._dirty = True
        self.save_manifest()
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
        if not self.table_readable(path):
            raise GapkitError(f"{path} is damaged (not a readable Parquet file; changed outside gapkit?). Run `{hint}` "
                              "again to rebuild it (add --force if it says unchanged).")
        return pl.scan_parquet(path)

    # -- lock -----------------------------------------------------------------------------------
    def sweep_temporary(self) -> None:
        """Remove what a killed ingest left behind (temporary Parquet/manifest files, partial downloads).

        Only called with the lock held: no other writer can be using them.
        """
        leftovers = [*self.root.glob(f".{MANIFEST}.*.tmp"), *self.processed_dir.glob("*/.*.parquet.tmp"),
                     *(p for p in self.raw_dir.glob("*/.partial/**/*") if p.is_file())]
        for p in leftovers:
            with contextlib.suppress(OSError):
                p.unlink()

    @contextlib.contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"The data folder {self.root} is a file, not a folder; give --data-dir (or GAPKIT_DATA_DIR) a folder.")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = open(self.lock_path, "a+")  # noqa: SIM115 - held for the duration of the context
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
                        holder = fh.read().strip() or "another process"
                        raise LockedError(
                            f"Another gapkit ingest ({holder}) is writing to {self.root}. Wait for it to finish, "
                            "or pass --wait SECONDS to queue behind it; nothing was changed."
                        ) from None
                    time.sleep(0.2)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} since {now_iso()}")
            fh.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()


def load(dataset: str, vintage: str | None = None, data_dir: str | os.PathLike[str] | None = None) -> pl.LazyFrame:
    """Library entry point: a lazy frame over an ingested dataset (newest vintage by default)."""
    return Store(data_dir).scan(dataset, vintage)
