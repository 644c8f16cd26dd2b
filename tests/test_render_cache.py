"""Charts and briefs join the result cache (issue 10, item 5): a re-run on unchanged data writes the stored
bytes instead of drawing again. Proved without timing: after the first run, the stored entry is altered in a
way only a cache hit can show; a damaged entry is a miss that is rebuilt, never an error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture
def data(ingested: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested tables (processed + manifest, ~11 MB) with an empty result cache."""
    d = tmp_path / "data"
    d.mkdir()
    shutil.copytree(ingested / "processed", d / "processed")
    shutil.copy2(ingested / "manifest.json", d / "manifest.json")
    return d


def _entries(data: Path) -> set[Path]:
    return set((data / "cache" / "results").glob("*.json")) if (data / "cache" / "results").is_dir() else set()


def _cli(*args: str, data: Path) -> None:
    proc = run_cli(*args, data_dir=data, env={"GAPKIT_NO_CACHE": "0"})
    assert proc.returncode == 0, proc.stderr


def test_report_rerun_is_served_from_the_cache(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "brief"
    _cli("report", "--sector", "transportation", "--region", "OH", "--out", str(out), data=data)
    new = _entries(data)
    stored = [p for p in new if '"markdown"' in p.read_text()]
    assert len(stored) == 1, "the brief is stored once"
    entry = json.loads(stored[0].read_text())
    entry["markdown"] = entry["markdown"].replace("Transportation", "CACHED-TRANSPORTATION", 1)
    stored[0].write_text(json.dumps(entry))
    _cli("report", "--sector", "transportation", "--region", "OH", "--out", str(out), data=data)
    assert "CACHED-TRANSPORTATION" in (out / "brief.md").read_text(), "the re-run did not use the stored brief"

    stored[0].write_text(json.dumps({"rows": "not a brief"}))  # another shape: a miss, rebuilt and stored again
    _cli("report", "--sector", "transportation", "--region", "OH", "--out", str(out), data=data)
    assert "CACHED-TRANSPORTATION" not in (out / "brief.md").read_text()
    assert '"markdown"' in stored[0].read_text()


def test_chart_rerun_is_served_from_the_cache(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "bars.svg"
    _cli("chart", "bars", "--sector", "transportation", "--out", str(out), data=data)
    stored = [p for p in _entries(data) if '"bytes"' in p.read_text()]
    assert len(stored) == 1
    entry = json.loads(stored[0].read_text())
    import base64

    entry["bytes"] = base64.b64encode(b"<svg>cached</svg>").decode()
    stored[0].write_text(json.dumps(entry))
    _cli("chart", "bars", "--sector", "transportation", "--out", str(out), data=data)
    assert out.read_bytes() == b"<svg>cached</svg>", "the re-run drew the chart again instead of using the cache"

    entry["bytes"] = "%%% not base64 %%%"
    stored[0].write_text(json.dumps(entry))
    _cli("chart", "bars", "--sector", "transportation", "--out", str(out), data=data)
    assert out.read_bytes().lstrip().startswith(b"<?xml") and b"cached" not in out.read_bytes()


def test_report_pdf_is_kept_with_the_cached_brief(data: Path, tmp_path: Path) -> None:
    """A brief first written without its PDF stores it once printed; a re-run writes the same files byte for byte
    without starting Chromium (a stand-in that always fails proves it is not run); a damaged PDF is rebuilt."""
    from tests.test_report import chromium

    chromium()  # skips (or fails in CI) without Chromium
    out = tmp_path / "brief"
    args = ("report", "--sector", "transportation", "--region", "OH", "--out", str(out))
    _cli(*args, "--no-pdf", data=data)
    assert not (out / "brief.pdf").exists()
    stored = [p for p in _entries(data) if '"markdown"' in p.read_text()]
    assert len(stored) == 1 and json.loads(stored[0].read_text())["pdf"] is None
    _cli(*args, data=data)  # printed now, and kept with the brief
    first = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert first["brief.pdf"].startswith(b"%PDF-")
    assert json.loads(stored[0].read_text())["pdf"], "the printed PDF was not stored with the brief"

    proc = run_cli(*args, data_dir=data, env={"GAPKIT_NO_CACHE": "0", "GAPKIT_CHROMIUM": shutil.which("false") or "/bin/false"})
    assert proc.returncode == 0, proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == first, "a re-run changed the brief's bytes"

    entry = json.loads(stored[0].read_text())
    import base64

    entry["pdf"] = base64.b64encode(b"not a pdf").decode()
    stored[0].write_text(json.dumps(entry))
    _cli(*args, data=data)
    assert (out / "brief.pdf").read_bytes().startswith(b"%PDF-")
    assert base64.b64decode(json.loads(stored[0].read_text())["pdf"]).startswith(b"%PDF-")
