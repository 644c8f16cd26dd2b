"""Helpers shared by the sub-state source tests (qcew, geo, ca-edd, etpl)."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from gapkit.ingestion.readers import sniff
from gapkit.ingestion.sources import all_sources
from gapkit.ingestion.sources.base import ParsedTable, Source
from tests.conftest import assert_clean_error, run_cli

MANIFEST = "MANIFEST-substate.md"


def manifest_text(shared_data: Path) -> str:
    return (shared_data / MANIFEST).read_text(encoding="utf-8")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def owner(path: Path) -> str | None:
    """The source `gapkit ingest --from` hands this file to (the first that recognizes it), as the pipeline does."""
    head = sniff(path)
    return next((s.name for s in all_sources() if s.recognize(path, head)), None)


def parse_one(source: Source, path: Path) -> list[ParsedTable]:
    assert source.recognize(path, sniff(path)), path
    return source.parse(path, str(path))


def digests(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file() and p.name != ".gapkit.lock"}


def copy_data(ingested: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(ingested, data)
    return data


def assert_ingest_refused(data: Path, bad: Path, *needles: str, args: tuple[str, ...] = ()) -> str:
    """`gapkit ingest --offline --from BAD` fails with one clear message naming each needle, exit 1,
    no traceback, and leaves every file of the data folder (Parquet, raw, manifest) byte-identical."""
    before = digests(data)
    proc = run_cli("ingest", *args, "--offline", "--from", str(bad), data_dir=data)
    assert_clean_error(proc, *needles)
    assert proc.returncode == 1, proc.stderr
    assert digests(data) == before
    return proc.stderr


def one_paragraph(stderr: str, needle: str) -> str:
    """The error line naming ``needle`` (the CLI prints each failure as one `error:` paragraph)."""
    text = re.sub(r"\s+", " ", stderr)
    hits = [p for p in text.split("error: ") if needle in p]
    assert hits, stderr
    return hits[0]
