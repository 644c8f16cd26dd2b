"""Reading the files a user points gapkit at (sector files, extra supply, pathway rules): one place
for the checks and the messages (no such file, a folder, not UTF-8, unreadable)."""

from __future__ import annotations

import os
from pathlib import Path

from gapkit.errors import UsageError


def read_user_text(path: str | os.PathLike[str], label: str, fix: str, *, encoding: str = "utf-8") -> str:
    """The file's text; ``label`` names it in messages (``--rules x.toml``), ``fix`` says what to give instead."""
    p = Path(path).expanduser()
    if not p.is_file():
        kind = "is a folder, not a file" if p.is_dir() else "no such file"
        raise UsageError(f"{label}: {kind}. {fix}")
    try:
        return p.read_text(encoding=encoding)
    except UnicodeDecodeError:
        raise UsageError(f"{label}: not UTF-8 text; save it as UTF-8. {fix}") from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot be read ({exc.strerror or exc}).") from None
