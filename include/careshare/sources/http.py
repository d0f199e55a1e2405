"""HTTP GET/HEAD with the retry rules both source APIs need: 429 honours Retry-After, 5xx,
timeouts, dropped connections and bodies that fail their checks back off exponentially, auth
failures stop at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

log = logging.getLogger(__name__)


class SourceAuthError(RuntimeError):
    """The key was refused (401/403): retrying cannot help."""


class SourceUnavailable(RuntimeError):
    """Retries ran out."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0
    timeout_seconds: tuple[float, float] = (10.0, 120.0)

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)


def retry_after_seconds(
    response: requests.Response,
    fallback: float,
    ceiling: float,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> float:
    """Retry-After as seconds or as an HTTP date, within [0, ceiling]; `fallback` when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now()).total_seconds()
        except (TypeError, ValueError):
            return fallback
    return min(max(seconds, 0.0), ceiling)


def request_with_retries(
    session: requests.Session,
    url: str,
    headers: Mapping[str, str],
    policy: RetryPolicy,
    *,
    accept: Callable[[requests.Response], str | None] = lambda _r: None,
    params: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    method: str = "GET",
) -> requests.Response:
    """Return the first response that is 200 (and passes `accept`) or 404.

    `accept` returns a reason to retry a 200 (e.g. a body cut short) or None.
    """
    problem = "no attempt made"
    for attempt in range(1, policy.attempts + 1):
        wait = policy.backoff(attempt)
        try:
            response = session.request(
                method, url, headers=dict(headers), params=params, timeout=policy.timeout_seconds
            )
        except requests.RequestException as error:
            problem = f"{type(error).__name__}: {error}"
        else:
            if response.status_code in (401, 403):
                raise SourceAuthError(f"{method} {url} refused the key (HTTP {response.status_code})")
            if response.status_code == 404:
                return response
            if response.status_code == 200:
                reason = accept(response)
                if reason is None:
                    return response
                problem = reason
            elif response.status_code == 429:
                wait = retry_after_seconds(response, wait, policy.max_retry_after_seconds)
                problem = f"HTTP 429, Retry-After {response.headers.get('Retry-After')!r}"
            elif response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
            else:
                raise SourceUnavailable(f"{method} {url}: unexpected HTTP {response.status_code}")
        if attempt < policy.attempts:
            log.warning(
                "%s %s attempt %d/%d: %s; retrying in %.1fs", method, url, attempt, policy.attempts, problem, wait
            )
            sleep(wait)
    raise SourceUnavailable(f"{method} {url}: gave up after {policy.attempts} attempts; last problem: {problem}")
