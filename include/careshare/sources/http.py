"""HTTP GET/HEAD with the rules both source APIs need: 429 honours Retry-After; 5xx, timeouts,
dropped connections and bodies that fail their checks back off exponentially; answers that
retrying cannot change (a refused key or method, a file over the size limit) stop at once.

Redirects are followed here, so that a key goes only to the origin it was given for; bodies are
read as they arrive and decoded (gzip, deflate) with their size capped, so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from careshare.conform.parse import MAX_FILE_BYTES

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024  # read from the wire at a time
DECODED_CHUNK_BYTES = 1024 * 1024  # decoded at a time: a highly compressed chunk grows no bigger than this
ACCEPT_ENCODING = "gzip, deflate"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
REFUSALS = frozenset({400, 405, 501})
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw deflate": -zlib.MAX_WBITS}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SourcePermanent(RuntimeError):
    """An answer retrying cannot change: the task fails without retries."""


class SourceAuthError(SourcePermanent):
    """The key was refused (401/403)."""


class SourceRefused(SourcePermanent):
    """The request itself was refused (400, 405, 501)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class FileTooLarge(SourcePermanent):
    """The body, decoded, is over MAX_FILE_BYTES."""


class UnsupportedEncoding(SourcePermanent):
    """The body came in a Content-Encoding this client cannot decode."""


class SourceUnavailable(RuntimeError):
    """Retries ran out."""


