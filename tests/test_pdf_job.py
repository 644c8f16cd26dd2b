"""brief.pdf's printer (gapkit.render.pdf) against stand-in Chromium executables that fail the ways a real one can:
exit with an error, print nothing, hang, flood their error output. The real Chromium prints real briefs in
tests/test_report.py; these check that every failure is one clear message, that nothing is left running and that the
private temporary folder is removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gapkit.errors import GapkitError
from gapkit.render.pdf import PdfJob, print_pdf

PAGE = "<html><body><p>brief</p></body></html>"


def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """A Chromium stand-in: a shell script given the real argument list (``$out``: the --print-to-pdf path, ``$page``: the
    HTML file it was asked to print)."""
    exe = tmp_path / "fake-chromium"
    exe.write_text("#!/bin/sh\nfor a in \"$@\"; do case $a in --print-to-pdf=*) out=${a#--print-to-pdf=};; file://*) page=${a#file://};; esac; done\n"
                   + body + "\n")
    exe.chmod(0o755)
    monkeypatch.setenv("GAPKIT_CHROMIUM", str(exe))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where the job's private folder goes
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    return exe


def leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "tmp").iterdir())


def test_prints_what_chromium_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake(tmp_path, monkeypatch, 'grep -q "<p>brief</p>" "$page" && printf "%%PDF-1.4 fake" > "$out"')
    assert print_pdf(PAGE) == b"%PDF-1.4 fake"
    assert leftovers(tmp_path) == []


def test_runs_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller goes on while Chromium prints (a brief renders its PNGs meanwhile)."""
    fake(tmp_path, monkeypatch, 'sleep 1; printf "%%PDF-1.4 late" > "$out"')
    start = time.monotonic()
    job = PdfJob(PAGE)
    assert time.monotonic() - start < 0.9, "starting the job waited for Chromium"
    assert job.result() == b"%PDF-1.4 late"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("body", "needles"), [
    ('echo "[ERROR:gpu_init.cc] the GPU process crashed" >&2; exit 21', ["exited 21 without printing a PDF", "GPU process crashed"]),
    ('printf "<html>not a pdf" > "$out"', ["exited 0 without printing a PDF"]),
    ("exit 0", ["exited 0 without printing a PDF"]),
    # a flood of messages (far beyond a pipe's 64 KiB) while the caller is busy elsewhere: never a stall
    ('i=0; while [ $i -lt 3000 ]; do echo "warning line $i of a very chatty browser build, padded to be long" >&2; '
     'i=$((i+1)); done; exit 3', ["exited 3 without printing a PDF", "of a very chatty browser build"]),
])
def test_failures_are_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, needles: list[str]) -> None:
    fake(tmp_path, monkeypatch, body)
    job = PdfJob(PAGE, label="--out x: brief.pdf")
    time.sleep(0.3)  # the caller busy with something else
    with pytest.raises(GapkitError) as err:
        job.result()
    msg = err.value.message
    assert msg.startswith("--out x: brief.pdf: Chromium") and "--no-pdf" in msg and "\n" not in msg
    for needle in needles:
        assert needle in msg
    assert len(msg) < 600  # the tail of Chromium's messages, not all of them
    assert leftovers(tmp_path) == []


def test_a_hung_chromium_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = tmp_path / "pid"
    # Chromium and a helper process of its own (its renderer), both hanging
    fake(tmp_path, monkeypatch, f'sleep 60 & echo $! > {pidfile}; wait')
    job = PdfJob(PAGE, timeout=0.5)
    with pytest.raises(GapkitError, match="did not finish printing within 0 s and was stopped"):
        job.result()
    helper = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(helper):
        time.sleep(0.05)
    assert not _alive(helper), "Chromium's helper process was left running"
    assert leftovers(tmp_path) == []


def test_cancel_stops_it_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interruption (SIGTERM, an error in the caller) while Chromium prints: stopped, its folder removed."""
    # Chromium's own temporary files (a real one makes org.chromium.Chromium.* in $TMPDIR) go into the private folder
    fake(tmp_path, monkeypatch, 'mkdir "$TMPDIR/org.chromium.Chromium.abc"; sleep 60; printf "%%PDF-" > "$out"')
    job = PdfJob(PAGE)
    assert len(leftovers(tmp_path)) == 1
    time.sleep(0.3)
    job.cancel()
    assert leftovers(tmp_path) == []


def test_an_executable_that_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = fake(tmp_path, monkeypatch, "exit 0")
    exe.write_bytes(b"\x7fELF not really")  # executable bit set, not a program
    with pytest.raises(GapkitError, match="could not be started"):
        PdfJob(PAGE)
    assert leftovers(tmp_path) == []


def test_no_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake(tmp_path, monkeypatch, 'printf "%%PDF-" > "$out"')
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))  # TMPDIR removed under a cron job
    with pytest.raises(GapkitError, match="no temporary folder for Chromium could be made .*gone.*set TMPDIR"):
        PdfJob(PAGE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
