"""Shared fixtures. Real agency data lives in ../shared (never copied into the repo).

Tests that need it use the ``shared`` fixture: on CI (CI=true) a missing ../shared fails loudly;
on a user's machine the test is skipped with a reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GAPKIT_SHARED", REPO.parent / "shared")).resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def require_shared() -> Path:
    if (SHARED / "data").is_dir() and (SHARED / "mirror").is_dir():
        return SHARED
    msg = f"real agency data not found at {SHARED} (set GAPKIT_SHARED to its location)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(msg + "; CI must have ../shared", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def shared() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def shared_data(shared: Path) -> Path:
    return shared / "data"


@pytest.fixture(scope="session")
def mirror_dir(shared: Path) -> Path:
    return shared / "mirror"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def run_cli(*args: str, data_dir: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300, **popen):
    """Run the real `gapkit` CLI in a subprocess; returns CompletedProcess (text). ``popen``: more subprocess.run
    arguments (``preexec_fn`` for resource limits, ``stdout`` for a closed or full output...)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "gapkit.cli", *args]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)] if args and args[0] not in {"sectors"} else []
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    if data_dir is not None:
        full_env["GAPKIT_DATA_DIR"] = str(data_dir)
    if "stdout" in popen or "stderr" in popen:
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
    else:
        popen["capture_output"] = True
    return subprocess.run(cmd, text=True, timeout=timeout, env=full_env, **popen)


def assert_clean_error(proc, *needles: str) -> None:
    """A user-facing failure: non-zero exit, no traceback, the message names what went wrong."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in proc.stderr, f"{n!r} not in stderr:\n{proc.stderr}"


@pytest.fixture(scope="session")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with everything in ../shared ingested once per test session (through the library API)."""
    shared_dir = require_shared()
    from gapkit.ingestion.pipeline import ingest

    data_dir = tmp_path_factory.mktemp("gapkit-data")
    report = ingest(from_paths=[shared_dir], offline=True, data_dir=data_dir)
    assert report.ok, [r.error for r in report.failed]
    return data_dir
