"""The two routes a feed file arrives by (HTTPS export, landing folder/bucket), one result shape."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import requests

from careshare.sources.http import RetryPolicy, request_with_retries
from careshare.storage import ObjectStore


@dataclass(frozen=True)
class Delivery:
    feed: str
    report_date: date
    data: bytes
    route: str  # "http" or "landing"
    source: str  # URL or landing URI, never carrying credentials

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_name(self) -> str:
        return f"{self.feed}/{self.report_date.isoformat()}.csv"


def body_problem(response: requests.Response) -> str | None:
    """Why a 200 body cannot be trusted (cut short or corrupted), or None."""
    body = response.content
    declared_length = response.headers.get("Content-Length")
    if declared_length is not None and declared_length.isdigit() and int(declared_length) != len(body):
        return f"body cut short: {len(body)} of {declared_length} bytes"
    declared_sha = response.headers.get("X-Content-SHA256")
    if declared_sha and declared_sha.lower() != hashlib.sha256(body).hexdigest():
        return "body does not match X-Content-SHA256"
    return None


@dataclass(frozen=True)
class FeedEndpoint:
    """The export API of SOURCES.md: `GET {base_url}/exports/{feed}/{YYYY-MM-DD}` with `X-API-Key`."""

    base_url: str
    api_key: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep

    def url(self, feed: str, report_date: date) -> str:
        return f"{self.base_url.rstrip('/')}/exports/{feed}/{report_date.isoformat()}"

    def _request(self, method: str, feed: str, report_date: date, **options) -> requests.Response:
        with requests.Session() as session:
            return request_with_retries(
                session,
                self.url(feed, report_date),
                {"X-API-Key": self.api_key},
                self.policy,
                method=method,
                sleep=self.sleep,
                **options,
            )

    def fetch(self, feed: str, report_date: date) -> Delivery | None:
        """The file, its body checked against Content-Length and X-Content-SHA256; None when not published."""
        response = self._request("GET", feed, report_date, accept=body_problem)
        if response.status_code == 404:
            return None
        return Delivery(feed, report_date, response.content, "http", self.url(feed, report_date))

    def published_sha256(self, feed: str, report_date: date) -> str | None:
        """The sha256 of the file published now (HEAD, so no body is moved); None when not published.

        A server that declares no X-Content-SHA256 is asked for the body, which is hashed.
        """
        response = self._request("HEAD", feed, report_date)
        if response.status_code == 404:
            return None
        declared = response.headers.get("X-Content-SHA256")
        if declared:
            return declared.lower()
        delivery = self.fetch(feed, report_date)
        return delivery.sha256 if delivery else None


def read_landing(store: ObjectStore, feed: str, report_date: date) -> Delivery | None:
    """`{feed}/{YYYY-MM-DD}.csv` in a landing folder or bucket."""
    key = f"{feed}/{report_date.isoformat()}.csv"
    if not store.exists(key):
        return None
    return Delivery(feed, report_date, store.get(key), "landing", store.uri(key))
