"""The simulator's HTTP API as a plain function of a request, with no sockets involved."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

from careshare.feeds import Feed

from .directory import parse_timestamp
from .files import Variant
from .world import World

EXPORT_KEY_HEADER = "X-API-Key"
DIRECTORY_KEY_HEADER = "Ocp-Apim-Subscription-Key"
DEFAULT_PER_PAGE = 1000

_EXPORT = re.compile(r"^/exports/(?P<feed>[^/]+)/(?P<day>[^/]+)/?$")
_LOCATIONS = re.compile(r"^/public/v1/locations/?$")
_LOCATION = re.compile(r"^/public/v1/locations/(?P<id>[^/]+)/?$")
_PROVIDER = re.compile(r"^/public/v1/providers/(?P<id>[^/]+)/?$")
_CHANGES = re.compile(r"^/public/v1/changes/location/?$")

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # looked up case-insensitively
    received_at: datetime | None = None  # by the server's clock, so faults can judge lateness

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0  # wait before answering
    truncate_at: int | None = None  # send only this many bytes of the body, then drop the connection


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def error(status: int, message: str) -> Response:
    return json_response(status, {"statusCode": status, "message": message})


def utc_now() -> datetime:
    return datetime.now(UTC)


def not_published(feed: Feed, report_date: date) -> Response:
    return error(404, f"{feed.value} for {report_date.isoformat()} is not published yet")


def export_response(world: World, feed: Feed, report_date: date, variant: Variant, published_at: datetime) -> Response:
    rendered = world.rendered(feed, report_date, variant)
    if rendered is None:
        return error(404, f"no {feed.value} file for {report_date.isoformat()}")
    return Response(
        200,
        rendered.content,
        {
            "Content-Type": "text/csv",
            "X-Content-SHA256": rendered.file.sha256,
            "Last-Modified": format_datetime(published_at.astimezone(UTC), usegmt=True),
            "Content-Disposition": f'attachment; filename="{feed.value}_{report_date.isoformat()}.csv"',
        },
    )


def export_target(path: str) -> tuple[Feed, date] | None:
    """The feed and report date an export path asks for, or None for any other path."""
    match = _EXPORT.match(path)
    if not match:
        return None
    try:
        return Feed(match["feed"]), date.fromisoformat(match["day"])
    except ValueError:
        return None


class SimulatorApp:
    def __init__(self, world: World, api_key: str, directory_key: str, clock: Clock = utc_now):
        self.world = world
        self.api_key = api_key
        self.directory_key = directory_key
        self.clock = clock

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return error(405, "only GET is supported")
        if request.path.startswith("/exports/"):
            return self._guarded(request, EXPORT_KEY_HEADER, self.api_key, self._export)
        if request.path.startswith("/public/v1/"):
            return self._guarded(request, DIRECTORY_KEY_HEADER, self.directory_key, self._directory)
        return error(404, "no such resource")

    def _guarded(
        self, request: Request, header: str, expected: str, handler: Callable[[Request], Response]
    ) -> Response:
        given = request.header(header)
        if not given:
            return error(401, f"missing {header} header")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error(403, f"the {header} is not valid")
        return handler(request)

    def _export(self, request: Request) -> Response:
        target = export_target(request.path)
        if target is None:
            return error(404, "no such export")
        feed, report_date = target
        if not self.world.versions(feed, report_date):
            return error(404, f"no {feed.value} file for {report_date.isoformat()}")
        version = self.world.version_at(feed, report_date, request.received_at or self.clock())
        if version is None:
            return not_published(feed, report_date)
        return export_response(self.world, feed, report_date, version.variant, version.published_at)

    def _directory(self, request: Request) -> Response:
        directory = self.world.directory
        path = request.path
        if _LOCATIONS.match(path):
            try:
                page = int(request.query.get("page", "1"))
                per_page = int(request.query.get("perPage", str(DEFAULT_PER_PAGE)))
                return json_response(200, directory.page(page, per_page))
            except ValueError as problem:
                return error(400, str(problem))
        if _CHANGES.match(path):
            try:
                start = parse_timestamp(request.query["startTimestamp"])
                end = parse_timestamp(request.query["endTimestamp"])
            except (KeyError, ValueError):
                return error(400, "startTimestamp and endTimestamp must be ISO 8601 timestamps")
            return json_response(200, {"changes": directory.changes(start, end)})
        if match := _LOCATION.match(path):
            found = directory.location(match["id"])
            return json_response(200, found) if found else error(404, f"no location {match['id']}")
        if match := _PROVIDER.match(path):
            found = directory.provider(match["id"])
            return json_response(200, found) if found else error(404, f"no provider {match['id']}")
        return error(404, "no such resource")
