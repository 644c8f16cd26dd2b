"""Agency servers that fail: every case runs the real CLI (`python -m gapkit.cli ingest ... --mirror
http://127.0.0.1:PORT/`) against the loopback server serving ../shared/mirror in place, with a fault
replacing the answer for one URL.

A failing case asserts a one-paragraph message naming the URL/file, a non-zero exit, no traceback,
and raw files, Parquet and manifest byte-identical afterwards. A transient fault must be retried (a
bounded number of times) and then ingest normally.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import faultkit as fk
from tests.conftest import require_shared
from tests.httpserver import Handler, base_url, serve, trickle_headers


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory, ingested: Path) -> Path:
    return fk.good_store(tmp_path_factory, ingested)


@pytest.fixture
def data(good: Path, tmp_path: Path) -> Path:
    return fk.copy_store(good, tmp_path)


BLS = ["bls-ep"]
# (id, ingest arguments, faults, message fragments, how many times the faulted URL may be asked for)
FAILING: list[tuple[str, list[str], Callable[[], dict[str, fk.Fault]], list[str], int | None]] = [
    ("http-403-not-retried", BLS, lambda: {fk.EP: fk.status(403)}, ["HTTP 403", "GAPKIT_CONTACT", "occupation.xlsx"], 1),
    ("http-401-not-retried", BLS, lambda: {fk.EP: fk.status(401)}, ["HTTP 401", "occupation.xlsx"], 1),
    ("http-404-not-retried", BLS, lambda: {fk.EP: fk.status(404)}, ["HTTP 404", "occupation.xlsx", "--from PATH"], 1),
    ("http-410-gone", BLS, lambda: {fk.EP: fk.status(410)}, ["HTTP 410", "occupation.xlsx"], 1),
    ("http-500-gives-up", BLS, lambda: {fk.EP: fk.status(500)}, ["HTTP 500", "gave up after 3 attempts", "occupation.xlsx"], 3),
    ("http-502-gives-up", BLS, lambda: {fk.EP: fk.status(502)}, ["HTTP 502", "gave up after 3 attempts"], 3),
    ("http-503-gives-up", BLS, lambda: {fk.EP: fk.status(503)}, ["HTTP 503", "gave up after 3 attempts"], 3),
    ("http-429-gives-up", BLS, lambda: {fk.EP: fk.status(429, {"Retry-After": "0"})}, ["HTTP 429", "gave up after 3 attempts"], 3),
    ("connection-reset", BLS, lambda: {fk.EP: fk.reset}, ["occupation.xlsx", "gave up after 3 attempts"], 3),
    ("read-timeout", BLS, lambda: {fk.EP: fk.hang}, ["occupation.xlsx", "Timeout"], 3),
    ("slow-trickle-past-deadline", BLS, lambda: {fk.EP: fk.trickle}, ["occupation.xlsx", "took longer than 1.5 s"], None),
    ("redirect-loop", BLS, lambda: {fk.EP: fk.redirect_loop}, ["occupation.xlsx", "redirects in a loop"], None),
    ("redirect-to-missing", BLS, lambda: {fk.EP: fk.redirect_to("/moved/occupation.xlsx")}, ["occupation.xlsx", "HTTP 404"], 1),
    ("truncated-body", BLS, lambda: {fk.EP: fk.truncated}, ["occupation.xlsx", "complete message body", "expected 400000"], 3),
    ("content-length-short", ["bls-ep", "--force"], lambda: {fk.EP: fk.short_length(fk.mirror_bytes(fk.EP), 5000)},
     ["occupation.xlsx", "truncated or corrupt"], 1),
    ("304-without-raw-copy", BLS, lambda: {fk.EP: fk.not_modified}, ["occupation.xlsx", "server says unchanged", "--force"], 1),
    ("projections-http-500", ["projections", "--states", "WY"], lambda: {fk.WY: fk.status(500)}, ["HTTP 500", "LongTermRestJson/56"], 3),
    ("ipeds-http-503-one-file", ["ipeds", "--years", "2024"], lambda: {fk.C24: fk.status(503)}, ["HTTP 503", "C2024_A.zip"], 3),
]

# Cases that wait on the clock get smaller limits (they still retry: 3 attempts).
CASE_ENV = {"read-timeout": {"GAPKIT_HTTP_TIMEOUT": "0.5"}, "slow-trickle-past-deadline": {"GAPKIT_HTTP_DEADLINE": "1.5"}}


@pytest.mark.parametrize(("case", "args", "faults", "needles", "asked"), FAILING, ids=[c[0] for c in FAILING])
def test_http_failure_leaves_store_intact(data: Path, case: str, args: list[str], faults: Callable[[], dict[str, fk.Fault]],
                                          needles: list[str], asked: int | None) -> None:
    if case == "304-without-raw-copy":
        (data / fk.RAW[fk.EP]).unlink()  # the server claims "unchanged" but there is nothing to be unchanged from
    before = fk.snapshot(data)
    f = faults()
    proc, requests = fk.ingest(data, *args, faults=f, env=CASE_ENV.get(case))
    fk.assert_clean_failure(proc, needles)
    fk.assert_intact(before, data, manifest_bytes=args[0] != "ipeds")
    if asked is not None:
        target = next(iter(f))
        n = sum(1 for p in requests if p == target)
        assert n == asked, f"{case}: {target} was asked for {n} times, expected {asked}"


def test_connection_refused(data: Path) -> None:
    before = fk.snapshot(data)
    proc = fk.run_cli("ingest", "bls-ep", "--mirror", "http://127.0.0.1:9/", data_dir=data, env=fk.FAST)
    fk.assert_clean_failure(proc, ["http://127.0.0.1:9/www.bls.gov/emp/ind-occ-matrix/occupation.xlsx", "Connection refused", "gave up"])
    fk.assert_intact(before, data, manifest_bytes=True)


# -- transient faults: retried, then a normal ingest -------------------------------------------------
TRANSIENT: list[tuple[str, Callable[[], fk.Fault], int]] = [
    ("503-twice", lambda: fk.status(503, times=2), 3),
    ("500-once", lambda: fk.status(500, times=1), 2),
    ("429-retry-after-seconds", lambda: fk.status(429, {"Retry-After": "1"}, times=1), 2),
    ("429-retry-after-http-date", lambda: fk.status(429, {"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, times=1), 2),
    ("reset-once", lambda: fk.first(1, fk.reset), 2),
    ("timeout-once", lambda: fk.first(1, fk.hang), 2),
    ("truncated-once", lambda: fk.first(1, fk.truncated), 2),
]


@pytest.mark.parametrize(("case", "fault", "asked"), TRANSIENT, ids=[c[0] for c in TRANSIENT])
def test_transient_errors_are_retried_then_ingest(data: Path, case: str, fault: Callable[[], fk.Fault], asked: int) -> None:
    before = fk.snapshot(data)
    t0 = time.monotonic()
    proc, requests = fk.ingest(data, "bls-ep", "--force", faults={fk.EP: fault()})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert requests.count(fk.EP) == asked
    if case == "429-retry-after-seconds":
        assert time.monotonic() - t0 >= 1.0, "Retry-After: 1 was not honoured"
    # the good file arrived: raw copy is the agency's bytes, the table is unchanged
    assert (data / fk.RAW[fk.EP]).read_bytes() == fk.mirror_bytes(fk.EP)
    after = fk.snapshot(data)
    assert after[fk.RAW[fk.EP]] == before[fk.RAW[fk.EP]]
    fk.assert_consistent(data)


def test_retry_after_is_capped(data: Path) -> None:
    """A server asking for an hour's pause does not stall cron: the wait is capped (GAPKIT_HTTP_MAX_BACKOFF)."""
    t0 = time.monotonic()
    proc, requests = fk.ingest(data, "bls-ep", faults={fk.EP: fk.status(429, {"Retry-After": "3600"})},
                               env={"GAPKIT_HTTP_MAX_BACKOFF": "0.2"})
    fk.assert_clean_failure(proc, ["HTTP 429", "gave up"])
    assert time.monotonic() - t0 < 60 and requests.count(fk.EP) == 3


