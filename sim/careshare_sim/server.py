"""The simulator over HTTP: a stdlib threading server in a background thread, with a fault hook,
the server-wide behaviours of modes.py, and a log of every request it answered."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

from .modes import FileHost, ServerModes
from .routes import Clock, Request, Response, SimulatorApp, error, export_target, utc_now
from .world import World

EXCHANGES_KEPT = 10_000
_OTHER_LOOPBACK_NAME = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}

log = logging.getLogger(__name__)


class Faults:
    """Consulted on every request; this base injects nothing. faults.FaultPlan injects them by rule."""

    def bind(self, world: World) -> None:
        """Called with the world the server serves, for faults that render files."""

    def before(self, request: Request) -> Response | None:
        """A response to send instead of the real one, or None to serve normally."""
        return None

    def after(self, request: Request, response: Response) -> Response:
        """The response to send, given the real one (e.g. truncated or delayed)."""
        return response


@dataclass(frozen=True)
class Exchange:
    """One request the server answered (its headers as received, e.g. Host and any key) and the status sent."""

    request: Request
    status: int


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (done with a body it refuses, or closing a kept-alive connection) is not news."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s hung up", client_address)
            return
        super().handle_error(request, client_address)


class SimulatorServer:
    """`modes` sets how the server behaves to every request; with `modes.redirect_exports`, exports
    are served at `file_host_url`, by default this server under its other loopback name (127.0.0.1
    and localhost), which a client takes for another host."""

    def __init__(
        self,
        world: World,
        api_key: str,
        directory_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock = utc_now,
        faults: Faults | None = None,
        modes: ServerModes | None = None,
        file_host_url: str | None = None,
    ):
        self.modes = modes or ServerModes()
        if self.modes.redirect_exports and file_host_url is None and host not in _OTHER_LOOPBACK_NAME:
            raise ValueError(f"redirected exports need a file host URL when the server is bound to {host}")
        self.app = SimulatorApp(world, api_key, directory_key, clock)
        self.faults = faults or Faults()
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.host = host
        self.file_host = None
        if self.modes.redirect_exports:
            self.file_host = FileHost(file_host_url or f"http://{_OTHER_LOOPBACK_NAME[host]}:{self.port}")
        self._exchanges: deque[Exchange] = deque(maxlen=EXCHANGES_KEPT)
        self._exchanges_lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        faults.bind(self.app.world)
        self._faults = faults

    @property
    def clock(self) -> Clock:
        return self.app.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.app.clock = clock

    def respond(self, request: Request) -> Response:
        try:
            response = self._answer(request)
        except Exception:
            log.exception("simulator failed on %s %s", request.method, request.path)
            response = error(500, "internal error")
        with self._exchanges_lock:
            self._exchanges.append(Exchange(request, response.status))
        return response

    def _answer(self, request: Request) -> Response:
        if self.file_host is not None and self.file_host.serves(request):
            return self.file_host.answer(request)
        refusal = self.modes.refusal(request)
        if refusal is not None:
            return refusal
        response = self.faults.before(request) or self.app.handle(request)
        response = self.modes.finish(request, self.faults.after(request, response))
        if self.file_host is not None and response.status == 200 and export_target(request.path) is not None:
            return self.file_host.redirect(response)
        return response

    def exchanges(self) -> list[Exchange]:
        """The requests answered (the latest EXCHANGES_KEPT), oldest first."""
        with self._exchanges_lock:
            return list(self._exchanges)

    def forget_exchanges(self) -> None:
        with self._exchanges_lock:
            self._exchanges.clear()

    def start(self) -> SimulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="careshare-simulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _handler_for(server: SimulatorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "careshare-simulator"

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            url = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=unquote(url.path),
                query=dict(parse_qsl(url.query)),
                headers=dict(self.headers.items()),
                received_at=server.clock(),
            )
            response = server.respond(request)
            if response.delay_seconds > 0:
                time.sleep(response.delay_seconds)
            self.send_response(response.status)
            headers = {"Content-Length": str(len(response.body)), **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if response.truncate_at is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if send_body:
                body = response.body if response.truncate_at is None else response.body[: response.truncate_at]
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler
