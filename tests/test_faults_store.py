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
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests import faultkit as fk
from tests.conftest import require_shared
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


# -- Hardening II: links, pipes and devices where gapkit keeps its own files ------------------------------------
def _move_out(data: Path, rel: str, outside: Path) -> Path:
    """Move ``rel`` out of the data folder and leave a symbolic link to it in its place (what an attacker, or a
    careless `ln -s`, leaves behind); returns the target."""
    src = data / rel
    target = outside / rel.replace("/", "__")
    if src.exists():
        src.rename(target)
    else:
        target.mkdir(parents=True)
    src.symlink_to(target)
    return target


EP_TABLE = "processed/ep_occupations/2024-34.parquet"
# (id, what becomes a link, the command, message fragments; "" = the command succeeds, writing nothing through it)
LINKS: list[tuple[str, str, list[str], list[str]]] = [
    ("raw-copy", fk.RAW[fk.EP], ["ingest", "bls-ep", "--force"], ["raw/bls-ep/occupation.xlsx", "symbolic link"]),
    ("raw-source-folder", "raw/bls-ep", ["ingest", "bls-ep", "--force"], ["raw/bls-ep", "symbolic link"]),
    ("partial-download-folder", "raw/bls-ep/.partial", ["ingest", "bls-ep", "--force"], [".partial", "symbolic link"]),
    ("parquet-table-ingest", EP_TABLE, ["ingest", "bls-ep", "--force"], ["2024-34.parquet", "symbolic link"]),
    ("parquet-table-gap", EP_TABLE, ["gap"], ["2024-34.parquet", "symbolic link"]),
    ("dataset-folder", "processed/ep_occupations", ["ingest", "bls-ep", "--force"], ["processed/ep_occupations", "symbolic link"]),
    ("processed-folder", "processed", ["ingest", "bls-ep", "--force"], ["processed", "symbolic link"]),
    ("manifest-ingest", "manifest.json", ["ingest", "bls-ep", "--force"], ["manifest.json", "symbolic link"]),
    ("manifest-gap", "manifest.json", ["gap"], ["manifest.json", "symbolic link"]),
    ("lock", ".gapkit.lock", ["ingest", "bls-ep", "--force"], [".gapkit.lock", "symbolic link"]),
    ("scratch-folder", "tmp", ["ingest", "ipeds", "--years", "2024", "--force"], ["tmp", "symbolic link"]),
    ("result-cache-folder", "cache/results", ["gap"], []),
    ("cache-folder", "cache", ["pathways", "--top", "3"], []),
]


