"""HTTP downloads with the manners agency servers expect, and local mirrors.

- A descriptive User-Agent naming gapkit and a contact address (``GAPKIT_CONTACT``); bls.gov answers
  403 to generic clients.
- Retries 429/5xx and dropped connections with bounded exponential backoff, honouring Retry-After;
  never retries 403/404.
- Conditional GET (ETag / Last-Modified) so an unchanged upstream file costs one request.
- Streams to a temporary file beside the destination, hashing as it goes; checks Content-Length, a
  size limit and an overall deadline that covers the whole exchange — connecting, the response
  headers and the body (a server trickling either cannot hang a cron job); the caller moves the file
  into place only after it has parsed.
- TLS verification is always on; ``GAPKIT_INSECURE_SKIP_TLS_VERIFY=1`` is the loud opt-out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gapkit import __version__
from gapkit.errors import DownloadError, UsageError
from gapkit.ingestion.readers import decode_text
from gapkit.store import now_iso, open_for_write, open_regular

RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_DOWNLOAD_BYTES = 1_000_000_000
# One page of a paged JSON answer (Projections Central serves about 0.4 MB for 1,000 rows) and all pages
# together: past these, decoding would take minutes and gigabytes, so the answer is refused.
MAX_PAGE_BYTES = 64 * 1024 * 1024
MAX_PAGES_BYTES = 256 * 1024 * 1024
DISK_HINT = ("Free some disk space (or give --data-dir a folder on a disk with room) and run the ingest again; "
             "data already ingested was left untouched.")


@dataclass
class Fetched:
    status: str  # "downloaded" | "not_modified" | "missing"
    url: str
    path: Path | None = None
    sha256: str = ""
    bytes: int = 0
    etag: str | None = None
    last_modified: str | None = None
    retrieved: str = ""


def user_agent() -> str:
    contact = os.environ.get("GAPKIT_CONTACT", "").strip() or "set GAPKIT_CONTACT to your e-mail"
    return f"gapkit/{__version__} (labor-market skills-gap toolkit; https://github.com/gapkit/gapkit; contact: {contact})"


def mirror_path(mirror_dir: Path, url: str) -> Path:
    """Where ``url`` lives in a mirror laid out as ``<host>/<path>`` (query string ignored)."""
    parts = urlsplit(url)
    rel = Path(parts.netloc) / parts.path.lstrip("/")
    target = (mirror_dir / rel).resolve()
    if mirror_dir.resolve() not in target.parents:
        raise UsageError(f"URL {url} maps outside the mirror folder {mirror_dir}; refusing it.")
    return target


def mirror_url(mirror_base: str, url: str) -> str:
    parts = urlsplit(url)
    base = mirror_base if mirror_base.endswith("/") else mirror_base + "/"
    q = f"?{parts.query}" if parts.query else ""
    return f"{base}{parts.netloc}{parts.path}{q}"


class Fetcher:
    def __init__(
        self,
        *,
        timeout: float = 60.0,
        deadline: float = 900.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self.timeout = _env_number("GAPKIT_HTTP_TIMEOUT", timeout)
        self.deadline = _env_number("GAPKIT_HTTP_DEADLINE", deadline)
        self.retries = int(_env_number("GAPKIT_HTTP_RETRIES", retries, integer=True))
        self.backoff = _env_number("GAPKIT_HTTP_BACKOFF", backoff, zero_ok=True)
        self.max_backoff = _env_number("GAPKIT_HTTP_MAX_BACKOFF", max_backoff, zero_ok=True)
        self.max_bytes = max_bytes
        self.sleep = sleep
        verify = os.environ.get("GAPKIT_INSECURE_SKIP_TLS_VERIFY", "") != "1"
        if not verify:
            print("WARNING: GAPKIT_INSECURE_SKIP_TLS_VERIFY=1 — TLS certificates are NOT being verified.", file=sys.stderr)
        self.client = httpx.Client(
            headers={"User-Agent": user_agent(), "Accept": "*/*"},
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=True,
            max_redirects=5,
            verify=verify,
        )
        # Every socket operation of a download gets at most the time left before its deadline: the
        # per-read timeout alone lets a server that sends one header byte a second hold a run forever.
        self._deadline_at: float | None = None
        for transport in [self.client._transport, *self.client._mounts.values()]:
            pool = getattr(transport, "_pool", None)
            if pool is not None and hasattr(pool, "_network_backend"):
                pool._network_backend = _DeadlineBackend(pool._network_backend, self)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one file ---------------------------------------------------------------------------
    def download(
        self,
        url: str,
        dest: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        required: bool = True,
        on_progress: Callable[[int, int | None], None] | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """Download ``url`` to ``dest`` (a temporary path chosen by the caller); at most ``max_bytes`` (default the
        fetcher's limit, 1 GB)."""
        import httpx

        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(url, dest, headers, required, on_progress, max_bytes or self.max_bytes)
            except _Retryable as exc:
                if attempt > self.retries:
                    raise DownloadError(url, f"{exc.reason} (gave up after {attempt} attempts).") from None
                delay = exc.retry_after if exc.retry_after is not None else self.backoff * (2 ** (attempt - 1))
                self.sleep(min(max(delay, 0.0), self.max_backoff))
            except httpx.TooManyRedirects:
                raise DownloadError(url, "the server redirects in a loop (more than 5 redirects).") from None
            except httpx.InvalidURL as exc:
                raise DownloadError(url, f"the URL is not valid ({exc}).") from None
            except httpx.HTTPError as exc:
                raise DownloadError(url, f"{type(exc).__name__}: {exc}.") from None

    def _once(
        self,
        url: str,
        dest: Path,
        headers: dict[str, str],
        required: bool,
        on_progress: Callable[[int, int | None], None] | None,
        max_bytes: int,
    ) -> Fetched:
        import httpx

        started = time.monotonic()
        self._deadline_at = started + self.deadline
        try:
            with self.client.stream("GET", url, headers=headers) as resp:
                status = resp.status_code
                if status == 304:
                    return Fetched("not_modified", url, etag=resp.headers.get("etag"), last_modified=resp.headers.get("last-modified"))
                if status in RETRY_STATUS:
                    raise _Retryable(f"HTTP {status}", _retry_after(resp.headers.get("retry-after")))
                if status == 404 or (status == 410):
                    if not required:
                        return Fetched("missing", url)
                    raise DownloadError(url, f"HTTP {status}: the agency does not publish this file at this address (or not yet).",
                                        "Check the year/cycle options, or ingest a copy with --from PATH; data already ingested was left untouched.")
                if status == 403:
                    raise DownloadError(
                        url,
                        "HTTP 403 Forbidden: the server refused gapkit's request.",
                        "bls.gov refuses clients it cannot identify: set GAPKIT_CONTACT to your e-mail address so gapkit's "
                        "User-Agent names you, or download the file in a browser and run `gapkit ingest --from PATH`. "
                        "Data already ingested was left untouched.",
                    )
                if status >= 400:
                    raise DownloadError(url, f"HTTP {status}.")
                expected = resp.headers.get("content-length")
                expected_n = int(expected) if expected and expected.isdigit() else None
                if expected_n is not None and expected_n > max_bytes:
                    raise DownloadError(url, f"the file is {expected_n:,} bytes, past gapkit's limit of {max_bytes:,}.")
                h = hashlib.sha256()
                n = 0
                # iter_bytes undoes a Content-Encoding (servers gzip JSON and CSV answers): the file on
                # disk is the agency's file, and the size limit applies to what is decoded.
                with _saving(url, dest):
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    fh = open_for_write(dest)
                with fh, _saving(url, dest):
                    for chunk in resp.iter_bytes():
                        fh.write(chunk)
                        h.update(chunk)
                        n += len(chunk)
                        if n > max_bytes:
                            raise DownloadError(url, f"the download passed gapkit's size limit of {max_bytes:,} bytes.")
                        if time.monotonic() - started > self.deadline:
                            raise _Retryable(f"the download took longer than {self.deadline:g} s", None)
                        if on_progress:
                            on_progress(n, expected_n)
                    fh.flush()
                    os.fsync(fh.fileno())
                received = resp.num_bytes_downloaded  # bytes on the wire (before any decoding)
                if expected_n is not None and received != expected_n:
                    raise _Retryable(f"the body was {received:,} bytes but Content-Length said {expected_n:,} (truncated)", None)
                return Fetched(
                    "downloaded", url, dest, h.hexdigest(), n,
                    etag=resp.headers.get("etag"), last_modified=resp.headers.get("last-modified"), retrieved=now_iso(),
                )
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            with contextlib.suppress(OSError):
                dest.unlink()
            if isinstance(exc, httpx.TimeoutException) and time.monotonic() - started >= self.deadline:
                raise _Retryable(f"the download took longer than {self.deadline:g} s (GAPKIT_HTTP_DEADLINE; the time to "
                                 "connect and to receive the headers counts too)", None) from None
            raise _Retryable(f"{type(exc).__name__}: {exc or 'connection problem'}", None) from None
        except BaseException:
            with contextlib.suppress(OSError):
                dest.unlink()
            raise
        finally:
            self._deadline_at = None

    # -- paged JSON (Projections Central) -----------------------------------------------------
    def download_pages(
        self,
        url: str,
        dest: Path,
        *,
        page_url: Callable[[str, int], str],
        merge: Callable[[list[dict[str, Any]], str], dict[str, Any]],
        max_pages: int = 200,
        required: bool = True,
    ) -> Fetched:
        pages: list[dict[str, Any]] = []
        page = 0
        received = 0
        while True:
            purl = page_url(url, page)
            tmp = dest.with_name(dest.name + f".page{page}")
            got = self.download(purl, tmp, required=required or page > 0, max_bytes=MAX_PAGE_BYTES)
            if got.status == "missing":
                return Fetched("missing", purl)
            received += got.bytes
            try:
                with open_regular(tmp) as fh:
                    raw = fh.read()
                data = json.loads(decode_text(raw))  # UTF-8 (BOM or not), else cp1252
            except RecursionError:
                raise DownloadError(purl, "the answer is JSON nested thousands of levels deep, not a Projections Central "
                                          "answer; refusing it.") from None
            except ValueError:
                raise DownloadError(purl, f"the answer is not JSON (it starts {raw[:80]!r}).") from None
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            if not isinstance(data, dict):
                raise DownloadError(purl, "the answer is JSON but not the {\"rows\", \"pager\"} object Projections Central serves.")
            pages.append(data)
            pager = data.get("pager") or {}
            try:
                total_pages = int(pager.get("total_pages", 1)) if isinstance(pager, dict) else 1
            except (TypeError, ValueError, OverflowError):
                total_pages = 1
            page += 1
            if received > MAX_PAGES_BYTES:
                raise DownloadError(url, f"the pages add up to more than {MAX_PAGES_BYTES // 2**20} MB, far beyond one state's "
                                         "projections; refusing the answer.")
            if page >= total_pages or page >= max_pages or not data.get("rows"):
                break
        merged = merge(pages, url)
        body = json.dumps(merged).encode()
        with _saving(url, dest):
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open_for_write(dest) as fh:
                fh.write(body)
        return Fetched("downloaded", url, dest, hashlib.sha256(body).hexdigest(), len(body), retrieved=now_iso())


@contextlib.contextmanager
def _saving(url: str, dest: Path) -> Iterator[None]:
    """An OS error while saving ``dest`` (no space left, a file-size limit, a read-only disk) is a DownloadError
    naming the URL and the file, not a crash."""
    try:
        yield
    except OSError as exc:
        raise DownloadError(url, f"the file could not be saved to {dest} ({exc.strerror or exc}).", DISK_HINT) from None


def copy_local(src: Path, dest: Path) -> Fetched:
    """Take a file from a mirror folder as if downloaded (same bookkeeping, no network)."""
    h = hashlib.sha256()
    with _saving(str(src), dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open_regular(src) as fin, open_for_write(dest) as fout:
            for chunk in iter(lambda: fin.read(1 << 20), b""):
                fout.write(chunk)
                h.update(chunk)
    mtime = os.path.getmtime(src)
    return Fetched("downloaded", str(src), dest, h.hexdigest(), dest.stat().st_size,
                   last_modified=time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(mtime)), retrieved=now_iso())


def _env_number(name: str, default: float, *, integer: bool = False, zero_ok: bool = False) -> float:
    """A numeric setting from the environment; a bad value is a clear error naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return float(default)
    try:
        value = float(int(text)) if integer else float(text)
        if value != value or value < 0 or (value == 0 and not zero_ok and not integer) or value == float("inf"):
            raise ValueError
    except ValueError:
        kind = "a whole number >= 0" if integer else ("a number of seconds >= 0" if zero_ok else "a number of seconds > 0")
        raise UsageError(f"The environment variable {name}={text!r} is not {kind}; fix or unset it.") from None
    return value


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _DeadlineBackend:
    """httpcore's network backend with every socket operation bounded by the fetcher's current deadline."""

    def __init__(self, inner: Any, fetcher: Fetcher) -> None:
        self.inner = inner
        self.fetcher = fetcher

    def bound(self, timeout: float | None, kind: str = "read") -> float | None:
        at = self.fetcher._deadline_at
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            import httpcore

            error = {"read": httpcore.ReadTimeout, "write": httpcore.WriteTimeout}.get(kind, httpcore.ConnectTimeout)
            raise error(f"the deadline of {self.fetcher.deadline:g} s passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> _DeadlineStream:
        stream = self.inner.connect_tcp(host, port, timeout=self.bound(timeout, "connect"), local_address=local_address,
                                        socket_options=socket_options)
        return _DeadlineStream(stream, self)

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> _DeadlineStream:
        return _DeadlineStream(self.inner.connect_unix_socket(path, timeout=self.bound(timeout, "connect"),
                                                              socket_options=socket_options), self)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class _DeadlineStream:
    def __init__(self, inner: Any, backend: _DeadlineBackend) -> None:
        self.inner = inner
        self.backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, timeout=self.backend.bound(timeout))  # type: ignore[no-any-return]

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, timeout=self.backend.bound(timeout, "write"))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> _DeadlineStream:
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname=server_hostname,
                                                    timeout=self.backend.bound(timeout, "connect")), self.backend)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)
