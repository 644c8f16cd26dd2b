"""The downloader against a loopback server that misbehaves the way agency servers do."""

from __future__ import annotations

from pathlib import Path

import pytest

from gapkit.errors import DownloadError, GapkitError, UsageError
from gapkit.ingestion.fetch import Fetcher, mirror_path, mirror_url, user_agent
from tests.httpserver import Handler, base_url, hang_for, serve, trickle


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "f").mkdir(parents=True)
    (root / "f" / "data.bin").write_bytes(b"x" * 50_000)
    return root


def fetcher(**kw: float) -> Fetcher:
    sleeps: list[float] = []
    f = Fetcher(sleep=sleeps.append, timeout=kw.pop("timeout", 2.0), deadline=kw.pop("deadline", 5.0), **kw)  # type: ignore[arg-type]
    f.sleeps = sleeps  # type: ignore[attr-defined]
    return f


def test_download_ok_records_digest_and_validators(site: Path, tmp_path: Path) -> None:
    with serve(site) as srv, fetcher() as f:
        got = f.download(base_url(srv) + "f/data.bin", tmp_path / "out.bin")
        assert got.status == "downloaded" and got.bytes == 50_000
        assert got.etag and got.last_modified
        ua = srv.requests[0][1]["User-Agent"]
        assert ua.startswith("gapkit/") and "contact" in ua
        again = f.download(base_url(srv) + "f/data.bin", tmp_path / "out2.bin", etag=got.etag)
        assert again.status == "not_modified"
        assert not (tmp_path / "out2.bin").exists()


def test_user_agent_names_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAPKIT_CONTACT", "analyst@example.org")
    assert "analyst@example.org" in user_agent()


