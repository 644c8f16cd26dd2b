"""The data folder under stress: ingests killed with SIGKILL at any moment, two ingests at once, and
damage from outside (a broken manifest or table, a directory where a file belongs, a pipe in --from).

After a kill the store must be consistent (the manifest parses, every table it names reads with the
rows it records, every raw record matches its file) and the next run must complete and leave no
temporary file behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests import faultkit as fk
from tests.httpserver import Handler, base_url, serve


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory, ingested: Path) -> Path:
    return fk.good_store(tmp_path_factory, ingested)


@pytest.fixture
def data(good: Path, tmp_path: Path) -> Path:
    return fk.copy_store(good, tmp_path)


def ipeds_dir(shared: Path) -> Path:
    return shared / "mirror" / "nces.ed.gov" / "ipeds" / "datacenter" / "data"


def start(data: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **fk.FAST, "GAPKIT_DATA_DIR": str(data)}
    return subprocess.Popen([sys.executable, "-m", "gapkit.cli", "ingest", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_when(proc: subprocess.Popen[str], seen: Callable[[], bool], timeout: float = 60) -> bool:
    """SIGKILL ``proc`` as soon as ``seen()`` is true; False when it finished first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if seen():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.001)
    proc.wait()
    return False


def tables_equal(a: Path, b: Path, dataset: str, vintage: str) -> bool:
    def cols(f: pl.DataFrame) -> pl.DataFrame:
        return f.select(sorted(c for c in f.columns if c not in {"source_file", "source_unit"}))

    x, y = cols(fk.table(a, dataset, vintage)), cols(fk.table(b, dataset, vintage))
    return x.sort(x.columns).equals(y.sort(y.columns))


def test_kill_while_a_parquet_file_is_being_written(data: Path, good: Path, shared: Path) -> None:
    src = ipeds_dir(shared)
    caught = False
    for _ in range(5):  # the temporary Parquet file exists for a fraction of a second; try until caught
        proc = start(data, "ipeds", "--force", "--offline", "--from", str(src))
        caught = kill_when(proc, lambda: any((data / "processed").glob("*/.*.parquet.tmp")))
        fk.assert_consistent(data)
        if caught:
            break
    assert caught, "the ingest was never caught writing a Parquet file"
    done = fk.run_cli("ingest", "ipeds", "--offline", "--from", str(src), data_dir=data, env=fk.FAST)
    assert done.returncode == 0, done.stderr
    fk.assert_consistent(data)
    assert not list(data.rglob("*.tmp")), "temporary files of the killed run were not swept"
    for year in ("2021", "2022", "2023", "2024"):
        assert tables_equal(data, good, "ipeds_completions", year)


@pytest.mark.parametrize("delay", [0.4, 0.9, 1.4, 2.0, 2.8])
def test_kill_at_any_moment_leaves_a_consistent_store(data: Path, good: Path, shared: Path, delay: float) -> None:
    """SIGKILL after ``delay`` seconds of a forced re-ingest (imports, parsing, writing, manifest)."""
    src = ipeds_dir(shared)
    proc = start(data, "ipeds", "--force", "--offline", "--from", str(src))
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fk.assert_consistent(data)
    done = fk.run_cli("ingest", "ipeds", "--offline", "--from", str(src), data_dir=data, env=fk.FAST)
    assert done.returncode == 0, done.stderr
    fk.assert_consistent(data)
    assert not list(data.rglob("*.tmp"))
    assert tables_equal(data, good, "ipeds_completions", "2024")


