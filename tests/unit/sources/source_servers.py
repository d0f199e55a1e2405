"""Tiny HTTP servers for the sources' tests, each answering by a function of the request and
recording every request it received (a plain module: conftest is not importable)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_length: int | None = None  # declared; None: the length of `body`


Answer = Callable[[Received], Reply]


@dataclass
class TinyServer:
    host: str
    port: int
    received: list[Received]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def methods(self) -> list[str]:
        return [r.method for r in self.received]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that stops reading a body it refuses (too large) resets the connection: not news."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serving(answer: Answer, host: str = "127.0.0.1") -> Iterator[TinyServer]:
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._reply(send_body=True)

        def do_HEAD(self) -> None:
            self._reply(send_body=False)

        def _reply(self, send_body: bool) -> None:
            request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            received.append(request)
            reply = answer(request)
            self.send_response(reply.status)
            length = len(reply.body) if reply.content_length is None else reply.content_length
            for name, value in {"Content-Length": str(length), **reply.headers}.items():
                self.send_header(name, value)
            if length != len(reply.body):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if send_body:
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _Server((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield TinyServer(host, int(server.server_address[1]), received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
