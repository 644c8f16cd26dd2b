"""Shared machinery of the fault-injection suite (tests/test_faults_*.py).

- :func:`good_store` builds, once per test session, a data folder holding everything in ../shared
  (ingested from local files) plus raw copies, ETags and raw records of the files the faults target,
  downloaded through the loopback server from ../shared/mirror (read in place, never copied into the
  repo). Each test works on its own copy (``shutil.copytree`` into ``tmp_path``).
- :func:`snapshot` digests every file of a data folder; :func:`assert_intact` checks that a failed run
  left raw files, Parquet and manifest byte-identical (sibling raw records may only gain a
  ``checked`` time, and then only the manifest's ``updated``/``checked`` stamps may differ).
- Fault builders answer a request in place of the file (``tests.httpserver`` hooks).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_shared, run_cli
from tests.httpserver import Handler, base_url, hang_for, serve
from tests.httpserver import trickle as trickle_for

Fault = Callable[[Handler], bool]

# Small limits so that retries, timeouts and trickles cost seconds, not minutes.
FAST = {
    "GAPKIT_HTTP_BACKOFF": "0.01",
    "GAPKIT_HTTP_TIMEOUT": "1",
    "GAPKIT_HTTP_DEADLINE": "3",
    "GAPKIT_HTTP_RETRIES": "2",
    "GAPKIT_NO_CACHE": "1",
}
EP = "/www.bls.gov/emp/ind-occ-matrix/occupation.xlsx"
C24 = "/nces.ed.gov/ipeds/datacenter/data/C2024_A.zip"
HD24 = "/nces.ed.gov/ipeds/datacenter/data/HD2024.zip"
OEWS = "/www.bls.gov/oes/special-requests/oesm24nat.zip"
XWALK = "/nces.ed.gov/ipeds/cipcode/Files/CIP2020_SOC2018_Crosswalk.xlsx"
PC = "/public.projectionscentral.org/Projections/LongTermRestJson/"
WY = PC + "56"

# The ingests the good store is prepared with (and that the faults break).
PREPARED = (["bls-ep"], ["ipeds", "--years", "2024"], ["projections", "--states", "WY"], ["oews"], ["crosswalk"])
RAW = {
    EP: "raw/bls-ep/occupation.xlsx",
    C24: "raw/ipeds/C2024_A.zip",
    HD24: "raw/ipeds/HD2024.zip",
    OEWS: "raw/oews/oesm24nat.zip",
    XWALK: "raw/crosswalk/CIP2020_SOC2018_Crosswalk.xlsx",
    WY: "raw/projections/longterm/56.json",
}

_GOOD: dict[str, Path] = {}


def good_store(tmp_path_factory: pytest.TempPathFactory, ingested: Path) -> Path:
    """The session's good data folder (built on first use; see the module docstring)."""
    key = str(tmp_path_factory.getbasetemp())
    if key in _GOOD:
        return _GOOD[key]
    mirror = require_shared() / "mirror"
    d = tmp_path_factory.mktemp("faults") / "good"
    shutil.copytree(ingested, d, ignore=shutil.ignore_patterns("cache"))
    with serve(mirror) as srv:
        for args in PREPARED:
            proc = run_cli("ingest", *args, "--mirror", base_url(srv), data_dir=d, env=FAST, timeout=300)
            assert proc.returncode == 0, proc.stderr
    for rel in RAW.values():
        assert (d / rel).is_file(), rel
    _GOOD[key] = d
    return d


def copy_store(good: Path, tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(good, d)
    return d


# -- snapshots ------------------------------------------------------------------------------------
def _stamps_removed(manifest: dict[str, Any]) -> dict[str, Any]:
    m = json.loads(json.dumps(manifest))
    m.pop("updated", None)
    for rec in m.get("raw", {}).values():
        if isinstance(rec, dict):
            rec.pop("checked", None)
    return m


def snapshot(d: Path) -> dict[str, str]:
    """sha256 of every file in the data folder (not the lock, not the result cache), and of the
    manifest without its ``updated``/``checked`` time stamps. Links are recorded by their target and pipes or
    devices by their kind: a snapshot never follows a planted link or opens a pipe."""
    out = {k: v for k, v in tree_state(d).items() if not k.endswith(".gapkit.lock") and "cache" not in Path(k).parts}
    m_path = d / "manifest.json"
    if m_path.is_file() and not m_path.is_symlink():
        try:
            m = json.loads(m_path.read_text())
        except (ValueError, RecursionError):
            return out
        if isinstance(m, dict):
            # each test's loopback server listens on its own port: the mirror URLs in raw records differ by it
            text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", json.dumps(_stamps_removed(m), sort_keys=True))
            out["manifest (without time stamps)"] = hashlib.sha256(text.encode()).hexdigest()
    return out


def tree_state(folder: Path) -> dict[str, str]:
    """What is under ``folder``: a regular file's sha256, a link's target (never followed), another entry's kind
    (a pipe is never opened). Folders themselves are not listed."""
    out: dict[str, str] = {}
    if not folder.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*filenames, *(n for n in dirnames if (Path(dirpath) / n).is_symlink())]:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(folder))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "link -> " + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = f"special {stat.S_IFMT(st.st_mode):o}"
    return out