@pytest.mark.parametrize("target", ["xlsx", "json"])
def test_gzip_content_encoding_is_decoded(data: Path, target: str) -> None:
    """Web servers gzip answers when the client allows it: the stored raw file is the decoded file."""
    path = fk.EP if target == "xlsx" else fk.WY
    before = fk.table(data, *(("ep_occupations", "2024-34") if target == "xlsx" else ("state_projections", "2022-32")))
    args = ["bls-ep", "--force"] if target == "xlsx" else ["projections", "--states", "WY", "--force"]
    proc, _ = fk.ingest(data, *args, faults={path: fk.gzip_encoded(fk.mirror_bytes(path))})
    assert proc.returncode == 0, proc.stderr
    if target == "xlsx":
        assert (data / fk.RAW[fk.EP]).read_bytes() == fk.mirror_bytes(fk.EP)
        assert fk.table(data, "ep_occupations", "2024-34").equals(before)
    else:
        assert fk.table(data, "state_projections", "2022-32").sort("stfips", "soc_code").equals(before.sort("stfips", "soc_code"))
    fk.assert_consistent(data)


def test_redirect_is_followed(data: Path, mirror_dir: Path) -> None:
    moved = "/moved/occupation.xlsx"

    def serve_real(h: Handler) -> bool:
        h.serve_file(body=fk.mirror_bytes(fk.EP))
        return True

    proc, requests = fk.ingest(data, "bls-ep", "--force", faults={fk.EP: fk.redirect_to(moved), moved: serve_real})
    assert proc.returncode == 0, proc.stderr
    assert requests.count(moved) == 1
    assert (data / fk.RAW[fk.EP]).read_bytes() == fk.mirror_bytes(fk.EP)


