"""A loopback HTTP server for tests: serves a folder (like ../shared/mirror) and injects faults.

``faults`` maps a URL path (without query) to a callable ``fault(handler) -> bool``; when it returns
True the fault has answered the request, otherwise the file is served normally. Nothing here talks
to anything but 127.0.0.1.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

Fault = Callable[["Handler"], bool]


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    @property
    def path_only(self) -> str:
        return unquote(urlsplit(self.path).path)

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append((self.path_only, dict(self.headers)))
        fault = self.server.faults.get(self.path_only)
        if fault is not None and fault(self):
            return
        self.serve_file()

    def serve_file(self, body: bytes | None = None) -> None:
        target = (self.server.root / self.path_only.lstrip("/")).resolve()
        if body is None:
            if self.server.root not in target.parents or not target.is_file():
                self.send_plain(404, b"No results found.")
                return
            body = target.read_bytes()
            mtime = os.path.getmtime(target)
        else:
            mtime = 0.0
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
        self.end_headers()
        self.wfile.write(body)

    def send_plain(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    root: Path
    faults: dict[str, Fault]
    requests: list[tuple[str, dict[str, str]]]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that drop the connection (timeouts, resets) are what the faults are about


@contextmanager
def serve(root: Path, faults: dict[str, Fault] | None = None) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), Handler)
    server.root = root.resolve()
    server.faults = faults or {}
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: _Server) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"


def hang_for(seconds: float) -> Fault:
    """Say nothing for ``seconds`` (longer than the client's timeout), then serve normally."""
    def fault(h: Handler) -> bool:
        time.sleep(seconds)
        return False
    return fault


def trickle(length: int, chunks: int, chunk: bytes, pause: float) -> Fault:
    """Announce ``length`` bytes, then send ``chunks`` small pieces ``pause`` seconds apart (never trips a read timeout)."""
    def fault(h: Handler) -> bool:
        h.send_response(200)
        h.send_header("Content-Length", str(length))
        h.end_headers()
        try:
            for _ in range(chunks):
                h.wfile.write(chunk)
                h.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass
        h.close_connection = True
        return True
    return fault


def trickle_headers(pause: float, lines: int = 10_000) -> Fault:
    """Answer 200, then send one header line every ``pause`` seconds and never finish the headers: every read
    returns within the client's read timeout, so only a deadline that covers the headers stops it."""
    def fault(h: Handler) -> bool:
        try:
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            h.wfile.flush()
            for i in range(lines):
                time.sleep(pause)
                h.wfile.write(f"X-Slow-{i}: {'x' * 8}\r\n".encode())
                h.wfile.flush()
        except OSError:
            pass
        h.close_connection = True
        return True
    return fault
