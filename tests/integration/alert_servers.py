"""Real servers an alert is sent to in the tests: an HTTP endpoint recording JSON posts, and an
SMTP server (aiosmtpd) keeping each message with its envelope recipients."""

from __future__ import annotations

import email
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Webhook(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.received: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Receiver)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/careshare"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(  # type: ignore[attr-defined]
            {"path": self.path, "content_type": self.headers["Content-Type"], "body": json.loads(body)}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    """aiosmtpd's controller checks it is up by connecting to its port, so it needs a real one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def smtp_connection(port: int, recipients: list[str]) -> str:
    """An AIRFLOW_CONN_ value for careshare_alerts_smtp: plain SMTP on localhost."""
    extra = {
        "from_email": "careshare@example.org",
        "to": ", ".join(recipients),
        "disable_tls": True,
        "disable_ssl": True,
    }
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": extra})
