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
import time
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


class PdfJob:
    """Chromium printing one self-contained HTML page in the background: start it, go on with other work (a brief
    renders its PNG charts meanwhile: Chromium runs on the other core), then :meth:`result`. The page, Chromium's
    profile and its messages live in a private temporary folder, removed by :meth:`result` or :meth:`cancel`."""

    def __init__(self, html_text: str, *, timeout: float = TIMEOUT, label: str = "brief.pdf") -> None:
        exe = find_chromium()
        if exe is None:
            raise GapkitError(MISSING.format(names=", ".join(NAMES)))
        self.exe, self.label, self.timeout = exe, label, timeout
        try:
            self._tmp = tempfile.TemporaryDirectory(prefix="gapkit-pdf-")
        except OSError as exc:  # TMPDIR missing or read-only
            raise GapkitError(f"{label}: no temporary folder for Chromium could be made ({exc.strerror or exc}: "
                              f"{getattr(exc, 'filename', None) or tempfile.gettempdir()}); set TMPDIR to a writable folder, "
                              "or pass --no-pdf.") from None
        root = Path(self._tmp.name)
        page = root / "brief.html"
        try:
            page.write_text(html_text, encoding="utf-8")
        except OSError as exc:  # a full disk, a file-size limit
            self._tmp.cleanup()
            raise GapkitError(f"{label}: the page for Chromium could not be written to the temporary folder {root.parent} "
                              f"({exc.strerror or exc}); free some space there (or set TMPDIR), or pass --no-pdf.") from None
        self._out = root / "brief.pdf"
        args = [exe, *chromium_flags(root / "profile"), "--no-pdf-header-footer", f"--print-to-pdf={self._out}", page.as_uri()]
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            # its messages go to a file, not a pipe: nobody reads a pipe while the caller works, and a full one would
            # stop Chromium
            with open(root / "stderr.txt", "wb") as err:
                # its own temporary files (org.chromium.Chromium.*) go into the private folder too, so a Chromium stopped
                # half-way (SIGTERM to gapkit, a timeout) leaves nothing in the system's
                env = {**os.environ, "TMPDIR": str(root)}
                self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                              start_new_session=True, env=env)
        except OSError as exc:
            self._tmp.cleanup()
            raise GapkitError(f"{label}: Chromium ({exe}) could not be started ({exc.strerror or exc}). Install chromium "
                              "or pass --no-pdf.") from None
        self._deadline = time.monotonic() + timeout

    def result(self) -> bytes:
        """The PDF's bytes, once Chromium has printed them (waiting at most the job's timeout from its start)."""
        proc = self._proc
        assert proc is not None, "PdfJob.result() called twice"
        try:
            try:
                proc.wait(timeout=max(0.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise GapkitError(f"{self.label}: Chromium ({self.exe}) did not finish printing within {self.timeout:.0f} s "
                                  "and was stopped; brief.md and brief.html are written. Try again, or pass --no-pdf.") from None
            data = self._out.read_bytes() if self._out.is_file() else b""
            if proc.returncode != 0 or not data.startswith(b"%PDF-"):
                err = (Path(self._tmp.name) / "stderr.txt").read_bytes()
                tail = " ".join(err.decode("utf-8", "replace").split())[-300:]
                raise GapkitError(f"{self.label}: Chromium ({self.exe}) exited {proc.returncode} without printing a PDF"
                                  + (f" ({tail})" if tail else "") + "; brief.md and brief.html are written. Pass --no-pdf "
                                  "to skip the PDF.")
            return data
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Stop Chromium (its whole session) if it still runs and remove the temporary folder."""
        if self._proc is not None:
            _kill(self._proc)
            self._proc = None
        self._tmp.cleanup()


def print_pdf(html_text: str, *, timeout: float = TIMEOUT, label: str = "brief.pdf") -> bytes:
    """The bytes of ``html_text`` printed to PDF by headless Chromium (the HTML must be self-contained)."""
    return PdfJob(html_text, timeout=timeout, label=label).result()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process group Chromium started (only its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
