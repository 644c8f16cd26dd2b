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
from typing import Any

SCHEMA_VERSION = "1"


def cache_dir() -> Path:
    env = os.environ.get("GAPKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gapkit"


def validated(kind: str, text: str, validate: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """``validate(text)`` (which raises a clear UsageError on bad input), memoized by content hash."""
    digest = hashlib.sha256(f"{kind}\0{SCHEMA_VERSION}\0{text}".encode()).hexdigest()
    path = cache_dir() / "validated" / f"{kind}-{digest[:32]}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    data = validate(text)
    try:
        from gapkit.store import atomic_write_bytes

        atomic_write_bytes(path, json.dumps(data).encode())
    except OSError:
        pass
    return data