def test_unchanged_upstream_costs_one_conditional_request(data: Path) -> None:
    """A re-run against an unchanged server sends If-None-Match, gets 304, parses nothing, writes nothing."""
    before = fk.snapshot(data)
    proc, requests = fk.ingest(data, "bls-ep")
    assert proc.returncode == 0, proc.stderr
    assert requests == [fk.EP] and "unchanged" in proc.stdout
    after = fk.snapshot(data)
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {k: v for k, v in before.items() if k != "manifest.json"}


# -- Hardening II: every read has a bound -----------------------------------------------------------------------
def _no_length(data: bytes) -> fk.Fault:
    """200 with no Content-Length: the body runs until the server closes the connection."""
    def f(h: Handler) -> bool:
        h.send_response(200)
        h.end_headers()
        try:
            for i in range(0, len(data), 1 << 20):
                h.wfile.write(data[i:i + (1 << 20)])
        except OSError:
            pass
        h.close_connection = True
        return True
    return f


def _announces(length: int) -> fk.Fault:
    def f(h: Handler) -> bool:
        h.send_response(200)
        h.send_header("Content-Length", str(length))
        h.end_headers()
        h.close_connection = True
        return True
    return f


def _duplicated_page() -> bytes:
    """A 14 MB Projections Central page: the state's rows repeated (merging pages used to compare every
    occupation code with every other: 39 s for this page, minutes for a bigger one)."""
    rows = fk.wy_rows()
    many = rows * (14_000_000 // len(json.dumps(rows)) + 1)
    return fk.projections_json(many)


WYA = ["projections", "--states", "WY"]
BOUNDED: list[tuple[str, list[str], Callable[[], dict[str, fk.Fault]], list[str], dict[str, str] | None]] = [
    ("headers-trickled-past-deadline", BLS, lambda: {fk.EP: trickle_headers(0.2)}, ["occupation.xlsx", "took longer than 1.5 s",
                                                                                     "headers"], {"GAPKIT_HTTP_DEADLINE": "1.5"}),
    ("json-headers-trickled-past-deadline", WYA, lambda: {fk.WY: trickle_headers(0.2)}, ["LongTermRestJson/56", "took longer than 1.5 s"],
     {"GAPKIT_HTTP_DEADLINE": "1.5"}),
    ("json-page-14mb-duplicated", WYA, lambda: {fk.WY: fk.body(_duplicated_page())}, ["LongTermRestJson/56", "more than once"], None),
    ("json-page-past-64mb-streamed", WYA, lambda: {fk.WY: _no_length(b'{"rows": [' + b'{"OccCode": "11-1011"},' * 3_200_000 + b"{}]}")},
     ["LongTermRestJson/56", "size limit of 67,108,864 bytes"], None),
    ("json-page-announcing-500mb", WYA, lambda: {fk.WY: _announces(500_000_000)}, ["LongTermRestJson/56", "500,000,000 bytes"], None),
    ("json-page-200k-deep", WYA, lambda: {fk.WY: fk.body(fk.deep_json(200_000))}, ["LongTermRestJson/56", "nested"], None),
    ("json-page-200k-deep-object", WYA, lambda: {fk.WY: fk.body(b'{"rows": ' + fk.deep_json(200_000) + b"}")},
     ["LongTermRestJson/56", "nested"], None),
]


@pytest.mark.parametrize(("case", "args", "faults", "needles", "env"), BOUNDED, ids=[c[0] for c in BOUNDED])
def test_every_read_has_a_bound(data: Path, case: str, args: list[str], faults: Callable[[], dict[str, fk.Fault]], needles: list[str],
                                env: dict[str, str] | None) -> None:
    before = fk.snapshot(data)
    proc, _ = fk.ingest(data, *args, faults=faults(), env=env, timeout=120)  # the timeout is the bound
    fk.assert_clean_exit(proc, needles, codes=(1,))
    fk.assert_intact(before, data, manifest_bytes=True)


@pytest.mark.parametrize("target", ["xlsx", "paged-json"])
def test_disk_full_while_downloading(data: Path, target: str) -> None:
    """No space for the download (RLIMIT_FSIZE: the kernel fails the write past the limit as a full disk would):
    a DownloadError naming the URL and the file, the previous raw copy and tables untouched."""
    args, path = (["bls-ep", "--force"], fk.EP) if target == "xlsx" else (["projections", "--states", "WY", "--force"], fk.WY)
    before = fk.snapshot(data)
    with serve(require_shared() / "mirror") as srv:
        proc = fk.run_cli("ingest", *args, "--mirror", base_url(srv), data_dir=data, env=fk.FAST, timeout=120,
                          preexec_fn=fk.fsize_limit(len(fk.mirror_bytes(path)) // 3))
    fk.assert_clean_exit(proc, [path.rsplit("/", 1)[-1], "could not be saved", "File too large", "Free some disk space"], codes=(1,))
    fk.assert_intact(before, data, manifest_bytes=True)
