from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from careshare.sources.cqc_directory import DirectoryClient
from careshare.sources.delivery import FeedEndpoint
from careshare.sources.http import (
    FileTooLarge,
    RetryPolicy,
    SourceAuthError,
    SourcePermanent,
    SourceRefused,
    SourceUnavailable,
    UnsupportedEncoding,
    request_with_retries,
    retry_after_seconds,
)
from tests.unit.sources.source_servers import Reply, serving

BODY = b"CT_Home_ID,CQC_Location_ID\n1,1-123456789\n"
DAY = date(2020, 12, 1)
QUICK = RetryPolicy(attempts=3, backoff_seconds=0.01, timeout_seconds=(2.0, 5.0))
KEY = {"X-API-Key": "secret"}


def endpoint(base_url: str, waits: list[float] | None = None) -> FeedEndpoint:
    return FeedEndpoint(base_url, "secret", QUICK, sleep=(waits if waits is not None else []).append)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), ("9999", 300.0), (None, 8.0), ("soon", 8.0)],
)
def test_retry_after_in_seconds_within_bounds(header, seconds):
    headers = {} if header is None else {"Retry-After": header}
    assert retry_after_seconds(headers, fallback=8.0, ceiling=300.0) == seconds


def test_retry_after_as_an_http_date():
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    assert retry_after_seconds(headers, fallback=1.0, ceiling=300.0, now=lambda: now) == 30.0


def test_permanent_errors_share_one_base_and_unavailability_is_not_one():
    assert all(issubclass(e, SourcePermanent) for e in (SourceAuthError, SourceRefused, FileTooLarge))
    assert issubclass(UnsupportedEncoding, SourcePermanent)
    assert not issubclass(SourceUnavailable, SourcePermanent)


@pytest.mark.parametrize("status", [400, 405, 501])
def test_a_refused_request_is_asked_once_and_never_retried(status):
    waits: list[float] = []
    with serving(lambda _r: Reply(status, b"no")) as server:
        with pytest.raises(SourceRefused, match=f"was refused \\(HTTP {status}\\)") as caught:
            endpoint(server.base_url, waits).fetch("ct_care_homes", DAY)
        assert caught.value.status == status
        assert server.methods() == ["GET"] and waits == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_asked_once(status):
    waits: list[float] = []
    with serving(lambda _r: Reply(status)) as server:
        with pytest.raises(SourceAuthError, match="refused the key"):
            endpoint(server.base_url, waits).fetch("ct_care_homes", DAY)
        assert server.methods() == ["GET"] and waits == []


def test_transient_answers_are_retried_with_backoff():
    replies = [Reply(503), Reply(429, headers={"Retry-After": "2"}), Reply(200, BODY)]
    waits: list[float] = []
    with serving(lambda _r: replies.pop(0)) as server:
        delivery = endpoint(server.base_url, waits).fetch("ct_care_homes", DAY)
    assert delivery is not None and delivery.data == BODY
    assert waits == [0.01, 2.0]


def test_not_published_is_an_answer_not_a_failure():
    waits: list[float] = []
    with serving(lambda _r: Reply(404)) as server:
        assert endpoint(server.base_url, waits).fetch("ct_care_homes", DAY) is None
        assert server.methods() == ["GET"] and waits == []


def test_a_redirect_to_another_host_is_followed_without_the_key():
    with serving(lambda _r: Reply(200, BODY, {"ETag": '"v1"'})) as files:
        signed = f"http://localhost:{files.port}/signed/ct_care_homes?signature=abc"
        with serving(lambda _r: Reply(302, headers={"Location": signed})) as api:
            delivery = endpoint(api.base_url).fetch("ct_care_homes", DAY)
    assert delivery is not None and delivery.data == BODY and delivery.etag == '"v1"'
    assert delivery.source == f"{api.base_url}/exports/ct_care_homes/{DAY.isoformat()}"
    assert [r.header("X-API-Key") for r in api.received] == ["secret"]
    assert [(r.path, r.header("Host"), r.header("X-API-Key")) for r in files.received] == [
        ("/signed/ct_care_homes?signature=abc", f"localhost:{files.port}", None)
    ]


