from __future__ import annotations

import hashlib
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests

from careshare.sources.delivery import FeedEndpoint
from careshare.sources.http import RetryPolicy, retry_after_seconds

BODY = b"CT_Home_ID,CQC_Location_ID\n1,1-123456789\n"


def response_with(retry_after: str | None) -> requests.Response:
    response = requests.Response()
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("9999", 300.0), (None, 8.0), ("soon", 8.0)],
)
def test_retry_after_in_seconds_within_bounds(header, seconds):
    assert retry_after_seconds(response_with(header), fallback=8.0, ceiling=300.0) == seconds


def test_retry_after_as_an_http_date():
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    response = response_with("Wed, 21 Oct 2015 07:28:00 GMT")
    assert retry_after_seconds(response, fallback=1.0, ceiling=300.0, now=lambda: now) == 30.0


class _NoDigest(BaseHTTPRequestHandler):
    """An export API that follows the contract except that it declares no X-Content-SHA256."""

    seen: ClassVar[list[str]] = []

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        type(self).seen.append(self.command)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if send_body:
            self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_export_that_declares_no_digest_is_hashed_from_its_body():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoDigest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = FeedEndpoint(f"http://127.0.0.1:{server.server_address[1]}", "key", RetryPolicy(attempts=1))
        sha = endpoint.published_sha256("ct_care_homes", date(2020, 12, 1))
    finally:
        server.shutdown()
        server.server_close()
    assert sha == hashlib.sha256(BODY).hexdigest()
    assert _NoDigest.seen == ["HEAD", "GET"]