class _BadBody(Exception):
    """A body that cannot be trusted this time (cut short, corrupted): it is asked for again."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_retry_after_seconds: float = 300.0
    timeout_seconds: tuple[float, float] = (10.0, 120.0)

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)


@dataclass(frozen=True)
class HttpAnswer:
    """The final answer to a request, after redirects, with its body read, checked and decoded."""

    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes = b""
    url: str = ""  # where the answer came from; may carry a redirect's signature, so never logged


@dataclass(frozen=True)
class _Call:
    method: str
    url: str
    credentials: Mapping[str, str]
    headers: Mapping[str, str]
    params: Mapping[str, str] | None
    timeout: tuple[float, float]

    @property
    def label(self) -> str:
        return f"{self.method} {self.url}"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_https(base_url: str, allow_insecure_http: bool) -> None:
    """Refuse a base URL a key would cross the network in clear to (plain http to a host not this machine)."""
    parts = urlsplit(base_url)
    if parts.scheme == "https" or (parts.scheme == "http" and (allow_insecure_http or _is_loopback(parts.hostname))):
        return
    raise ValueError(
        f"{parts.scheme or '(no scheme)'}://{parts.hostname or ''}: a source's key is sent over https only; plain"
        " http is accepted for a loopback host, or when allow_insecure_http is given (the Airflow connection's extra"
        ' {"allow_insecure_http": true}, or CARESHARE_ALLOW_INSECURE_HTTP=1 for the command line)'
    )


def retry_after_seconds(
    headers: Mapping[str, str],
    fallback: float,
    ceiling: float,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> float:
    """Retry-After as seconds or as an HTTP date, within [0, ceiling]; `fallback` when absent or unreadable."""
    value = headers.get("Retry-After", "").strip()
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
    credentials: Mapping[str, str],
    policy: RetryPolicy,
    *,
    headers: Mapping[str, str] | None = None,
    accept: Callable[[HttpAnswer], str | None] = lambda _a: None,
    params: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    method: str = "GET",
) -> HttpAnswer:
    """Return the first answer that is 200 (and passes `accept`), 304 or 404.

    `credentials` are headers carrying a secret: they go only to `url`'s origin, never to a host
    a redirect leads to. `accept` returns a reason to retry a 200 (e.g. a body that is not JSON) or None.
    """
    sent = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
    call = _Call(method, url, credentials, sent, params, policy.timeout_seconds)
    problem = "no attempt made"
    for attempt in range(1, policy.attempts + 1):
        wait = policy.backoff(attempt)
        try:
            answer = _exchange(session, call)
        except _BadBody as bad:
            problem = str(bad)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
            problem = f"{type(error).__name__}: {error}"
        else:
            reason = _retry_reason(call, answer, accept)
            if reason is None:
                return answer
            problem = reason
            if answer.status == 429:
                wait = retry_after_seconds(answer.headers, wait, policy.max_retry_after_seconds)
        if attempt < policy.attempts:
            log.warning("%s attempt %d/%d: %s; retrying in %.1fs", call.label, attempt, policy.attempts, problem, wait)
            sleep(wait)
    raise SourceUnavailable(f"{call.label}: gave up after {policy.attempts} attempts; last problem: {problem}")


def _retry_reason(call: _Call, answer: HttpAnswer, accept: Callable[[HttpAnswer], str | None]) -> str | None:
    """None for an answer to return; why to ask again; or the permanent error, raised."""
    status = answer.status
    if status in (401, 403):
        raise SourceAuthError(f"{call.label} refused the key (HTTP {status})")
    if status in REFUSALS:
        raise SourceRefused(f"{call.label} was refused (HTTP {status})", status)
    if status in (304, 404):
        return None
    if status == 200:
        return accept(answer)
    if status == 429:
        return f"HTTP 429, Retry-After {answer.headers.get('Retry-After')!r}"
    if status >= 500:
        return f"HTTP {status}"
    raise SourceUnavailable(f"{call.label}: unexpected HTTP {status}")


def _exchange(session: requests.Session, call: _Call) -> HttpAnswer:
    """One attempt: the request and the redirects it leads to, the credentials sent to `call.url`'s origin only."""
    url, params = call.url, call.params
    home = _origin(call.url)
    for _ in range(MAX_REDIRECTS + 1):
        headers = {**call.headers, **(call.credentials if _origin(url) == home else {})}
        with session.request(
            call.method,
            url,
            headers=headers,
            params=params,
            timeout=call.timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            location = response.headers.get("Location")
            if response.status_code in REDIRECTS and location:
                url, params = urljoin(response.url, location), None
                continue
            body = _read_body(response, call.label) if response.status_code == 200 and call.method != "HEAD" else b""
            return HttpAnswer(response.status_code, response.headers, body, response.url)
    raise SourceUnavailable(f"{call.label}: more than {MAX_REDIRECTS} redirects")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def _read_body(response: requests.Response, label: str) -> bytes:
    """The body as the file it carries: decoded, its wire length and X-Content-SHA256 checked, within the size cap."""
    body = _DecodedBody(_coding(response.headers, label), MAX_FILE_BYTES, label)
    wire_bytes = 0
    for chunk in response.raw.stream(CHUNK_BYTES, decode_content=False):
        wire_bytes += len(chunk)
        body.add(chunk)
    declared_length = response.headers.get("Content-Length", "")
    if declared_length.isdigit() and int(declared_length) != wire_bytes:
        raise _BadBody(f"body cut short: {wire_bytes} of {declared_length} bytes")
    data = body.finish()
    declared_sha = response.headers.get("X-Content-SHA256")
    if declared_sha and declared_sha.lower() != hashlib.sha256(data).hexdigest():
        raise _BadBody("body does not match X-Content-SHA256")
    return data


def _coding(headers: Mapping[str, str], label: str) -> str:
    coding = headers.get("Content-Encoding", "").strip().lower()
    if coding in ("", "identity"):
        return "identity"
    if coding in ("gzip", "x-gzip"):
        return "gzip"
    if coding == "deflate":
        return "deflate"
    raise UnsupportedEncoding(f"{label}: the body is in Content-Encoding {coding!r}, which this client cannot decode")


class _DecodedBody:
    """A body decoded as it arrives, never holding more than `limit` decoded bytes (a gzip bomb stops there)."""

    def __init__(self, coding: str, limit: int, label: str):
        self._coding, self._limit, self._label = coding, limit, label
        self._inflater: zlib._Decompress | None = None
        self._start = b""  # the first bytes of a deflate body, until they tell zlib-wrapped from raw
        self._decoded = io.BytesIO()

    def add(self, data: bytes) -> None:
        if self._coding == "identity":
            self._keep(data)
            return
        if self._inflater is None:
            self._start += data
            if len(self._start) < 2:
                return
            data, self._start = self._start, b""
            self._inflater = zlib.decompressobj(_WBITS[_deflate_kind(data) if self._coding == "deflate" else "gzip"])
        self._inflate(data)

    def _inflate(self, data: bytes) -> None:
        assert self._inflater is not None
        try:
            while data:
                if self._inflater.eof:
                    self._next_member()
                room = self._limit - self._decoded.tell() + 1
                self._keep(self._inflater.decompress(data, min(room, DECODED_CHUNK_BYTES)))
                data = self._inflater.unused_data if self._inflater.eof else self._inflater.unconsumed_tail
        except zlib.error as error:
            raise _BadBody(f"body is not valid {self._coding}: {error}") from None

    def _next_member(self) -> None:
        """A gzip body may hold several members, one after another; nothing may follow a deflate stream."""
        if self._coding != "gzip":
            raise _BadBody("bytes after the end of the deflate stream")
        self._inflater = zlib.decompressobj(_WBITS["gzip"])

    def _keep(self, piece: bytes) -> None:
        self._decoded.write(piece)
        if self._decoded.tell() > self._limit:
            raise FileTooLarge(f"{self._label}: the file is over the {self._limit}-byte limit")

    def finish(self) -> bytes:
        if self._coding != "identity" and (self._inflater is None or not self._inflater.eof):
            raise _BadBody(f"the {self._coding} body ends before its compressed stream does")
        return self._decoded.getvalue()


def _deflate_kind(start: bytes) -> str:
    """`deflate` is meant zlib-wrapped (RFC 9110) but some servers send the raw stream: the header tells."""
    zlib_wrapped = start[0] & 0x0F == 8 and int.from_bytes(start[:2], "big") % 31 == 0
    return "deflate" if zlib_wrapped else "raw deflate"
