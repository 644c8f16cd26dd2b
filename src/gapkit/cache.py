"""A content-addressed cache of rendered-ready analysis results (``data/cache/``).

The key is a digest of everything a result depends on: the command's options, the data manifest
(every ingested file's sha256 and vintage), the shipped sector and preset files, any user sector or
extra-supply file, the gapkit version and the code itself (name, size and modification time of
every module, so an edited or upgraded install never serves an older answer). Any change to any of them is a new key, so a cached answer
is always the answer a fresh computation would give; it only saves the computation (and the polars
import) when an analyst re-runs a command. ``GAPKIT_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from gapkit import __version__
from gapkit.config.user_files import read_user_bytes
from gapkit.errors import GapkitError
from gapkit.store import Store, atomic_write_bytes, check_regular_file, open_regular

CACHE_VERSION = "1"


def _code_stamp() -> bytes:
    """Name, size and mtime of every module of the installed package (a few stat calls)."""
    root = Path(__file__).parent
    parts = []
    for f in sorted(root.rglob("*.py")):
        st = f.stat()
        parts.append(f"{f.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}")
    return "\n".join(parts).encode()


MAX_ENTRY_BYTES = 256 * 1024 * 1024
_SCALAR = (str, int, float, bool, type(None))


class ResultCache:
    def __init__(self, data_dir: str | os.PathLike[str] | None, params: dict[str, Any], files: list[str] | None = None) -> None:
        self.enabled = os.environ.get("GAPKIT_NO_CACHE", "") in {"", "0"}
        self.store = Store(data_dir)
        self.path: Path | None = None
        if not self.enabled:
            return
        manifest = self.store.manifest_bytes()
        if manifest is None:
            return
        h = hashlib.sha256()
        h.update(f"{CACHE_VERSION}\0{__version__}\0".encode())
        h.update(json.dumps(params, sort_keys=True, default=str).encode())
        h.update(manifest)
        h.update(_code_stamp())
        shipped = Path(str(resources.files("gapkit").joinpath("config/shipped")))
        for entry in sorted(shipped.rglob("*.toml")):
            h.update(str(entry.relative_to(shipped)).encode() + b"\0" + entry.read_bytes())
        for f in files or []:
            try:
                # a regular file only, with a bound: a pipe or device named as a user file never blocks here
                h.update(read_user_bytes(f, f, ""))
            except GapkitError:
                self.enabled = False  # let the computation report the problem
                return
        self.path = self.store.root / "cache" / "results" / f"{h.hexdigest()[:40]}.json"

    def get(self, check: Callable[[Any], bool] | None = None) -> dict[str, Any] | None:
        """The cached result, or None: a missing entry, and equally one that is not a regular file, not JSON or
        not the shape gapkit writes (damage from outside; the next put rewrites it). ``check`` is the shape of
        what this question stores (default: a table result, :func:`well_formed`)."""
        if not self.enabled or self.path is None:
            return None
        try:
            if not check_regular_file(self.path, within=self.store.root):
                return None
            with open_regular(self.path) as fh:
                raw = fh.read(MAX_ENTRY_BYTES + 1)
            if len(raw) > MAX_ENTRY_BYTES:
                return None
            value = json.loads(raw)
        except (OSError, GapkitError, ValueError, RecursionError):
            return None
        return value if (check or well_formed)(value) else None

    def put(self, value: dict[str, Any]) -> None:
        if not self.enabled or self.path is None:
            return
        with contextlib.suppress(OSError, GapkitError, ValueError):
            atomic_write_bytes(self.path, json.dumps(value, default=str, allow_nan=False).encode(), within=self.store.root)


def text_payload(value: Any) -> bool:
    """A chart or brief as stored: an object of text fields (and objects of text, e.g. charts by file name)."""
    if not isinstance(value, dict) or not value:
        return False
    return all(isinstance(k, str) and (isinstance(v, str | type(None))
                                       or (isinstance(v, dict) and all(isinstance(x, str) for x in v.values())))
               for k, v in value.items())


def well_formed(value: Any) -> bool:
    """A result as `gapkit gap`, `pathways` and `programs` store it: rows (columns, numeric flags, rows of
    scalars of the right length), method, notes, title and method line."""
    if not isinstance(value, dict):
        return False
    rows = value.get("rows")
    if not isinstance(rows, dict):
        return False
    cols, numeric, body = rows.get("columns"), rows.get("numeric"), rows.get("rows")
    if not (isinstance(cols, list) and isinstance(numeric, list) and isinstance(body, list)):
        return False
    if len(cols) != len(numeric) or not all(isinstance(c, str) for c in cols) or not all(isinstance(n, bool) for n in numeric):
        return False
    if not all(isinstance(r, list) and len(r) == len(cols) and all(isinstance(v, _SCALAR) for v in r) for r in body):
        return False
    notes = value.get("notes")
    if not isinstance(value.get("method"), dict) or not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        return False
    if not isinstance(value.get("title"), str) or not isinstance(value.get("method_line"), str):
        return False
    return "unallocated" not in value or isinstance(value["unallocated"], dict)
