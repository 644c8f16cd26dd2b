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
from importlib import resources
from pathlib import Path
from typing import Any

from gapkit import __version__
from gapkit.store import Store, atomic_write_bytes

CACHE_VERSION = "1"


def _code_stamp() -> bytes:
    """Name, size and mtime of every module of the installed package (a few stat calls)."""
    root = Path(__file__).parent
    parts = []
    for f in sorted(root.rglob("*.py")):
        st = f.stat()
        parts.append(f"{f.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}")
    return "\n".join(parts).encode()


class ResultCache:
    def __init__(self, data_dir: str | os.PathLike[str] | None, params: dict[str, Any], files: list[str] | None = None) -> None:
        self.enabled = os.environ.get("GAPKIT_NO_CACHE", "") in {"", "0"}
        self.store = Store(data_dir)
        self.path: Path | None = None
        if not self.enabled or not self.store.manifest_path.exists():
            return
        h = hashlib.sha256()
        h.update(f"{CACHE_VERSION}\0{__version__}\0".encode())
        h.update(json.dumps(params, sort_keys=True, default=str).encode())
        h.update(self.store.manifest_path.read_bytes())
        h.update(_code_stamp())
        shipped = Path(str(resources.files("gapkit").joinpath("config/shipped")))
        for entry in sorted(shipped.rglob("*.toml")):
            h.update(str(entry.relative_to(shipped)).encode() + b"\0" + entry.read_bytes())
        for f in files or []:
            try:
                h.update(Path(f).read_bytes())
            except OSError:
                self.enabled = False  # let the computation report the problem
                return
        self.path = self.store.root / "cache" / "results" / f"{h.hexdigest()[:40]}.json"

    def get(self) -> dict[str, Any] | None:
        if not self.enabled or self.path is None:
            return None
        try:
            return json.loads(self.path.read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    def put(self, value: dict[str, Any]) -> None:
        if not self.enabled or self.path is None:
            return
        with contextlib.suppress(OSError):
            atomic_write_bytes(self.path, json.dumps(value, default=str).encode())
