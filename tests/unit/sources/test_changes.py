"""Finding a corrected file with as little as the server offers: HEAD where it works, else a
conditional GET where there are validators, else the whole file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import pytest

from careshare.sources.delivery import HTTP_ROUTE, LANDING_ROUTE, FeedEndpoint, Known, read_landing
from careshare.sources.http import RetryPolicy, SourceRefused
from careshare.storage import open_store
from tests.unit.sources.source_servers import Received, Reply, serving

DAY = date(2020, 12, 1)
OLD, NEW = b"id\n1\n", b"id\n1\n2\n"
OLD_SHA, NEW_SHA = hashlib.sha256(OLD).hexdigest(), hashlib.sha256(NEW).hexdigest()
MODIFIED = "Wed, 02 Dec 2020 05:00:00 GMT"
QUICK = RetryPolicy(attempts=2, backoff_seconds=0.01, timeout_seconds=(2.0, 5.0))


@dataclass
class Export:
    """One export as a server publishes it, answering HEAD (or refusing it) and conditional GETs."""

    body: bytes = OLD
    head_status: int = 200
    etag: bool = True
    last_modified: bool = True
    digest: bool = True

    def __call__(self, request: Received) -> Reply:
        if request.method == "HEAD" and self.head_status != 200:
            return Reply(self.head_status)
        sha = hashlib.sha256(self.body).hexdigest()
        headers = {"X-Content-SHA256": sha} if self.digest else {}
        headers |= {"ETag": f'"{sha[:12]}"'} if self.etag else {}
        headers |= {"Last-Modified": MODIFIED} if self.last_modified else {}
        return Reply(304) if self._unchanged_for(request, headers) else Reply(200, self.body, headers)

    def _unchanged_for(self, request: Received, headers: dict[str, str]) -> bool:
        if_none_match, since = request.header("If-None-Match"), request.header("If-Modified-Since")
        if if_none_match is not None:
            return if_none_match == headers.get("ETag")
        return since is not None and since == headers.get("Last-Modified")


def endpoint(base_url: str, waits: list[float] | None = None) -> FeedEndpoint:
    return FeedEndpoint(base_url, "k", QUICK, sleep=(waits if waits is not None else []).append)


def asked(server) -> list[tuple[str, str | None, str | None]]:
    return [(r.method, r.header("If-None-Match"), r.header("If-Modified-Since")) for r in server.received]


def test_with_nothing_known_the_file_is_fetched_with_its_validators():
    with serving(Export()) as server:
        delivery = endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, None)
    assert asked(server) == [("GET", None, None)]
    assert (delivery.data, delivery.route, delivery.etag, delivery.last_modified) == (
        OLD,
        HTTP_ROUTE,
        f'"{OLD_SHA[:12]}"',
        MODIFIED,
    )


def test_a_head_showing_the_known_digest_is_enough():
    with serving(Export()) as server:
        assert endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, Known(OLD_SHA)) is None
    assert server.methods() == ["HEAD"]


def test_a_head_showing_another_digest_leads_to_the_new_file():
    with serving(Export(body=NEW)) as server:
        known = Known(OLD_SHA, f'"{OLD_SHA[:12]}"', MODIFIED)
        delivery = endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, known)
    assert delivery.data == NEW and delivery.etag == f'"{NEW_SHA[:12]}"'
    assert asked(server) == [("HEAD", None, None), ("GET", None, None)], "the digest decided: no condition"


def test_a_head_answered_404_means_nothing_to_fetch():
    with serving(lambda _r: Reply(404)) as server:
        assert endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, Known(OLD_SHA)) is None
    assert server.methods() == ["HEAD"]


@pytest.mark.parametrize("refusal", [405, 501])
def test_a_server_that_refuses_head_is_asked_with_a_conditional_get_and_never_with_head_again(refusal):
    export = Export(head_status=refusal)
    waits: list[float] = []
    with serving(export) as server, serving(Export()) as other:
        known = Known(OLD_SHA, f'"{OLD_SHA[:12]}"', MODIFIED)
        assert endpoint(server.base_url, waits).fetch_if_changed("ct_care_homes", DAY, known) is None
        export.body = NEW
        changed = endpoint(server.base_url, waits).fetch_if_changed("ct_care_homes", DAY, known)
        assert endpoint(other.base_url).fetch_if_changed("ct_care_homes", DAY, Known(OLD_SHA)) is None
    assert changed.data == NEW and waits == []
    validators = (f'"{OLD_SHA[:12]}"', None)  # the ETag alone: it is exact, a date is not
    assert asked(server) == [("HEAD", None, None), ("GET", *validators), ("GET", *validators)]
    assert other.methods() == ["HEAD"]  # remembered per server, not for all


@pytest.mark.parametrize(
    ("known", "sent"),
    [
        (Known(OLD_SHA, etag='"abc"'), ('"abc"', None)),
        (Known(OLD_SHA, last_modified=MODIFIED), (None, MODIFIED)),
        (Known(OLD_SHA, etag='"abc"', last_modified=MODIFIED), ('"abc"', None)),
        (Known(OLD_SHA), (None, None)),
    ],
)
def test_only_the_validators_known_are_sent(known, sent):
    with serving(Export(head_status=405, etag=False, last_modified=False, digest=False)) as server:
        delivery = endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, known)
    assert delivery.data == OLD  # the same bytes: the caller compares sha256s
    assert (delivery.etag, delivery.last_modified) == (None, None)
    assert asked(server)[-1] == ("GET", *sent)


def test_a_look_that_trusts_no_dates_sends_no_if_modified_since():
    """A source reverting to an earlier file may give its earlier date: If-Modified-Since would miss it."""
    with serving(Export(head_status=405, etag=False, digest=False)) as server:
        known = Known(OLD_SHA, last_modified=MODIFIED)
        delivery = endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, known, trust_dates=False)
    assert delivery.data == OLD
    assert asked(server)[-1] == ("GET", None, None)


def test_a_server_with_no_digest_still_works_its_file_hashed_from_the_body():
    with serving(Export(digest=False, etag=False, last_modified=False)) as server:
        delivery = endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, Known(OLD_SHA))
    assert delivery.sha256 == OLD_SHA
    assert server.methods() == ["HEAD", "GET"]


def test_a_head_refused_for_another_reason_is_an_error():
    with serving(Export(head_status=400)) as server:
        with pytest.raises(SourceRefused, match="HTTP 400"):
            endpoint(server.base_url).fetch_if_changed("ct_care_homes", DAY, Known(OLD_SHA))
        assert server.methods() == ["HEAD"]


def test_a_landing_file_carries_the_digest_its_sidecar_declares(tmp_path):
    landing = open_store(str(tmp_path))
    landing.put("ct_care_homes/2020-12-01.csv", OLD)
    assert read_landing(landing, "ct_care_homes", DAY).declared_sha256 is None
    landing.put("ct_care_homes/2020-12-01.csv.sha256", f"{NEW_SHA.upper()}  2020-12-01.csv\n".encode())
    delivery = read_landing(landing, "ct_care_homes", DAY)
    assert (delivery.data, delivery.route, delivery.sha256) == (OLD, LANDING_ROUTE, OLD_SHA)
    assert delivery.declared_sha256 == NEW_SHA  # declared, not compared: the load does that
    landing.put("ct_care_homes/2020-12-01.csv.sha256", b"  \n")
    assert read_landing(landing, "ct_care_homes", DAY).declared_sha256 is None
    assert read_landing(landing, "ct_care_homes", date(2020, 12, 2)) is None