def test_kill_mid_download_keeps_the_raw_copy(data: Path, mirror_dir: Path) -> None:
    before = fk.snapshot(data)
    partial = data / "raw" / "bls-ep" / ".partial" / "occupation.xlsx"
    with serve(mirror_dir, {fk.EP: fk.trickle}) as srv:
        env = {**os.environ, **fk.FAST, "GAPKIT_HTTP_DEADLINE": "60", "GAPKIT_DATA_DIR": str(data)}
        proc = subprocess.Popen([sys.executable, "-m", "gapkit.cli", "ingest", "bls-ep", "--mirror", base_url(srv)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert kill_when(proc, partial.is_file), "never saw the download start"
    fk.assert_consistent(data)
    assert partial.is_file()  # what the killed run left behind...
    proc2, _ = fk.ingest(data, "bls-ep")
    assert proc2.returncode == 0, proc2.stderr
    assert not partial.exists()  # ...is swept by the next run
    fk.assert_intact(before, data, manifest_bytes=False)


def test_a_killed_ingest_does_not_leave_the_lock_held(data: Path, shared: Path) -> None:
    proc = start(data, "ipeds", "--force", "--offline", "--from", str(ipeds_dir(shared)))
    assert kill_when(proc, lambda: "pid" in (data / ".gapkit.lock").read_text(errors="replace"))
    done = fk.run_cli("ingest", "bls-ep", "--offline", "--from", str(shared / "mirror" / "www.bls.gov"), data_dir=data, env=fk.FAST)
    assert done.returncode == 0, done.stderr  # no --wait needed: the kernel released the lock with the process


def test_two_ingests_at_once(data: Path, mirror_dir: Path, shared: Path) -> None:
    """The second refuses at once (naming the holder), a third queues with --wait; nothing is corrupted."""
    def slow(h: Handler) -> bool:
        time.sleep(3)
        return False

    lock = data / ".gapkit.lock"
    with serve(mirror_dir, {fk.EP: slow}) as srv:
        env = {**os.environ, **fk.FAST, "GAPKIT_HTTP_TIMEOUT": "10", "GAPKIT_HTTP_DEADLINE": "30", "GAPKIT_DATA_DIR": str(data)}
        first = subprocess.Popen([sys.executable, "-m", "gapkit.cli", "ingest", "bls-ep", "--force", "--mirror", base_url(srv)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while f"pid {first.pid}" not in (lock.read_text() if lock.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.02)
        second = fk.run_cli("ingest", "crosswalk", "--offline", "--from", str(shared / "mirror" / "nces.ed.gov"), data_dir=data,
                            env=fk.FAST)
        fk.assert_clean_failure(second, ["Another gapkit ingest", f"pid {first.pid}", "--wait"])
        third = fk.run_cli("ingest", "crosswalk", "--offline", "--wait", "60", "--from", str(shared / "mirror" / "nces.ed.gov"),
                           data_dir=data, env=fk.FAST)
        assert first.wait(timeout=60) == 0, first.stderr.read() if first.stderr else ""
    assert third.returncode == 0, third.stderr
    fk.assert_consistent(data)


def test_damaged_manifest_is_refused_then_rebuilt_keeping_every_table(data: Path, mirror_dir: Path) -> None:
    (data / "manifest.json").write_text('{"datasets": {"ep_occ')  # outside damage (a disk, an editor)
    damaged = (data / "manifest.json").read_bytes()
    rows = fk.table(data, "state_projections", "2022-32").height
    proc, _ = fk.ingest(data, "projections", "--states", "WY", "--force")
    fk.assert_clean_failure(proc, ["manifest.json is damaged", "Move it aside"])
    assert (data / "manifest.json").read_bytes() == damaged  # never silently replaced
    (data / "manifest.json").rename(data / "manifest.json.bad")
    proc, _ = fk.ingest(data, "projections", "--states", "WY", "--force")
    assert proc.returncode == 0, proc.stderr
    assert fk.table(data, "state_projections", "2022-32").height == rows  # the other 54 states' rows were kept
    fk.assert_consistent(data)


def test_damaged_table_is_named_and_healed_by_the_next_ingest(data: Path, good: Path) -> None:
    path = data / "processed" / "ep_occupations" / "2024-34.parquet"
    path.write_bytes(path.read_bytes()[:1000])  # truncated from outside
    gap = fk.run_cli("gap", data_dir=data)
    fk.assert_clean_failure(gap, ["2024-34.parquet is damaged", "gapkit ingest bls-ep"])
    proc, _ = fk.ingest(data, "bls-ep")
    assert proc.returncode == 0, proc.stderr
    assert tables_equal(data, good, "ep_occupations", "2024-34")
    fk.assert_consistent(data)


def test_deleted_table_is_rebuilt_by_the_next_ingest(data: Path, good: Path) -> None:
    (data / "processed" / "ep_occupations" / "2024-34.parquet").unlink()
    proc, _ = fk.ingest(data, "bls-ep")
    assert proc.returncode == 0, proc.stderr and "parsed" in proc.stdout
    assert tables_equal(data, good, "ep_occupations", "2024-34")


@pytest.mark.parametrize("where", ["manifest-is-a-folder", "data-dir-is-a-file", "lock-is-a-folder", "raw-copy-is-a-folder"])
def test_a_folder_or_file_where_the_other_belongs(data: Path, tmp_path: Path, where: str) -> None:
    data_dir = data
    if where == "manifest-is-a-folder":
        (data / "manifest.json").unlink()
        (data / "manifest.json").mkdir()
        needles = ["manifest.json cannot be read", "Is a directory"]
    elif where == "data-dir-is-a-file":
        data_dir = tmp_path / "a-file"
        data_dir.write_text("not a folder")
        needles = ["is a file, not a folder"]
    elif where == "lock-is-a-folder":
        (data / ".gapkit.lock").unlink(missing_ok=True)
        (data / ".gapkit.lock").mkdir()
        needles = [".gapkit.lock", "Is a directory"]
    else:
        raw = data / fk.RAW[fk.EP]
        raw.unlink()
        raw.mkdir()
        needles = ["raw/bls-ep/occupation.xlsx", "cannot be read"]
    def files() -> dict[Path, int]:
        return {p: p.stat().st_mtime_ns for p in data.rglob("*") if p.is_file() and p.name != ".gapkit.lock"}

    before = files()
    proc, _ = fk.ingest(data_dir, "bls-ep")
    fk.assert_clean_failure(proc, needles)
    assert files() == before


def test_named_pipe_in_a_from_folder_is_skipped_not_read(data: Path, tmp_path: Path, shared: Path) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    os.mkfifo(folder / "occupation.xlsx")  # reading it would block forever
    proc = fk.run_cli("ingest", "--offline", "--from", str(folder), data_dir=data, env=fk.FAST, timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    direct = fk.run_cli("ingest", "--offline", "--from", str(folder / "occupation.xlsx"), data_dir=data, env=fk.FAST, timeout=60)
    fk.assert_clean_failure(direct, ["occupation.xlsx", "not a regular file"])


def test_manifest_stays_valid_json_after_every_run(data: Path) -> None:
    for args in (["bls-ep"], ["projections", "--states", "WY"]):
        proc, _ = fk.ingest(data, *args)
        assert proc.returncode == 0, proc.stderr
        m = json.loads((data / "manifest.json").read_text())
        assert {"datasets", "files", "raw"} <= set(m)
    assert pl.read_parquet(data / m["datasets"]["state_projections/2022-32"]["path"]).height > 0