def assert_intact(before: dict[str, str], d: Path, *, manifest_bytes: bool) -> None:
    """Nothing that existed changed, nothing was added, no temporary file stays behind.

    ``manifest_bytes``: the manifest must be byte-identical (a run whose only download failed);
    otherwise a good sibling file may have been re-checked, which stamps its raw record.
    """
    after = snapshot(d)
    if manifest_bytes:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    else:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and k != "manifest.json")
    assert not changed, f"changed or new files after a failed run: {changed}"
    assert_no_leftovers(d)


def assert_no_leftovers(d: Path) -> None:
    """No temporary file (``*.tmp``, partial downloads) and nothing in the scratch folder stays behind."""
    leftovers = [str(p) for p in d.rglob("*") if (p.is_file() or p.is_symlink())
                 and (".partial" in p.parts or p.name.endswith(".tmp") or p.relative_to(d).parts[0] == "tmp")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def assert_clean_failure(proc: subprocess.CompletedProcess[str], needles: list[str]) -> None:
    """Non-zero exit, no traceback, one ``error:`` paragraph per failure naming what went wrong."""
    assert proc.returncode != 0, (proc.stdout or "") + proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in (proc.stdout or ""), proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")] or [proc.stderr]
    assert errors, proc.stderr
    for n in needles:
        assert n in proc.stderr, f"{n!r} not in stderr:\n{proc.stderr}"


def assert_clean_exit(proc: subprocess.CompletedProcess[str], needles: list[str], codes: tuple[int, ...] = (1, 2)) -> None:
    """A failure the user or the environment caused: exit 1 or 2 (never 70, "a bug"), one ``error:`` paragraph
    naming what went wrong, no traceback."""
    assert_clean_failure(proc, needles)
    assert proc.returncode in codes, f"exit {proc.returncode}, expected one of {codes}:\n{proc.stderr}"
    assert "unexpected error" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors, f"no 'error:' paragraph:\n{proc.stderr}"


def fsize_limit(nbytes: int) -> Callable[[], None]:
    """A ``preexec_fn``: files the process writes may not grow past ``nbytes`` (RLIMIT_FSIZE). With SIGXFSZ
    ignored, a write past it fails with EFBIG, as a full disk fails with ENOSPC: no root, no special
    file system."""
    import resource
    import signal

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def hold_lock(d: Path) -> Any:
    """Hold the data folder's ingest lock from this process (as a running ingest would); a context manager."""
    import contextlib
    import fcntl

    @contextlib.contextmanager
    def held() -> Any:
        with open(d / ".gapkit.lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            fh.seek(0)
            fh.truncate()
            fh.write("pid 1 since a test")
            fh.flush()
            yield
    return held()


def assert_consistent(d: Path) -> None:
    """The manifest parses, every table it names reads with the row count it records."""
    import polars as pl

    m = json.loads((d / "manifest.json").read_text())
    for key, e in m["datasets"].items():
        rows = pl.scan_parquet(d / e["path"]).select(pl.len()).collect().item()
        assert rows == e["rows"], f"{key}: manifest says {e['rows']} rows, the Parquet has {rows}"
    for rel, rec in m["raw"].items():
        p = d / "raw" / rel
        assert p.is_file(), f"raw record {rel} without its file"
        assert hashlib.sha256(p.read_bytes()).hexdigest() == rec["sha256"], f"raw file {rel} does not match its record"


def table(d: Path, dataset: str, vintage: str) -> Any:
    import polars as pl

    return pl.read_parquet(d / "processed" / dataset / f"{vintage}.parquet")


def ingest(d: Path, *args: str, mirror: Path | None = None, faults: dict[str, Fault] | None = None,
           env: dict[str, str] | None = None, timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`gapkit ingest ARGS --mirror http://127.0.0.1:PORT/` against ../shared/mirror with ``faults``;
    returns the process and the paths the server was asked for."""
    mirror = mirror or require_shared() / "mirror"
    with serve(mirror, faults or {}) as srv:
        proc = run_cli("ingest", *args, "--mirror", base_url(srv), data_dir=d, env={**FAST, **(env or {})}, timeout=timeout)
        asked = [p for p, _ in srv.requests]
    return proc, asked


# -- faults ---------------------------------------------------------------------------------------
def body(data: bytes) -> Fault:
    """Serve ``data`` (200, correct Content-Length) instead of the file."""
    def f(h: Handler) -> bool:
        h.serve_file(body=data)
        return True
    return f


def status(code: int, headers: dict[str, str] | None = None, times: int | None = None) -> Fault:
    """Answer ``code`` (the first ``times`` requests only, when given)."""
    n = {"k": 0}

    def f(h: Handler) -> bool:
        n["k"] += 1
        if times is not None and n["k"] > times:
            return False
        h.send_plain(code, b"<html><body>error</body></html>", headers)
        return True
    return f


def first(times: int, fault: Fault) -> Fault:
    """``fault`` for the first ``times`` requests, then the real file."""
    n = {"k": 0}

    def f(h: Handler) -> bool:
        n["k"] += 1
        return fault(h) if n["k"] <= times else False
    return f


def reset(h: Handler) -> bool:
    """Drop the connection with a TCP RST before answering."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True
    return True


hang = hang_for(2.5)
trickle = trickle_for(100_000, 100, b"PK" * 5, 0.1)  # 10 bytes every 0.1 s of a big answer


def truncated(h: Handler) -> bool:
    """Announce 400,000 bytes, send 1,004 and close."""
    h.send_response(200)
    h.send_header("Content-Length", "400000")
    h.end_headers()
    h.wfile.write(b"PK\x03\x04" + b"\0" * 1000)
    h.close_connection = True
    return True


def redirect_loop(h: Handler) -> bool:
    h.send_plain(302, b"", {"Location": h.path})
    return True


def redirect_to(location: str) -> Fault:
    def f(h: Handler) -> bool:
        h.send_plain(301, b"", {"Location": location})
        return True
    return f


def short_length(real: bytes, missing: int) -> Fault:
    """Content-Length says ``missing`` bytes fewer than the body: the client keeps a cut file."""
    def f(h: Handler) -> bool:
        h.send_response(200)
        h.send_header("Content-Length", str(len(real) - missing))
        h.end_headers()
        h.wfile.write(real)
        h.close_connection = True
        return True
    return f


def gzip_encoded(real: bytes) -> Fault:
    """The real file, gzip Content-Encoding (what web servers do to JSON and CSV answers)."""
    import gzip

    z = gzip.compress(real)

    def f(h: Handler) -> bool:
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(z)))
        h.end_headers()
        h.wfile.write(z)
        return True
    return f


def not_modified(h: Handler) -> bool:
    """304 whatever the request (a cache or server that ignores the conditional headers)."""
    h.send_response(304)
    h.send_header("Content-Length", "0")
    h.end_headers()
    return True


# -- bad bytes built from the real files (in memory / tmp_path, never in the repo) ------------------
def mirror_bytes(path: str) -> bytes:
    return (require_shared() / "mirror" / path.lstrip("/")).read_bytes()


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def zip_text(path: str) -> tuple[str, str]:
    """(member name, text) of the one CSV inside a mirror zip."""
    with zipfile.ZipFile(io.BytesIO(mirror_bytes(path))) as z:
        name = z.namelist()[0]
        raw = z.read(name)
    return name, raw.decode("utf-8-sig") if not _is_cp1252(raw) else raw.decode("cp1252")


def _is_cp1252(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def edited_zip(path: str, edit: Callable[[str], str], encoding: str = "utf-8") -> bytes:
    """The mirror zip with its CSV member's text edited (and written in ``encoding``)."""
    name, text = zip_text(path)
    return zip_bytes({name: edit(text).encode(encoding)})


def edited_xlsx(path: str, member: str, edit: Callable[[bytes], bytes]) -> bytes:
    """The mirror workbook with one XML part edited; every other part byte-identical."""
    src = zipfile.ZipFile(io.BytesIO(mirror_bytes(path)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            out.writestr(info.filename, edit(data) if info.filename == member else data)
    return buf.getvalue()


def patched_zip(data: bytes, *, method: int | None = None, flags: int | None = None, declared_size: int | None = None) -> bytes:
    """Patch the first member's local and central headers: compression method, flag bits, declared size."""
    b = bytearray(data)
    local, central = 0, b.find(b"PK\x01\x02")
    assert b[:4] == b"PK\x03\x04" and central > 0
    if method is not None:
        b[local + 8:local + 10] = method.to_bytes(2, "little")
        b[central + 10:central + 12] = method.to_bytes(2, "little")
    if flags is not None:
        b[local + 6:local + 8] = flags.to_bytes(2, "little")
        b[central + 8:central + 10] = flags.to_bytes(2, "little")
    if declared_size is not None:
        b[local + 22:local + 26] = declared_size.to_bytes(4, "little")
        b[central + 24:central + 28] = declared_size.to_bytes(4, "little")
    return bytes(b)


def projections_json(rows: list[dict[str, str]], total: int | None = None, pages: int = 1) -> bytes:
    return json.dumps({"rows": rows, "pager": {"current_page": 0, "items_per_page": 1000,
                                               "total_items": len(rows) if total is None else total, "total_pages": pages}}).encode()


def wy_rows() -> list[dict[str, str]]:
    return json.loads(mirror_bytes(WY))["rows"]