def test_retry_503_then_success(site: Path, tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(h: Handler) -> bool:
        calls["n"] += 1
        if calls["n"] <= 2:
            h.send_plain(503, b"busy")
            return True
        return False

    with serve(site, {"/f/data.bin": flaky}) as srv, fetcher() as f:
        got = f.download(base_url(srv) + "f/data.bin", tmp_path / "o")
        assert got.status == "downloaded" and calls["n"] == 3
        assert f.sleeps == [1.0, 2.0]  # type: ignore[attr-defined]


def test_429_honours_retry_after(site: Path, tmp_path: Path) -> None:
    calls = {"n": 0}

    def limited(h: Handler) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            h.send_plain(429, b"slow down", {"Retry-After": "7"})
            return True
        return False

    with serve(site, {"/f/data.bin": limited}) as srv, fetcher() as f:
        f.download(base_url(srv) + "f/data.bin", tmp_path / "o")
        assert f.sleeps == [7.0]  # type: ignore[attr-defined]


def test_500_forever_gives_up_bounded(site: Path, tmp_path: Path) -> None:
    def broken(h: Handler) -> bool:
        h.send_plain(500, b"oops")
        return True

    with serve(site, {"/f/data.bin": broken}) as srv, fetcher(retries=3) as f:
        with pytest.raises(DownloadError, match="HTTP 500.*gave up after 4 attempts"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")
        assert len(srv.requests) == 4
        assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("status", [403, 404])
def test_403_and_404_are_not_retried(site: Path, tmp_path: Path, status: int) -> None:
    def deny(h: Handler) -> bool:
        h.send_plain(status, b"<html>denied</html>")
        return True

    with serve(site, {"/f/data.bin": deny}) as srv, fetcher() as f:
        with pytest.raises(DownloadError, match=str(status)) as exc:
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")
        assert len(srv.requests) == 1
        if status == 403:
            assert "GAPKIT_CONTACT" in exc.value.message


def test_404_optional_file_is_missing_not_error(site: Path, tmp_path: Path) -> None:
    with serve(site) as srv, fetcher() as f:
        got = f.download(base_url(srv) + "f/nope.zip", tmp_path / "o", required=False)
        assert got.status == "missing"


def test_truncated_body_content_length_mismatch(site: Path, tmp_path: Path) -> None:
    def short(h: Handler) -> bool:
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b"y" * 1000)
        h.close_connection = True
        return True

    with serve(site, {"/f/data.bin": short}) as srv, fetcher(retries=1) as f:
        with pytest.raises(DownloadError, match="gave up"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")
        assert not (tmp_path / "o").exists()


def test_connection_reset(site: Path, tmp_path: Path) -> None:
    def reset(h: Handler) -> bool:
        import socket
        import struct

        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
        h.close_connection = True
        return True

    with serve(site, {"/f/data.bin": reset}) as srv, fetcher(retries=1) as f:
        with pytest.raises(DownloadError, match="gave up after 2 attempts"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")


def test_timeout(site: Path, tmp_path: Path) -> None:
    with serve(site, {"/f/data.bin": hang_for(1.5)}) as srv, fetcher(retries=0, timeout=0.3) as f:
        with pytest.raises(DownloadError, match="Timeout"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")


def test_slow_trickle_past_deadline(site: Path, tmp_path: Path) -> None:
    with serve(site, {"/f/data.bin": trickle(1000, 40, b"z" * 10, 0.05)}) as srv, fetcher(retries=0, timeout=1.0, deadline=0.5) as f:
        with pytest.raises(DownloadError, match="longer than 0.5 s"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")
        assert not (tmp_path / "o").exists()


def test_redirect_loop(site: Path, tmp_path: Path) -> None:
    def loop(h: Handler) -> bool:
        h.send_plain(302, b"", {"Location": "/f/data.bin"})
        return True

    with serve(site, {"/f/data.bin": loop}) as srv, fetcher() as f:
        with pytest.raises(DownloadError, match="redirects in a loop"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")


def test_size_limit(site: Path, tmp_path: Path) -> None:
    with serve(site) as srv, fetcher() as f:
        f.max_bytes = 10_000
        with pytest.raises(DownloadError, match="limit"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")


def test_mirror_mapping(tmp_path: Path) -> None:
    url = "https://www.bls.gov/emp/ind-occ-matrix/occupation.xlsx"
    assert mirror_url("http://127.0.0.1:9/", url) == "http://127.0.0.1:9/www.bls.gov/emp/ind-occ-matrix/occupation.xlsx"
    assert mirror_path(tmp_path, url) == (tmp_path / "www.bls.gov/emp/ind-occ-matrix/occupation.xlsx").resolve()
    with pytest.raises(UsageError, match="outside"):
        mirror_path(tmp_path, "https://x/../../etc/passwd")


@pytest.mark.parametrize("pause", [0.05, 0.2])
def test_trickled_headers_past_deadline(site: Path, tmp_path: Path, pause: float) -> None:
    """Each header line arrives well within the read timeout; only the deadline, which covers the headers, stops it."""
    from tests.httpserver import trickle_headers

    with serve(site, {"/f/data.bin": trickle_headers(pause)}) as srv, fetcher(retries=0, timeout=2.0, deadline=0.8) as f:
        with pytest.raises(DownloadError, match="longer than 0.8 s"):
            f.download(base_url(srv) + "f/data.bin", tmp_path / "o")
        assert not (tmp_path / "o").exists()


def test_deadline_does_not_outlive_its_download(site: Path, tmp_path: Path) -> None:
    """The deadline applies to one download: a kept-alive connection used later is not timed out by it."""
    import time

    with serve(site) as srv, fetcher(deadline=0.5) as f:
        f.download(base_url(srv) + "f/data.bin", tmp_path / "a")
        time.sleep(0.6)
        got = f.download(base_url(srv) + "f/data.bin", tmp_path / "b")
        assert got.status == "downloaded"


def test_download_refuses_a_link_or_pipe_as_destination(site: Path, tmp_path: Path) -> None:
    import os

    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "link").symlink_to(victim)
    os.mkfifo(tmp_path / "pipe")
    with serve(site) as srv, fetcher() as f:
        for dest, kind in (("link", "symbolic link"), ("pipe", "named pipe")):
            with pytest.raises(GapkitError, match=kind):
                f.download(base_url(srv) + "f/data.bin", tmp_path / dest)
    assert victim.read_text() == "precious"
