"""Client of the CQC directory API (`/public/v1`), modelled on CQC's public API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from careshare.sources.http import HttpAnswer, RetryPolicy, SourceUnavailable, request_with_retries, require_https

PAGE_SIZE = 1000


class NotFound(SourceUnavailable):
    """The directory has no such record (HTTP 404)."""


@dataclass
class DirectoryClient:
    """The key is sent over https only, unless the host is this machine or `allow_insecure_http` says otherwise."""

    base_url: str
    key: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    workers: int = 8
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    allow_insecure_http: bool = False

    def __post_init__(self) -> None:
        require_https(self.base_url, self.allow_insecure_http)

    def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        url = f"{self.base_url.rstrip('/')}/public/v1/{path}"
        answer = request_with_retries(
            self.session,
            url,
            {"Ocp-Apim-Subscription-Key": self.key},
            self.policy,
            params=params,
            accept=_json_problem,
            sleep=self.sleep,
        )
        if answer.status == 404:
            raise NotFound(f"GET {url}: not found")
        return json.loads(answer.body)

    def location_ids(self) -> list[str]:
        ids: list[str] = []
        page, pages = 1, 1
        while page <= pages:
            body = self._get("locations", {"page": str(page), "perPage": str(PAGE_SIZE)})
            pages = int(body["totalPages"])
            ids.extend(item["locationId"] for item in body["locations"])
            page += 1
        return ids

    def location(self, location_id: str) -> dict[str, Any]:
        return self._get(f"locations/{location_id}")

    def locations(self, location_ids: Iterable[str]) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self.location, location_ids))

    def provider(self, provider_id: str) -> dict[str, Any]:
        return self._get(f"providers/{provider_id}")

    def providers(self, provider_ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """Provider records by id; None for an id the directory does not know."""

        def fetch(provider_id: str) -> dict[str, Any] | None:
            try:
                return self.provider(provider_id)
            except NotFound:
                return None

        ids = list(provider_ids)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return dict(zip(ids, pool.map(fetch, ids), strict=True))

    def changed_location_ids(self, start: datetime, end: datetime) -> list[str]:
        params = {
            "startTimestamp": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endTimestamp": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        changed: list[str] = []
        page, pages = 1, 1
        while page <= pages:
            body = self._get("changes/location", {**params, "page": str(page), "perPage": str(PAGE_SIZE)})
            changed.extend(body["changes"])
            pages = int(body.get("totalPages", 1))
            page += 1
        return changed


def _json_problem(answer: HttpAnswer) -> str | None:
    try:
        json.loads(answer.body)
    except ValueError:
        return f"body is not complete JSON ({len(answer.body)} bytes)"
    return None
