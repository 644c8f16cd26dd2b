"""Fault injection through the real CLI: agency servers that fail, files that are not what they claim.

Every failing case asserts a clear one-paragraph message naming the file/URL/option, a non-zero exit,
no traceback, and that the previous good raw files, Parquet and manifest are byte-identical.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.httpserver import Handler, base_url, serve

FAST = {"GAPKIT_HTTP_BACKOFF": "0.01", "GAPKIT_HTTP_TIMEOUT": "1", "GAPKIT_HTTP_DEADLINE": "3", "GAPKIT_HTTP_RETRIES": "2",
        "GAPKIT_NO_CACHE": "1"}
EP = "/www.bls.gov/emp/ind-occ-matrix/occupation.xlsx"
C24 = "/nces.ed.gov/ipeds/datacenter/data/C2024_A.zip"
HD24 = "/nces.ed.gov/ipeds/datacenter/data/HD2024.zip"
PC = "/public.projectionscentral.org/Projections/LongTermRestJson/"


def snapshot(d: Path) -> dict[str, str]:
    """Digests of the stored tables, the manifest's dataset entries and every raw file.

    A good sibling download in the same run (e.g. HD2024.zip while C2024_A.zip fails) may add its raw
    copy and raw record; nothing that existed may change.
    """
    import json

    out = {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
           for p in sorted(d.rglob("*")) if p.is_file() and p.name not in {".gapkit.lock", "manifest.json"} and "cache" not in p.parts}
    m = json.loads((d / "manifest.json").read_text())
    out["manifest.datasets"] = hashlib.sha256(json.dumps(m["datasets"], sort_keys=True).encode()).hexdigest()
    out["manifest.files"] = hashlib.sha256(json.dumps(m["files"], sort_keys=True).encode()).hexdigest()
    return out


def same_or_grown(before: dict[str, str], after: dict[str, str]) -> bool:
    return all(after.get(k) == v for k, v in before.items()) and all(k.startswith("raw/") for k in set(after) - set(before))


@pytest.fixture
def data(ingested: Path, tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(ingested, d, ignore=shutil.ignore_patterns("cache"))
    return d


def body(b: bytes) -> Callable[[Handler], bool]:
    def f(h: Handler) -> bool:
        h.serve_file(body=b)
        return True
    return f


def status(code: int, headers: dict[str, str] | None = None, times: int | None = None) -> Callable[[Handler], bool]:
    n = {"k": 0}

    def f(h: Handler) -> bool:
        n["k"] += 1
        if times is not None and n["k"] > times:
            return False
        h.send_plain(code, b"<html><body>error</body></html>", headers)
        return True
    return f


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def csv_member(mirror: Path, path: str, edit: Callable[[str], str]) -> bytes:
    with zipfile.ZipFile(mirror / path.lstrip("/")) as z:
        name = z.namelist()[0]
        text = z.read(name).decode("utf-8-sig")
    return zip_bytes({name: edit(text).encode()})


def reset(h: Handler) -> bool:
    import socket
    import struct

    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()
    h.close_connection = True
    return True


def hang(h: Handler) -> bool:
    time.sleep(2.5)
    return False


def trickle(h: Handler) -> bool:
    h.send_response(200)
    h.send_header("Content-Length", "100000")
    h.end_headers()
    try:
        for _ in range(100):
            h.wfile.write(b"PK" * 5)
            h.wfile.flush()
            time.sleep(0.1)
    except OSError:
        pass
    h.close_connection = True
    return True


def truncated(h: Handler) -> bool:
    h.send_response(200)
    h.send_header("Content-Length", "400000")
    h.end_headers()
    h.wfile.write(b"PK\x03\x04" + b"\0" * 1000)
    h.close_connection = True
    return True


def redirect_loop(h: Handler) -> bool:
    h.send_plain(302, b"", {"Location": h.path})
    return True


def projections_json(rows: list[dict[str, str]], total: int) -> bytes:
    import json

    return json.dumps({"rows": rows, "pager": {"current_page": 0, "items_per_page": 1000, "total_items": total, "total_pages": 1}}).encode()


def _wy_rows(mirror: Path) -> list[dict[str, str]]:
    import json

    return json.loads((mirror / PC.lstrip("/") / "56").read_bytes())["rows"]


# (id, sources, faults builder, expected message fragments)
FAILING: list[tuple[str, list[str], Callable[[Path], dict[str, Callable[[Handler], bool]]], list[str]]] = [
    ("http-403", ["bls-ep"], lambda m: {EP: status(403)}, ["HTTP 403", "GAPKIT_CONTACT", "occupation.xlsx"]),
    ("http-404", ["bls-ep"], lambda m: {EP: status(404)}, ["HTTP 404", "occupation.xlsx"]),
    ("http-410", ["bls-ep"], lambda m: {EP: status(410)}, ["HTTP 410"]),
    ("http-500-forever", ["bls-ep"], lambda m: {EP: status(500)}, ["HTTP 500", "gave up after 3 attempts"]),
    ("http-503-forever", ["bls-ep"], lambda m: {EP: status(503)}, ["HTTP 503", "gave up"]),
    ("http-429-forever", ["bls-ep"], lambda m: {EP: status(429, {"Retry-After": "0"})}, ["HTTP 429", "gave up"]),
    ("connection-reset", ["bls-ep"], lambda m: {EP: reset}, ["occupation.xlsx", "gave up"]),
    ("timeout", ["bls-ep"], lambda m: {EP: hang}, ["occupation.xlsx", "Timeout"]),
    ("slow-trickle", ["bls-ep"], lambda m: {EP: trickle}, ["longer than 3 s"]),
    ("redirect-loop", ["bls-ep"], lambda m: {EP: redirect_loop}, ["redirects in a loop"]),
    ("truncated-body", ["bls-ep"], lambda m: {EP: truncated}, ["complete message body", "expected 400000"]),
    ("html-as-xlsx", ["bls-ep"], lambda m: {EP: body(b"<!DOCTYPE html><html><title>Access Denied</title></html>")},
     ["occupation.xlsx", "HTML page"]),
    ("html-as-zip", ["ipeds", "--years", "2024"], lambda m: {C24: body(b"<html><body>Service unavailable</body></html>")},
     ["C2024_A.zip", "HTML page"]),
    ("corrupt-zip", ["ipeds", "--years", "2024"], lambda m: {C24: body(b"PK\x03\x04" + os.urandom(3000))},
     ["C2024_A.zip", "corrupt"]),
    ("zip-slip", ["ipeds", "--years", "2024"], lambda m: {HD24: body(zip_bytes({"../../evil/hd2024.csv": b"UNITID\n1\n"}))},
     ["HD2024.zip", "zip-slip"]),
    ("zip-bomb", ["ipeds", "--years", "2024"], lambda m: {C24: body(zip_bytes({"c2024_a.csv": b"0" * 60_000_000}))},
     ["C2024_A.zip", "safety limit"]),
    ("xlsx-missing-sheet", ["bls-ep"],
     lambda m: {EP: body((m / "nces.ed.gov/ipeds/cipcode/Files/CIP2020_SOC2018_Crosswalk.xlsx").read_bytes())},
     ["occupation.xlsx", "no sheet 'Table 1.10'"]),
    ("renamed-header", ["ipeds", "--years", "2024"], lambda m: {C24: body(csv_member(m, C24, lambda t: t.replace("CTOTALT", "CTOTAL_T", 1)))},
     ["ctotalt", "c2024_a.csv"]),
    ("missing-column", ["ipeds", "--years", "2024"],
     lambda m: {C24: body(csv_member(m, C24, lambda t: "\n".join(",".join(x for i, x in enumerate(line.split(",")) if i != 3) for line in t.splitlines())))},
     ["awlevel", "c2024_a.csv"]),
    ("empty-file", ["bls-ep"], lambda m: {EP: body(b"")}, ["occupation.xlsx", "empty"]),
    ("duplicated-rows", ["ipeds", "--years", "2024"],
     lambda m: {C24: body(csv_member(m, C24, lambda t: t + "\n".join(t.splitlines()[1:50]) + "\n"))}, ["duplicated rows"]),
    ("unreadable-count", ["ipeds", "--years", "2024"],
     lambda m: {C24: body(csv_member(m, C24, lambda t: t.replace(",1,5,12,2,10", ",1,5,twelve,2,10", 1)))}, ["unreadable"]),
    ("totals-dont-add-up", ["ipeds", "--years", "2024"],
     lambda m: {C24: body(csv_member(m, C24, lambda t: t.replace(",1,5,12,2,10", ",1,5,13,2,11", 1)))}, ["CIP 99 total", "UNITID 100654"]),
    ("projections-count-mismatch", ["projections", "--states", "WY"],
     lambda m: {PC + "56": body(projections_json(_wy_rows(m)[:100], 542))}, ["total_items=542", "LongTermRestJson/56"]),
    ("projections-other-state", ["projections", "--states", "WY"],
     lambda m: {PC + "56": body(projections_json([{**r, "STFIPS": "54"} if i < 5 else r for i, r in enumerate(_wy_rows(m))], 542))},
     ["STFIPS 54", "LongTermRestJson/56"]),
    ("projections-not-json", ["projections", "--states", "WY"], lambda m: {PC + "56": body(b"<html>No results</html>")},
     ["not JSON"]),
    ("projections-no-data", ["projections", "--states", "WY"], lambda m: {PC + "56": status(404)}, ["HTTP 404"]),
]


@pytest.mark.parametrize(("case", "args", "faults", "needles"), FAILING, ids=[c[0] for c in FAILING])
def test_failure_leaves_store_intact(data: Path, mirror_dir: Path, case: str, args: list[str],
                                     faults: Callable[[Path], dict[str, Callable[[Handler], bool]]], needles: list[str]) -> None:
    before = snapshot(data)
    with serve(mirror_dir, faults(mirror_dir)) as srv:
        proc = run_cli("ingest", *args, "--mirror", base_url(srv), data_dir=data, env=FAST, timeout=120)
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in proc.stderr, f"{case}: {n!r} not in {proc.stderr}"
    assert same_or_grown(before, snapshot(data))
    assert not [p for p in data.rglob("*") if ".partial" in p.parts and p.is_file()], "no partial download may stay behind"


@pytest.mark.parametrize("fault", ["503-twice", "429-retry-after", "500-once", "reset-once"])
def test_transient_errors_are_retried(data: Path, mirror_dir: Path, fault: str) -> None:
    f = {"503-twice": status(503, times=2), "429-retry-after": status(429, {"Retry-After": "1"}, times=1),
         "500-once": status(500, times=1)}.get(fault)
    if fault == "reset-once":
        n = {"k": 0}

        def f(h: Handler) -> bool:
            n["k"] += 1
            return reset(h) if n["k"] == 1 else False
    with serve(mirror_dir, {EP: f}) as srv:  # type: ignore[dict-item]
        proc = run_cli("ingest", "bls-ep", "--mirror", base_url(srv), data_dir=data, env=FAST, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (data / "raw" / "bls-ep" / "occupation.xlsx").exists()


def test_kill_mid_ingest_leaves_consistent_store(data: Path, mirror_dir: Path, shared: Path) -> None:
    import json

    import polars as pl

    env = {**os.environ, **FAST, "GAPKIT_DATA_DIR": str(data)}
    cmd = [sys.executable, "-m", "gapkit.cli", "ingest", "--offline", "--force", "--from", str(shared / "data" / "bls_nem")]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.5)
    p.send_signal(signal.SIGKILL)
    p.wait()
    m = json.loads((data / "manifest.json").read_text())
    for e in m["datasets"].values():
        pl.read_parquet(data / e["path"])  # every table the manifest names is readable
    done = run_cli("ingest", "--offline", "--from", str(shared / "data" / "bls_nem"), data_dir=data, env=FAST)
    assert done.returncode == 0, done.stderr


def test_two_ingests_at_once(data: Path, shared: Path) -> None:
    env = {**os.environ, **FAST, "GAPKIT_DATA_DIR": str(data)}
    cmd = [sys.executable, "-m", "gapkit.cli", "ingest", "--offline", "--force", "--from", str(shared / "data" / "bls_nem")]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    second = run_cli("ingest", "--offline", "--from", str(shared / "data" / "bls_ep"), data_dir=data, env=FAST)
    assert first.wait(timeout=120) == 0
    assert second.returncode != 0 and "Another gapkit ingest" in second.stderr and "Traceback" not in second.stderr
    queued = run_cli("ingest", "--offline", "--wait", "60", "--from", str(shared / "data" / "bls_ep"), data_dir=data, env=FAST)
    assert queued.returncode == 0


@pytest.mark.parametrize(("args", "needle"), [
    (["ingest", "--mirror", "/no/such/mirror"], "no such folder"),
    (["ingest", "--offline", "--mirror", "http://127.0.0.1:9/"], "--offline cannot be combined"),
    (["ingest", "projections", "--states", "XX", "--offline"], "--states"),
    (["ingest", "ipeds", "--years", "1800", "--offline"], "--years"),
    (["gap", "--out", "/nonexistent-folder/x.csv", "--format", "csv"], "does not exist"),
])
def test_bad_cli_input(data: Path, args: list[str], needle: str) -> None:
    proc = run_cli(*args, data_dir=data, env=FAST)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and needle in proc.stderr, proc.stderr


def test_unwritable_out(data: Path) -> None:
    # /proc refuses new files even for root, so this holds however the tests are run
    proc = run_cli("gap", "--format", "csv", "--out", "/proc/gapkit-test.csv", data_dir=data)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "--out /proc/gapkit-test.csv" in proc.stderr, proc.stderr


def test_tls_verification_on_by_default(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import ssl

    from gapkit.fetch import Fetcher

    with Fetcher() as f:
        ctx = f.client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    monkeypatch.setenv("GAPKIT_INSECURE_SKIP_TLS_VERIFY", "1")
    with Fetcher():
        pass
    assert "NOT being verified" in capsys.readouterr().err


def test_no_eval_pickle_or_shell_on_downloaded_content() -> None:
    src = Path(__file__).resolve().parents[1] / "src" / "gapkit"
    for p in src.rglob("*.py"):
        text = p.read_text()
        for bad in ("import pickle", "eval(", "exec(", "shell=True", "os.system("):
            assert bad not in text, f"{p.name} uses {bad}"