def test_a_relative_redirect_stays_on_the_origin_and_keeps_the_key():
    def answer(request):
        if request.path.startswith("/exports/"):
            return Reply(307, headers={"Location": "../../files/1.csv"})
        return Reply(200, BODY)

    with serving(answer) as server:
        assert endpoint(server.base_url).fetch("ct_care_homes", DAY).data == BODY
    assert [(r.path, r.header("X-API-Key")) for r in server.received] == [
        (f"/exports/ct_care_homes/{DAY.isoformat()}", "secret"),
        ("/files/1.csv", "secret"),
    ]


def test_redirects_stop_after_five_hops():
    with serving(lambda r: Reply(302, headers={"Location": r.path + "x"})) as server:
        with pytest.raises(SourceUnavailable, match="more than 5 redirects"):
            endpoint(server.base_url).fetch("ct_care_homes", DAY)
        assert len(server.received) == 6


class Scripted(requests.Session):
    """A session that answers from a script, to follow redirects between https origins with no TLS server."""

    def __init__(self, *replies: tuple[int, dict[str, str], bytes]):
        super().__init__()
        self.replies = list(replies)
        self.sent: list[tuple[str, dict[str, str]]] = []

    def request(self, method, url, **options):
        self.sent.append((url, options["headers"]))
        status, headers, body = self.replies.pop(0)
        response = requests.Response()
        response.status_code, response.url, response.headers = status, url, CaseInsensitiveDict(headers)
        response.raw = urllib3.HTTPResponse(io.BytesIO(body), headers=headers, status=status, preload_content=False)
        return response


@pytest.mark.parametrize(
    ("location", "keeps_key"),
    [
        ("http://api.example.org/files/1", False),  # a downgrade to http
        ("https://files.example.net/files/1", False),
        ("https://api.example.org:8443/files/1", False),
        ("https://API.example.org:443/files/1", True),
        ("/files/1", True),
    ],
)
def test_the_key_goes_to_its_own_origin_only(location, keeps_key):
    session = Scripted((302, {"Location": location}, b""), (200, {}, BODY))
    answer = request_with_retries(session, "https://api.example.org/exports/x", KEY, QUICK)
    assert answer.body == BODY and answer.url == requests.compat.urljoin("https://api.example.org/", location)
    (_, first), (_, second) = session.sent
    assert first["X-API-Key"] == "secret"
    assert ("X-API-Key" in second) is keeps_key


@pytest.mark.parametrize(
    "base_url",
    ["http://feeds.example.org", "http://10.0.0.8:8080", "ftp://feeds.example.org", "feeds.example.org"],
)
def test_a_key_is_never_given_to_a_plain_http_host_that_is_not_this_machine(base_url):
    with pytest.raises(ValueError, match="sent over https only"):
        FeedEndpoint(base_url, "secret")
    with pytest.raises(ValueError, match="allow_insecure_http"):
        DirectoryClient(base_url, "secret")


@pytest.mark.parametrize(
    "base_url",
    ["https://feeds.example.org", "http://127.0.0.1:8080", "http://127.8.0.1", "http://[::1]:80", "http://localhost"],
)
def test_https_and_loopback_hosts_are_accepted(base_url):
    assert FeedEndpoint(base_url, "secret").base_url == base_url
    assert DirectoryClient(base_url, "secret").base_url == base_url


def test_plain_http_elsewhere_only_when_explicitly_allowed():
    assert FeedEndpoint("http://careshare-simulator:8080", "k", allow_insecure_http=True)
    assert DirectoryClient("http://careshare-simulator:8080", "k", allow_insecure_http=True)
