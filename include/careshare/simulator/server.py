"""The simulator over HTTP: a stdlib threading server in a background thread, with a fault hook."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

from .routes import Clock, Request, Response, SimulatorApp, error, utc_now
from .world import World

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


class SimulatorServer:
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
    ):
        self.app = SimulatorApp(world, api_key, directory_key, clock)
        self.faults = faults or Faults()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.host = host

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
            response = self.faults.before(request) or self.app.handle(request)
            return self.faults.after(request, response)
        except Exception:
            log.exception("simulator failed on %s %s", request.method, request.path)
            return error(500, "internal error")

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
