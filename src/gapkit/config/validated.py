"""Validate a data file once with pydantic, then reuse the result by content hash.

Sector definitions and presets are TOML files validated by pydantic models. Importing pydantic and
building its validators costs more than the whole gap computation, so the normalized result of a
successful validation is cached under ``$GAPKIT_CACHE_DIR`` (default ``~/.cache/gapkit``), keyed by
the sha256 of the file's text and the schema version; an edited file has a new hash and is validated
again. A cache that cannot be written is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

from gapkit.errors import GapkitError

SCHEMA_VERSION = "2"
MAX_ENTRY_BYTES = 16 * 1024 * 1024

T = TypeVar("T")


def cache_dir() -> Path:
    env = os.environ.get("GAPKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gapkit"


@overload
def validated(kind: str, text: str, validate: Callable[[str], dict[str, Any]]) -> dict[str, Any]: ...
@overload
def validated(kind: str, text: str, validate: Callable[[str], dict[str, Any]], build: Callable[[dict[str, Any]], T]) -> T: ...


def validated(kind: str, text: str, validate: Callable[[str], dict[str, Any]],
              build: Callable[[dict[str, Any]], Any] | None = None) -> Any:
    """``build(validate(text))`` (``validate`` raises a clear UsageError on bad input), memoized by content hash.

    A cache entry that cannot be used — not a regular file, not JSON, not the shape gapkit writes, or data
    ``build`` rejects — is a miss: the text is validated again and the entry rewritten. The cache never
    makes a command fail, and is never written through a symbolic link.
    """
    digest = hashlib.sha256(f"{kind}\0{SCHEMA_VERSION}\0{text}".encode()).hexdigest()
    root = cache_dir()
    path = root / "validated" / f"{kind}-{digest[:32]}.json"
    cached = _read(path, root, kind, digest)
    if cached is not None:
        try:
            return build(cached) if build is not None else cached
        except Exception:  # a wrong shape: validate again below
            pass
    data = validate(text)
    result = build(data) if build is not None else data
    try:
        from gapkit.store import atomic_write_bytes

        atomic_write_bytes(path, json.dumps({"kind": kind, "digest": digest, "data": data}).encode(), within=root)
    except (OSError, GapkitError):
        pass
    return result


def _read(path: Path, root: Path, kind: str, digest: str) -> dict[str, Any] | None:
    from gapkit.store import check_regular_file, open_regular

    try:
        if not check_regular_file(path, within=root):
            return None
        with open_regular(path) as fh:
            raw = fh.read(MAX_ENTRY_BYTES + 1)
        if len(raw) > MAX_ENTRY_BYTES:
            return None
        entry = json.loads(raw)
    except (OSError, GapkitError, ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("kind") != kind or entry.get("digest") != digest:
        return None
    data = entry.get("data")
    return data if isinstance(data, dict) else None
