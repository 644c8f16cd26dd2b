"""CLI behaviour that needs no ingested data: help, start-up imports, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import assert_clean_error, run_cli


def test_help_lists_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for cmd in ("ingest", "sources", "gap", "sectors", "occupation"):
        assert cmd in proc.stdout


def test_help_does_not_import_polars_or_matplotlib() -> None:
    code = (
        "import sys\n"
        "from gapkit.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('polars', 'matplotlib', 'pyarrow', 'httpx') if m in sys.modules]\n"
        "print('HEAVY', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_unknown_source(tmp_path: Path) -> None:
    assert_clean_error(run_cli("ingest", "bogus", data_dir=tmp_path), "Unknown source 'bogus'", "bls-ep")


def test_offline_without_local_copy(tmp_path: Path) -> None:
    proc = run_cli("ingest", "bls-ep", "--offline", data_dir=tmp_path)
    assert_clean_error(proc, "--offline")


def test_from_missing_path(tmp_path: Path) -> None:
    assert_clean_error(run_cli("ingest", "--from", str(tmp_path / "nope"), data_dir=tmp_path), "no such file or folder")


def test_gap_without_data_says_which_ingest(tmp_path: Path) -> None:
    assert_clean_error(run_cli("gap", "--sector", "transportation", data_dir=tmp_path), "gapkit ingest")


def test_bad_years_option(tmp_path: Path) -> None:
    assert_clean_error(run_cli("ingest", "ipeds", "--years", "20x4", "--offline", data_dir=tmp_path), "--years")


def test_sources_empty(tmp_path: Path) -> None:
    proc = run_cli("sources", "--format", "json", data_dir=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]"
