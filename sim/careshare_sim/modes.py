"""How the server behaves to every request, as real servers differ within SOURCES.md ("Delivery"):
whether HEAD is answered, whether answers are compressed, whether exports are redirected to
another host, and which validators (ETag, Last-Modified) an export carries and honours.

Unlike a fault (faults.py), a mode is the server's nature: it holds for every request.
"""

from __future__ import annotations

import gzip
import secrets
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urlsplit

from .routes import Request, Response, error

FILES_PREFIX = "/files/"


class HeadAnswer(StrEnum):
    SERVED = "served"  # as GET, without the body
    REFUSED_405 = "405"  # Method Not Allowed
    REFUSED_501 = "501"  # Not Implemented


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"
    DEFLATE = "deflate"  # zlib-wrapped, as RFC 9110 means it


_COMPRESS = {Compression.GZIP: lambda body: gzip.compress(body, mtime=0), Compression.DEFLATE: zlib.compress}


@dataclass(frozen=True)
class ServerModes:
    """The default is the server as it always was: HEAD served, nothing compressed or redirected,
    Last-Modified sent and no ETag."""

    head: HeadAnswer = HeadAnswer.SERVED
    compression: Compression = Compression.NONE
    redirect_exports: bool = False  # 302 to another host name of this server, which serves the file once, keyless
    etag: bool = False  # the file's sha256, quoted; If-None-Match answered 304
    last_modified: bool = True  # If-Modified-Since answered 304

    def __post_init__(self) -> None:
        object.__setattr__(self, "head", HeadAnswer(self.head))
        object.__setattr__(self, "compression", Compression(self.compression))

    def refusal(self, request: Request) -> Response | None:
        """The answer to a HEAD this server does not serve, or None."""
        if request.method != "HEAD" or self.head is HeadAnswer.SERVED:
            return None
        refused = error(int(self.head), "only GET is supported")
        refused.headers["Allow"] = "GET"
        return refused

    def finish(self, request: Request, response: Response) -> Response:
        """A 200 as this server sends it: its validators, 304 when they match the request's, compressed if asked."""
        if response.status != 200:
            return response
        response = self._validated(response)
        if _not_modified(request, response):
            return Response(304, headers={k: v for k, v in response.headers.items() if k in ("ETag", "Last-Modified")})
        return self._compressed(request, response)

    def _validated(self, response: Response) -> Response:
        headers = dict(response.headers)
        if not self.last_modified:
            headers.pop("Last-Modified", None)
        if self.etag and "X-Content-SHA256" in headers:
            headers["ETag"] = f'"{headers["X-Content-SHA256"]}"'
        return replace(response, headers=headers)

    def _compressed(self, request: Request, response: Response) -> Response:
        coding = self.compression
        if coding is Compression.NONE or not response.body or not accepts(request.header("Accept-Encoding"), coding):
            return response
        packed = _COMPRESS[coding](response.body)
        cut = response.truncate_at
        return replace(
            response,
            body=packed,
            headers={**response.headers, "Content-Encoding": coding.value, "Vary": "Accept-Encoding"},
            truncate_at=None if cut is None else len(packed) * cut // len(response.body),
        )


def accepts(accept_encoding: str | None, coding: str) -> bool:
    """Whether an Accept-Encoding header admits `coding` (q-values honoured; no header: identity only)."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        name, *parameters = item.split(";")
        weights[name.strip().lower()] = _weight(parameters)
    return weights.get(coding, weights.get("*", 0.0)) > 0


def _weight(parameters: list[str]) -> float:
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _not_modified(request: Request, response: Response) -> bool:
    """RFC 9110 13.1: If-None-Match decides when present; else If-Modified-Since against Last-Modified."""
    if_none_match = request.header("If-None-Match")
    if if_none_match is not None:
        etag = response.headers.get("ETag")
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag is not None and ("*" in tags or etag.removeprefix("W/") in tags)
    since, modified = request.header("If-Modified-Since"), response.headers.get("Last-Modified")
    if not since or not modified:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


class FileHost:
    """Where redirected exports are served: another host name of the same server. Each answer is
    parked under an unguessable path, served once, and asks for no key."""

    KEEP = 64  # parked answers no client came for are dropped, oldest first

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self._netloc = urlsplit(self.base_url).netloc
        self._parked: OrderedDict[str, Response] = OrderedDict()
        self._lock = threading.Lock()

    def redirect(self, response: Response) -> Response:
        """Park `response` and answer with the 302 that leads to it."""
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._parked[token] = response
            while len(self._parked) > self.KEEP:
                self._parked.popitem(last=False)
        return Response(302, headers={"Location": f"{self.base_url}{FILES_PREFIX}{token}"})

    def serves(self, request: Request) -> bool:
        return request.path.startswith(FILES_PREFIX)

    def answer(self, request: Request) -> Response:
        if request.header("Host") != self._netloc:
            return error(404, "no such resource")
        with self._lock:
            parked = self._parked.pop(request.path.removeprefix(FILES_PREFIX), None)
        return parked or error(410, "this link has been used or has expired")
