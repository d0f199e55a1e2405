"""S3 faults during publication, through a real HTTP proxy in front of the moto endpoint: failing
PUTs are retried, a slow endpoint is waited for, and a PUT that keeps failing or a file corrupted
on its way stops the release cleanly (nothing a reader can see) until a rerun through a healthy
endpoint commits it whole."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from botocore.exceptions import ClientError

from careshare.datasets import LOCATION_DAILY
from careshare.publish.dictionary import schema_reference
from careshare.publish.release import publish_release
from careshare.publish.verify import ReleaseVerificationError
from careshare.storage import open_store
from tests.conftest import make_s3_client
from tests.integration.merge_support import reader_objects
from tests.unit.publish.synthetic import synthetic_table

pytestmark = pytest.mark.slow

DAY = date(2020, 12, 1)
COUNCILS = {"E06000001": 3, "E08000035": 5, "E09000033": 2, "E10000021": 4}
SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"


@dataclass
class Fault:
    method: str
    key: str  # a regular expression searched in the request path
    kind: str  # "error" (503 SlowDown), "slow", or "corrupt" (one byte of the body flipped)
    times: int | None = 1  # None: every time
    seconds: float = 0.0


@dataclass
class FaultyS3:
    """An HTTP proxy to the S3 endpoint that answers some requests with faults."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    fired: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and re.search(fault.key, path) and fault.times != 0:
                    if fault.times is not None:
                        fault.times -= 1
                    self.fired.append((method, path, fault.kind))
                    return fault
        return None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = proxy.fault_for(self.command, self.path)
                if fault and fault.kind == "error":
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(SLOW_DOWN)))
                    self.end_headers()
                    self.wfile.write(SLOW_DOWN)
                    return
                if fault and fault.kind == "corrupt":
                    middle = len(body) // 2
                    body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
                if fault:
                    time.sleep(fault.seconds)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
                answer = requests.request(
                    self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=30
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in {"content-length", "transfer-encoding", "connection", "content-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

            def log_message(self, *args) -> None:
                pass

        return Handler


@pytest.fixture
def faulty(s3_endpoint):
    proxy = FaultyS3(s3_endpoint)
    server = ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield proxy, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def publish(client, bucket: str, local_authorities):
    store = open_store(f"s3://{bucket}", client)
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    return publish_release(
        store, LOCATION_DAILY, DAY, table, local_authorities, schema=schema_reference(LOCATION_DAILY)
    )


def visible(s3_client, bucket: str) -> dict[str, bytes]:
    return reader_objects(open_store(f"s3://{bucket}", s3_client))


@pytest.fixture
def healthy_release(s3_client, buckets, local_authorities):
    publish(s3_client, buckets["raw"], local_authorities)  # any empty bucket will do
    return visible(s3_client, buckets["raw"])


def test_failing_and_slow_puts_are_retried_and_the_release_is_whole(
    faulty, buckets, s3_client, local_authorities, healthy_release
):
    proxy, url = faulty
    proxy.faults = [
        Fault("PUT", r"E08000035/_releases/.*/[0-9a-f]{64}\.", "error", times=2),
        Fault("PUT", r"/_manifests/.*/v0001\.json", "error", times=1),
        Fault("PUT", r"_index\.json", "slow", times=None, seconds=0.3),
        Fault("PUT", r"/_releases/", "slow", times=3, seconds=0.5),
    ]

    outcome = publish(make_s3_client(url), buckets["published"], local_authorities)

    assert (outcome.version, outcome.new) == (1, True)
    assert {kind for _, _, kind in proxy.fired} == {"error", "slow"}
    assert sum(kind == "error" for _, _, kind in proxy.fired) == 3
    assert visible(s3_client, buckets["published"]) == healthy_release


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("PUT", r"/_manifests/.*/v0001\.json", "error", times=None), "SlowDown"),
        (Fault("PUT", r"E09000033/_releases/.*\.parquet", "error", times=None), "SlowDown"),
        (
            Fault("PUT", r"E08000035/_releases/.*\.parquet", "corrupt"),
            r"1 uploaded files failed: \S*E08000035\S*: stored md5",
        ),
    ],
    ids=["manifest PUT keeps failing", "file PUT keeps failing", "file corrupted on its way"],
)
def test_a_failed_or_corrupted_put_stops_the_release_cleanly_and_a_rerun_commits_it(
    faulty, buckets, s3_client, local_authorities, healthy_release, fault, error
):
    proxy, url = faulty
    proxy.faults = [fault]

    with pytest.raises((ClientError, ReleaseVerificationError), match=error):
        publish(make_s3_client(url), buckets["published"], local_authorities)

    assert proxy.fired
    seen = visible(s3_client, buckets["published"])
    assert not any(key.startswith("_manifests/") for key in seen), "nothing committed"
    assert not [key for key in seen if not any(part.startswith("_") for part in key.split("/"))], "no reader view"

    proxy.faults = []
    outcome = publish(make_s3_client(url), buckets["published"], local_authorities)
    assert (outcome.version, outcome.new) == (1, True)
    assert visible(s3_client, buckets["published"]) == healthy_release
