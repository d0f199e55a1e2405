"""The two routes a feed file arrives by (HTTPS export, landing folder/bucket), one result shape."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import requests

from careshare.sources.http import HttpAnswer, RetryPolicy, SourceRefused, request_with_retries, require_https
from careshare.storage import ObjectStore

HTTP_ROUTE = "http"
LANDING_ROUTE = "landing"
HEAD_REFUSALS = frozenset({405, 501})


@dataclass(frozen=True)
class Delivery:
    feed: str
    report_date: date
    data: bytes
    route: str  # HTTP_ROUTE or LANDING_ROUTE
    source: str  # URL or landing URI, never carrying credentials
    etag: str | None = None  # the source's validators, for a later conditional request
    last_modified: str | None = None
    declared_sha256: str | None = None  # a landing file's `.sha256` sidecar, lower-case hex

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_name(self) -> str:
        return f"{self.feed}/{self.report_date.isoformat()}.csv"


@dataclass(frozen=True)
class Known:
    """What the registry holds of the last receipt from one source for one day."""

    sha256: str
    etag: str | None = None
    last_modified: str | None = None

    def conditions(self, trust_dates: bool = True) -> dict[str, str]:
        """The headers of a conditional GET that a server answers 304 while it still serves this file:
        the ETag where there is one; else Last-Modified, unless `trust_dates` is off (a source that
        reverts to an earlier file may also give its earlier date, which If-Modified-Since misses)."""
        if self.etag:
            return {"If-None-Match": self.etag}
        if self.last_modified and trust_dates:
            return {"If-Modified-Since": self.last_modified}
        return {}


class HeadRefusals:
    """The base URLs whose server refused HEAD (405, 501), remembered for this process: never asked again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._base_urls: set[str] = set()

    def __contains__(self, base_url: str) -> bool:
        with self._lock:
            return base_url.rstrip("/") in self._base_urls

    def add(self, base_url: str) -> None:
        with self._lock:
            self._base_urls.add(base_url.rstrip("/"))


HEAD_REFUSED = HeadRefusals()


@dataclass(frozen=True)
class FeedEndpoint:
    """The export API of SOURCES.md: `GET {base_url}/exports/{feed}/{YYYY-MM-DD}` with `X-API-Key`.

    The key is sent over https only, unless the host is this machine or `allow_insecure_http` says otherwise.
    """

    base_url: str
    api_key: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    allow_insecure_http: bool = False

    def __post_init__(self) -> None:
        require_https(self.base_url, self.allow_insecure_http)

    def url(self, feed: str, report_date: date) -> str:
        return f"{self.base_url.rstrip('/')}/exports/{feed}/{report_date.isoformat()}"

    def fetch(self, feed: str, report_date: date) -> Delivery | None:
        """The file, its body checked against Content-Length and X-Content-SHA256; None when not published."""
        return self._get(feed, report_date, {})

    def fetch_if_changed(
        self, feed: str, report_date: date, known: Known | None, *, trust_dates: bool = True
    ) -> Delivery | None:
        """The file published now, unless the server shows it is `known`'s (or not published): None then.

        Asks with HEAD where the server answers it: its X-Content-SHA256 decides when it gives one.
        Else a conditional GET with `known`'s validators (see Known.conditions). A returned delivery
        may still carry `known`'s bytes (a server without validators); the caller compares sha256s.
        """
        if known is None:
            return self.fetch(feed, report_date)
        head = self._head(feed, report_date)
        if head is not None and head.status == 404:
            return None
        declared = head.headers.get("X-Content-SHA256", "").lower() if head is not None else ""
        if declared:
            return None if declared == known.sha256 else self.fetch(feed, report_date)
        return self._get(feed, report_date, known.conditions(trust_dates))

    def _head(self, feed: str, report_date: date) -> HttpAnswer | None:
        """The HEAD answer; None from a server that refuses HEAD (remembered, never asked again)."""
        if self.base_url in HEAD_REFUSED:
            return None
        try:
            return self._request("HEAD", feed, report_date, {})
        except SourceRefused as refused:
            if refused.status not in HEAD_REFUSALS:
                raise
            HEAD_REFUSED.add(self.base_url)
            return None

    def _get(self, feed: str, report_date: date, conditions: Mapping[str, str]) -> Delivery | None:
        answer = self._request("GET", feed, report_date, conditions)
        if answer.status in (304, 404):
            return None
        return Delivery(
            feed,
            report_date,
            answer.body,
            HTTP_ROUTE,
            self.url(feed, report_date),
            etag=answer.headers.get("ETag"),
            last_modified=answer.headers.get("Last-Modified"),
        )

    def _request(self, method: str, feed: str, report_date: date, headers: Mapping[str, str]) -> HttpAnswer:
        with requests.Session() as session:
            return request_with_retries(
                session,
                self.url(feed, report_date),
                {"X-API-Key": self.api_key},
                self.policy,
                headers=headers,
                method=method,
                sleep=self.sleep,
            )


def read_landing(store: ObjectStore, feed: str, report_date: date) -> Delivery | None:
    """`{feed}/{YYYY-MM-DD}.csv` in a landing folder or bucket, with the digest of a `.sha256` sidecar beside it."""
    key = f"{feed}/{report_date.isoformat()}.csv"
    if not store.exists(key):
        return None
    return Delivery(
        feed, report_date, store.get(key), LANDING_ROUTE, store.uri(key), declared_sha256=_sidecar_sha256(store, key)
    )


def _sidecar_sha256(store: ObjectStore, key: str) -> str | None:
    """The first token of `{key}.sha256`, as `sha256sum` writes it (`<hex>  <name>`); None without a sidecar."""
    sidecar = f"{key}.sha256"
    if not store.exists(sidecar):
        return None
    tokens = store.get(sidecar).decode("utf-8", "replace").split()
    return tokens[0].lower() if tokens else None
