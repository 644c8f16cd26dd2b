"""``brief.pdf``: the brief's HTML printed by headless Chromium.

Why Chromium: `make test` already installs it for the browser tests (`make deps-system`), it adds no
PyPI dependency, and it prints exactly the HTML a reader's browser shows, with the brief's print
stylesheet (page breaks, wrapped tables, charts sized to the page). Chromium is looked up on PATH
(``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable``) or taken from
``$GAPKIT_CHROMIUM``; it runs with a private profile in a temporary folder and a bounded wait.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from gapkit.errors import GapkitError

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 120.0  # seconds: a brief prints in a few
MISSING = ("headless Chromium was not found (looked for {names} on PATH and $GAPKIT_CHROMIUM), so brief.pdf cannot be "
           "printed. Install chromium (`make deps-system`, or `apt-get install chromium`) or pass --no-pdf to write "
           "brief.md and brief.html only.")


def find_chromium() -> str | None:
    """The Chromium executable gapkit prints with, or None."""
    env = os.environ.get("GAPKIT_CHROMIUM")
    if env:
        found = shutil.which(env)
        return found
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_flags(profile: Path) -> list[str]:
    """Flags for a quiet, private, offline headless run (root needs --no-sandbox)."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}"]


def print_pdf(html_text: str, *, timeout: float = TIMEOUT, label: str = "brief.pdf") -> bytes:
    """The bytes of ``html_text`` printed to PDF by headless Chromium (the HTML must be self-contained)."""
    exe = find_chromium()
    if exe is None:
        raise GapkitError(MISSING.format(names=", ".join(NAMES)))
    with tempfile.TemporaryDirectory(prefix="gapkit-pdf-") as tmp:
        root = Path(tmp)
        page = root / "brief.html"
        page.write_text(html_text, encoding="utf-8")
        out = root / "brief.pdf"
        args = [exe, *chromium_flags(root / "profile"), "--no-pdf-header-footer", f"--print-to-pdf={out}", page.as_uri()]
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as exc:
            raise GapkitError(f"{label}: Chromium ({exe}) could not be started ({exc.strerror or exc}). Install chromium "
                              "or pass --no-pdf.") from None
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise GapkitError(f"{label}: Chromium ({exe}) did not finish printing within {timeout:.0f} s and was stopped; "
                              "brief.md and brief.html are written. Try again, or pass --no-pdf.") from None
        finally:
            _kill(proc)  # its helper processes, if any are left in its session
        data = out.read_bytes() if out.is_file() else b""
        if proc.returncode != 0 or not data.startswith(b"%PDF-"):
            tail = " ".join(err.decode("utf-8", "replace").split())[-300:]
            raise GapkitError(f"{label}: Chromium ({exe}) exited {proc.returncode} without printing a PDF"
                              + (f" ({tail})" if tail else "") + "; brief.md and brief.html are written. Pass --no-pdf "
                              "to skip the PDF.")
        return data


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process group Chromium started (only its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