@pytest.mark.parametrize(("case", "rel", "args", "needles"), LINKS, ids=[c[0] for c in LINKS])
def test_a_link_where_gapkit_keeps_its_own_file_is_never_followed(data: Path, tmp_path: Path, case: str, rel: str,
                                                                  args: list[str], needles: list[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if rel == ".gapkit.lock":
        (data / rel).unlink(missing_ok=True)
        (outside / "precious.txt").write_text("precious\n")
        (data / rel).symlink_to(outside / "precious.txt")
    else:
        (data / "cache").mkdir(exist_ok=True)
        _move_out(data, rel, outside)
    before, victims = fk.snapshot(data), fk.tree_state(outside)
    env = {"GAPKIT_NO_CACHE": "0"} if not needles else {}
    if args[0] == "ingest":
        proc, _ = fk.ingest(data, *args[1:], env=env, timeout=180)
    else:
        proc = fk.run_cli(*args, data_dir=data, env={**fk.FAST, **env}, timeout=180)
    if needles:
        fk.assert_clean_exit(proc, needles)
    else:  # a cache is an optimization: the command answers, and nothing goes through the link
        assert proc.returncode == 0, proc.stderr
    assert fk.tree_state(outside) == victims, "a file outside the data folder was written through the link"
    assert fk.snapshot(data) == before
    assert (data / rel).is_symlink(), "the link was replaced"


def _special(path: Path, kind: str) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        if os.geteuid() != 0:
            pytest.skip("creating a device file needs root")
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # a /dev/zero twin: reading it never ends


# (id, file, kind, command, message fragments): reading a pipe blocks forever, a /dev/zero twin never ends
SPECIALS: list[tuple[str, str, str, list[str], list[str]]] = [
    ("parquet-fifo-gap", EP_TABLE, "fifo", ["gap"], ["2024-34.parquet", "named pipe"]),
    ("parquet-fifo-ingest", EP_TABLE, "fifo", ["ingest", "bls-ep"], ["2024-34.parquet", "named pipe"]),
    ("parquet-device-occupation", EP_TABLE, "device", ["occupation", "53-3032"], ["2024-34.parquet", "character device"]),
    ("manifest-fifo-gap", "manifest.json", "fifo", ["gap"], ["manifest.json", "named pipe"]),
    ("manifest-fifo-ingest", "manifest.json", "fifo", ["ingest", "bls-ep"], ["manifest.json", "named pipe"]),
    ("manifest-fifo-sources", "manifest.json", "fifo", ["sources"], ["manifest.json", "named pipe"]),
    ("manifest-device-sources", "manifest.json", "device", ["sources"], ["manifest.json", "character device"]),
    ("lock-fifo", ".gapkit.lock", "fifo", ["ingest", "bls-ep"], [".gapkit.lock", "named pipe"]),
    ("raw-copy-fifo", fk.RAW[fk.EP], "fifo", ["ingest", "bls-ep"], ["occupation.xlsx", "named pipe"]),
    ("raw-copy-device", fk.RAW[fk.EP], "device", ["ingest", "bls-ep"], ["occupation.xlsx", "character device"]),
]


@pytest.mark.parametrize(("case", "rel", "kind", "args", "needles"), SPECIALS, ids=[c[0] for c in SPECIALS])
def test_a_pipe_or_device_where_gapkit_keeps_its_own_file(data: Path, case: str, rel: str, kind: str, args: list[str],
                                                          needles: list[str]) -> None:
    _special(data / rel, kind)
    before = fk.snapshot(data)
    if args[0] == "ingest":
        proc, _ = fk.ingest(data, *args[1:], timeout=120)  # the timeout is the bound: a blocked read fails the test
    else:
        proc = fk.run_cli(*args, data_dir=data, env=fk.FAST, timeout=120)
    fk.assert_clean_exit(proc, needles)
    assert fk.snapshot(data) == before


# -- a manifest written by another gapkit (or half-damaged) ------------------------------------------------------
def _edit_entry(key: str, edit: Callable[[dict], object]) -> Callable[[dict], None]:
    def apply(m: dict) -> None:
        m["datasets"][key] = edit(dict(m["datasets"][key]))
    return apply


EP_KEY = "ep_occupations/2024-34"
MANIFEST_EDITS: list[tuple[str, Callable[[dict], None]]] = [
    ("extra-key-in-an-entry", _edit_entry(EP_KEY, lambda e: {**e, "lineage": {"tool": "gapkit 2.0"}, "checksum_v2": "abc"})),
    ("extra-top-level-key", lambda m: m.update({"schema": 2, "signatures": ["x"]})),
    ("missing-rows", _edit_entry(EP_KEY, lambda e: {k: v for k, v in e.items() if k != "rows"})),
    ("missing-inputs", _edit_entry(EP_KEY, lambda e: {k: v for k, v in e.items() if k != "inputs"})),
    ("missing-path", _edit_entry(EP_KEY, lambda e: {k: v for k, v in e.items() if k != "path"})),
    ("rows-as-text", _edit_entry(EP_KEY, lambda e: {**e, "rows": "832"})),
    ("entry-not-an-object", _edit_entry(EP_KEY, lambda e: "ep_occupations 2024-34")),
    ("input-without-sha256", _edit_entry(EP_KEY, lambda e: {**e, "inputs": {u: {k: v for k, v in i.items() if k != "sha256"}
                                                                            for u, i in e["inputs"].items()}})),
    ("file-record-without-outputs", lambda m: [r.pop("outputs", None) for r in m["files"].values()]),
    ("raw-record-not-an-object", lambda m: m["raw"].update({k: None for k in m["raw"]})),
]


@pytest.mark.parametrize(("case", "edit"), MANIFEST_EDITS, ids=[c[0] for c in MANIFEST_EDITS])
def test_manifest_entries_of_another_shape_are_tolerated_then_healed(data: Path, case: str, edit: Callable[[dict], None]) -> None:
    """Keys a newer gapkit added are ignored; an entry missing a key (or of the wrong type) does not stop any
    command, and the next ingest of its source rewrites it: never an error forever."""
    m = json.loads((data / "manifest.json").read_text())
    edit(m)
    (data / "manifest.json").write_text(json.dumps(m))
    for args in (["sources"], ["sources", "--format", "json"], ["gap", "--top", "3"]):
        before = fk.snapshot(data)
        proc = fk.run_cli(*args, data_dir=data, env=fk.FAST, timeout=120)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert fk.snapshot(data) == before
    proc, _ = fk.ingest(data, "bls-ep", timeout=180)
    assert proc.returncode == 0, proc.stderr
    healed = json.loads((data / "manifest.json").read_text())
    from gapkit.store import DatasetEntry

    assert DatasetEntry.from_record(healed["datasets"][EP_KEY]) is not None, "the entry was not rewritten"
    fk.assert_consistent(data)
    again, _ = fk.ingest(data, "bls-ep", timeout=180)
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stdout + again.stderr


@pytest.mark.parametrize("what", ["manifest-200k-deep", "manifest-huge-number", "manifest-a-list"])
def test_manifest_that_is_no_manifest_is_refused_not_replaced(data: Path, what: str) -> None:
    body = {"manifest-200k-deep": fk.deep_json(200_000), "manifest-huge-number": b"1" * 100_000,
            "manifest-a-list": b'[{"datasets": {}}]'}[what]
    (data / "manifest.json").write_bytes(body)
    before = fk.snapshot(data)
    for args in (["gap"], ["sources"]):
        proc = fk.run_cli(*args, data_dir=data, env=fk.FAST, timeout=120)
        fk.assert_clean_exit(proc, ["manifest.json is damaged"])
    proc, _ = fk.ingest(data, "bls-ep", timeout=120)
    fk.assert_clean_exit(proc, ["manifest.json is damaged", "Move it aside"])
    assert fk.snapshot(data) == before and (data / "manifest.json").read_bytes() == body


# -- the table and its manifest entry change together or not at all ----------------------------------------------
def _projections_sizes(data: Path) -> tuple[int, int]:
    return (data / "processed/state_projections/2022-32.parquet").stat().st_size, (data / "manifest.json").stat().st_size


@pytest.mark.parametrize("how", ["manifest-past-file-size-limit", "manifest-immutable", "table-past-file-size-limit"])
def test_a_failed_write_leaves_table_and_manifest_as_they_were(data: Path, how: str) -> None:
    """Disk full (simulated for real with RLIMIT_FSIZE: the kernel fails a write past the limit with EFBIG, as it
    fails one past a full disk with ENOSPC) or an immutable manifest: the new Projections Central table for WY
    must not replace the stored one unless its manifest entry is saved too, and the message must say so."""
    table, manifest = _projections_sizes(data)
    wy_rows = fk.table(data, "state_projections", "2022-32").filter(pl.col("stfips") == "56").height
    popen: dict[str, object] = {}
    if how == "manifest-past-file-size-limit":
        assert table + 50_000 < manifest, "the test needs a manifest larger than the table"
        popen["preexec_fn"] = fk.fsize_limit((table + manifest) // 2)
        needles = ["manifest.json could not be saved", "previous table and manifest were left in place"]
    elif how == "table-past-file-size-limit":
        popen["preexec_fn"] = fk.fsize_limit(table // 2)
        needles = ["2022-32.parquet failed", "previous table was left in place"]
    else:
        if os.geteuid() != 0 or subprocess.run(["chattr", "+i", str(data / "manifest.json")], capture_output=True).returncode:
            pytest.skip("chattr +i needs root and a file system that supports it")
        needles = ["manifest.json could not be saved", "previous table and manifest were left in place"]
    rows = [{**r, "AvgAnnualOpenings": str(float(r["AvgAnnualOpenings"]) + 1000)} for r in fk.wy_rows()]
    before = fk.snapshot(data)
    try:
        with serve(require_shared() / "mirror", {fk.WY: fk.body(fk.projections_json(rows))}) as srv:
            proc = fk.run_cli("ingest", "projections", "--states", "WY", "--force", "--mirror", base_url(srv), data_dir=data,
                              env=fk.FAST, timeout=180, **popen)
    finally:
        if how == "manifest-immutable":
            subprocess.run(["chattr", "-i", str(data / "manifest.json")], check=True)
    fk.assert_clean_exit(proc, needles, codes=(1,))
    fk.assert_intact(before, data, manifest_bytes=True)
    fk.assert_consistent(data)
    assert fk.table(data, "state_projections", "2022-32").filter(pl.col("stfips") == "56").height == wy_rows


# -- caches of the wrong shape are misses, rewritten ------------------------------------------------------------------
CACHE_SHAPES: dict[str, bytes | None] = {
    "a-list": b"[]", "empty-object": b"{}", "a-string": b'"rows"', "rows-a-number": b'{"rows": 5, "method": {}}',
    "truncated": b'{"rows": {"columns": ["a"', "200k-deep": fk.deep_json(200_000),
    "rows-of-the-wrong-length": json.dumps({"rows": {"columns": ["a", "b"], "numeric": [False, True], "rows": [["x"]]},
                                            "method": {}, "notes": [], "title": "t", "method_line": "m"}).encode(),
    "not-utf8": b"\xff\xfe{}", "a-fifo": None, "a-link": None,
}


@pytest.mark.parametrize("shape", list(CACHE_SHAPES))
def test_result_cache_entry_of_the_wrong_shape_is_a_miss(data: Path, tmp_path: Path, shape: str) -> None:
    env = {**fk.FAST, "GAPKIT_NO_CACHE": "0", "GAPKIT_CACHE_DIR": str(tmp_path / "vcache")}
    args = ["gap", "--by", "subsector", "--format", "csv"]
    first = fk.run_cli(*args, data_dir=data, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    (entry,) = list((data / "cache" / "results").glob("*.json"))
    entry.unlink()
    victim = tmp_path / "victim.json"
    victim.write_text("precious\n")
    if shape == "a-fifo":
        os.mkfifo(entry)
    elif shape == "a-link":
        entry.symlink_to(victim)
    else:
        entry.write_bytes(CACHE_SHAPES[shape] or b"")
    before = fk.snapshot(data)
    again = fk.run_cli(*args, data_dir=data, env=env, timeout=120)
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    assert victim.read_text() == "precious\n"
    assert fk.snapshot(data) == before
    if shape not in {"a-fifo", "a-link"}:  # rewritten: the third run is answered from it
        from gapkit.cache import well_formed

        assert well_formed(json.loads(entry.read_text()))


@pytest.mark.parametrize("shape", ["a-list", "empty-object", "truncated", "200k-deep", "wrong-data", "a-fifo"])
def test_validation_cache_entry_of_the_wrong_shape_is_a_miss(data: Path, tmp_path: Path, shape: str) -> None:
    sector = tmp_path / "my.toml"
    shipped = Path(__import__("gapkit").__file__).parent / "config" / "shipped" / "sectors" / "transportation.toml"
    sector.write_text(shipped.read_text().replace('name = "transportation"', 'name = "my-transportation"'))
    env = {**fk.FAST, "GAPKIT_CACHE_DIR": str(tmp_path / "vcache")}
    args = ["gap", "--sector-file", str(sector), "--format", "csv"]
    first = fk.run_cli(*args, data_dir=data, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    entries = list((tmp_path / "vcache" / "validated").glob("*.json"))
    assert entries
    for e in entries:
        e.unlink()
        if shape == "a-fifo":
            os.mkfifo(e)
        else:
            e.write_bytes({"a-list": b"[]", "empty-object": b"{}", "truncated": b'{"kind": "sec', "200k-deep": fk.deep_json(200_000),
                           "wrong-data": json.dumps({"kind": e.name.split("-")[0], "digest": "x", "data": {"groups": 5}}).encode()}[shape])
    again = fk.run_cli(*args, data_dir=data, env=env, timeout=120)
    assert again.returncode == 0 and again.stdout.replace(str(sector), "") == first.stdout.replace(str(sector), ""), again.stderr


# -- --wait that never ends, while another ingest holds the lock --------------------------------------------------------
@pytest.mark.parametrize("wait", ["nan", "inf", "-1", "1e400", "86400000"])
def test_wait_must_end(data: Path, shared: Path, wait: str) -> None:
    before = fk.snapshot(data)
    with fk.hold_lock(data):
        proc = fk.run_cli("ingest", "crosswalk", "--offline", "--wait", wait, "--from", str(shared / "mirror" / "nces.ed.gov"),
                          data_dir=data, env=fk.FAST, timeout=60)
    fk.assert_clean_exit(proc, ["--wait", "seconds"], codes=(2,))
    assert fk.snapshot(data) == before


# -- temporary files: under the data folder, swept under the lock, removed on SIGTERM --------------------------------------
def _no_gapkit_temp(folder: Path) -> None:
    left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    assert not left, f"left in the system temporary folder: {left}"


KILL_SOURCES = {"ipeds": ("ipeds", "nces.ed.gov/ipeds/datacenter/data"), "oews": ("oews", "www.bls.gov/oes/special-requests")}


@pytest.mark.parametrize("source", list(KILL_SOURCES))
def test_killed_ingest_leaves_nothing_in_the_system_temporary_folder(data: Path, tmp_path: Path, shared: Path, source: str) -> None:
    """Archives are unpacked in the data folder's scratch folder: SIGKILL while one is unpacked leaves nothing in the
    system temporary folder, and the next ingest sweeps the scratch folder under its lock."""
    name, folder = KILL_SOURCES[source]
    systmp = tmp_path / "systmp"
    systmp.mkdir()
    env = {**os.environ, **fk.FAST, "GAPKIT_DATA_DIR": str(data), "TMPDIR": str(systmp)}
    args = ["ingest", name, "--force", "--offline", "--from", str(shared / "mirror" / folder)]
    proc = subprocess.Popen([sys.executable, "-m", "gapkit.cli", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert kill_when(proc, lambda: any((data / "tmp").glob(f"gapkit-{name}-*")), timeout=120), "never saw the scratch folder"
    _no_gapkit_temp(systmp)
    assert list((data / "tmp").glob(f"gapkit-{name}-*"))  # what the killed run left is in the data folder...
    fk.assert_consistent(data)
    done = fk.run_cli(*args[:2], *args[3:], data_dir=data, env={**fk.FAST, "TMPDIR": str(systmp)}, timeout=300)
    assert done.returncode == 0, done.stderr
    fk.assert_no_leftovers(data)  # ...and the next run swept it
    _no_gapkit_temp(systmp)


TERM_CASES = [("report", 1.0), ("report", 2.5), ("report", 4.0), ("chart", 0.8), ("chart", 1.6), ("ingest", 1.0), ("ingest", 2.5)]


@pytest.mark.parametrize(("command", "delay"), TERM_CASES, ids=[f"{c}-{d}s" for c, d in TERM_CASES])
def test_sigterm_removes_temporary_files(data: Path, tmp_path: Path, shared: Path, command: str, delay: float) -> None:
    """SIGTERM (a cron timeout, `kill`) at some moment of a report, a chart or an ingest: cleanup runs, nothing
    temporary stays in --out, the data folder or the system temporary folder; never a traceback."""
    systmp, out = tmp_path / "systmp", tmp_path / "out"
    systmp.mkdir()
    out.mkdir()
    argv = {"report": ["report", "--out", str(out / "brief")], "chart": ["chart", "scatter", "--out", str(out / "x.svg")],
            "ingest": ["ingest", "ipeds", "--force", "--offline", "--from", str(ipeds_dir(shared))]}[command]
    env = {**os.environ, **fk.FAST, "GAPKIT_DATA_DIR": str(data), "TMPDIR": str(systmp), "GAPKIT_CACHE_DIR": str(tmp_path / "c")}
    proc = subprocess.Popen([sys.executable, "-m", "gapkit.cli", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 143, -signal.SIGTERM), err  # -15: the signal came as the process was exiting
    assert "Traceback" not in err
    if proc.returncode == 143:
        assert "SIGTERM" in err
    left = [str(p) for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert not left, f"temporary files left in --out: {left}"
    _no_gapkit_temp(systmp)
    fk.assert_no_leftovers(data)
    fk.assert_consistent(data)


def test_sigterm_while_chromium_prints(data: Path, tmp_path: Path) -> None:
    """SIGTERM while Chromium prints brief.pdf (it runs beside the PNG rendering): Chromium and its helper processes are
    stopped, its temporary files (in gapkit's private folder) removed, one line, exit 143."""
    systmp, out, marker, pidfile = tmp_path / "systmp", tmp_path / "out", tmp_path / "printing", tmp_path / "helper.pid"
    systmp.mkdir()
    out.mkdir()
    exe = tmp_path / "slow-chromium"  # a stand-in that marks when it prints, makes its temp files, starts a helper, waits
    exe.write_text(f'#!/bin/sh\nmkdir "$TMPDIR/org.chromium.Chromium.x"\nsleep 120 &\necho $! > {pidfile}\ntouch {marker}\nwait\n')
    exe.chmod(0o755)
    env = {**os.environ, **fk.FAST, "GAPKIT_DATA_DIR": str(data), "TMPDIR": str(systmp), "GAPKIT_CACHE_DIR": str(tmp_path / "c"),
           "GAPKIT_CHROMIUM": str(exe)}
    proc = subprocess.Popen([sys.executable, "-m", "gapkit.cli", "report", "--out", str(out / "brief")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "Chromium was never started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "SIGTERM" in err and "Traceback" not in err, err
    helper = int(pidfile.read_text())
    for _ in range(100):
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{helper}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail("Chromium's helper process was left running")
    _no_gapkit_temp(systmp)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    fk.assert_no_leftovers(data)


# -- names at the limit: a legal 250-character name is never refused for its temporary name --------------------------------
@pytest.mark.parametrize("command", ["gap-csv", "gap-parquet", "chart", "report"])
def test_legal_250_character_names(data: Path, tmp_path: Path, command: str) -> None:
    name = "n" * 246
    argv = {"gap-csv": ["gap", "--format", "csv", "--out", str(tmp_path / (name + ".csv"))],
            "gap-parquet": ["gap", "--format", "parquet", "--out", str(tmp_path / (name[:-4] + ".parquet"))],
            "chart": ["chart", "bars", "--out", str(tmp_path / (name + ".svg"))],
            "report": ["report", "--out", str(tmp_path / ("r" * 250))]}[command]
    proc = fk.run_cli(*argv, data_dir=data, env=fk.FAST, timeout=180)
    assert proc.returncode == 0, proc.stderr
    target = Path(argv[-1])
    assert target.exists() and len(target.name) >= 250
    if command == "gap-csv":  # its provenance beside it, under a name short enough to exist
        side = [p for p in tmp_path.iterdir() if p.name.endswith(".meta.json")]
        assert len(side) == 1 and len(side[0].name) <= 255 and side[0].name.startswith("n" * 200)
    assert not [p for p in tmp_path.rglob("*.tmp")]
