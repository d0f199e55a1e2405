"""The two routes a feed file arrives by (HTTPS export, landing folder/bucket), one result shape."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import requests

from careshare.sources.http import RetryPolicy, get_with_retries
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


def fetch_export(
    base_url: str,
    api_key: str,
    feed: str,
    report_date: date,
    *,
    session: requests.Session | None = None,
    policy: RetryPolicy | None = None,
) -> Delivery | None:
    """GET {base_url}/exports/{feed}/{date}; None when the file is not published (404)."""
    url = f"{base_url.rstrip('/')}/exports/{feed}/{report_date.isoformat()}"
    response = get_with_retries(
        session or requests.Session(), url, {"X-API-Key": api_key}, policy or RetryPolicy(), accept=body_problem
    )
    if response.status_code == 404:
        return None
    return Delivery(feed, report_date, response.content, "http", url)


def read_landing(store: ObjectStore, feed: str, report_date: date) -> Delivery | None:
    """`{feed}/{YYYY-MM-DD}.csv` in a landing folder or bucket."""
    key = f"{feed}/{report_date.isoformat()}.csv"
    if not store.exists(key):
        return None
    return Delivery(feed, report_date, store.get(key), "landing", store.uri(key))
