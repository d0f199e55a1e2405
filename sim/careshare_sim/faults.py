"""Faults on demand, for the exports and the directory alike: a plan of rules the server consults.

Each rule names a kind of fault and which requests it hits (a path pattern, or a feed and report
date), optionally only the first `times` of them, a `share` of them, or those inside a window of
the server's clock. A plan can be built in code, changed while the server runs, or loaded from
JSON for `careshare-sim serve --faults FILE`:

    {"rules": [{"kind": "rate_limited", "target": "directory", "share": 0.05, "retry_after": 2},
               {"kind": "not_published", "feed": "ct_care_homes", "report_date": "2020-12-01", "times": 3}]}
"""

from __future__ import annotations

import json
import random
import re
import threading
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from careshare.feeds import Feed

from .files import FileMess, Variant
from .routes import Request, Response, error, export_response, export_target, not_published, utc_now
from .server import Faults
from .world import World


class FaultKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    SERVER_ERROR = "server_error"  # a 5xx status
    SLOW = "slow"  # the answer comes after `delay_seconds`
    CUT_SHORT = "cut_short"  # the connection drops part-way through the body
    CORRUPTED = "corrupted"  # a short body whose Content-Length agrees: only X-Content-SHA256 reveals it
    NOT_PUBLISHED = "not_published"  # exports: 404 as if the file were late
    CORRECTED = "corrected"  # exports: a corrected file replaces the published one
    FILE_MESS = "file_mess"  # exports: the file as published with a file-level fault (files.FileMess)


class Target(StrEnum):
    ANY = "any"
    EXPORTS = "exports"
    DIRECTORY = "directory"


_PREFIX = {Target.EXPORTS: "/exports/", Target.DIRECTORY: "/public/v1/", Target.ANY: "/"}
_EXPORT_ONLY = frozenset({FaultKind.NOT_PUBLISHED, FaultKind.CORRECTED, FaultKind.FILE_MESS})
_REPLACING = frozenset({FaultKind.RATE_LIMITED, FaultKind.SERVER_ERROR, FaultKind.NOT_PUBLISHED})


@dataclass
class FaultRule:
    kind: FaultKind
    target: Target = Target.ANY
    path: str | None = None  # a regular expression the request path must match
    feed: str | None = None
    report_date: date | None = None
    times: int | None = None  # only the first N matching requests; None for all
    share: float = 1.0  # of the matching requests, deterministically drawn
    active_from: datetime | None = None  # by the server's clock
    active_until: datetime | None = None
    status: int = 503
    retry_after: float = 1.0
    delay_seconds: float = 1.0
    keep_fraction: float = 0.5  # of the body, for cut_short and corrupted
    corrections: int = 1
    file_mess: FileMess | None = None
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.kind = FaultKind(self.kind)
        self.target = Target(Target.EXPORTS if self.kind in _EXPORT_ONLY else self.target)
        if isinstance(self.report_date, str):
            self.report_date = date.fromisoformat(self.report_date)
        for name in ("active_from", "active_until"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, datetime.fromisoformat(value.replace("Z", "+00:00")))
        if self.kind is FaultKind.FILE_MESS:
            if self.file_mess is None:
                raise ValueError("a file_mess fault names the file_mess to serve, e.g. empty_file")
            self.file_mess = FileMess(self.file_mess)
        if self.feed is not None:
            self.feed = Feed(self.feed).value
        if not 0.0 <= self.keep_fraction < 1.0:
            raise ValueError("keep_fraction must be at least 0 and below 1")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FaultRule:
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fault rule field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def matches(self, request: Request) -> bool:
        if not request.path.startswith(_PREFIX[self.target]):
            return False
        if self.path is not None and not re.search(self.path, request.path):
            return False
        if self.feed is not None or self.report_date is not None:
            target = export_target(request.path)
            if target is None:
                return False
            feed, report_date = target
            if self.feed not in (None, feed.value) or self.report_date not in (None, report_date):
                return False
        moment = request.received_at
        if moment is not None:
            if self.active_from is not None and moment < self.active_from:
                return False
            if self.active_until is not None and moment >= self.active_until:
                return False
        return self.times is None or self.hits < self.times


@dataclass(frozen=True)
class Fired:
    kind: FaultKind
    method: str
    path: str


class FaultPlan(Faults):
    """Rules consulted on every request, in order; each request is logged in `seen` and each fault
    that fires in `fired`."""

    def __init__(self, rules: list[FaultRule] | None = None, seed: int = 0):
        self.rules = list(rules or [])
        self.seen: list[tuple[str, str]] = []  # (method, path)
        self.fired: list[Fired] = []
        self.replacements: dict[str, Variant] = {}  # sha256 of each file served in place of the published one
        self._world: World | None = None
        self._random = random.Random(seed)  # noqa: S311 (a simulation)
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> FaultPlan:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            return cls([FaultRule.from_dict(r) for r in document["rules"]], seed=int(document.get("seed", 0)))
        except (OSError, KeyError, TypeError, ValueError) as problem:
            raise ValueError(f"{path}: not a fault plan ({problem})") from None

    def bind(self, world: World) -> None:
        self._world = world

    def add(self, **rule: Any) -> FaultRule:
        added = FaultRule.from_dict(rule)
        with self._lock:
            self.rules.append(added)
        return added

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()
            self.fired.clear()

    def count(self, kind: FaultKind | str) -> int:
        return sum(f.kind == kind for f in self.fired)

    def before(self, request: Request) -> Response | None:
        with self._lock:
            self.seen.append((request.method, request.path))
        for rule in self._firing(request, _REPLACING):
            if rule.kind is FaultKind.RATE_LIMITED:
                limited = error(429, "too many requests")
                limited.headers["Retry-After"] = f"{rule.retry_after:g}"
                return limited
            if rule.kind is FaultKind.SERVER_ERROR:
                return error(rule.status, "the service is unavailable")
            target = export_target(request.path)
            if target is not None:
                return not_published(*target)
        return None

    def after(self, request: Request, response: Response) -> Response:
        if response.status != 200:
            return response
        for rule in self._firing(request, frozenset(FaultKind) - _REPLACING):
            response = self._apply(rule, request, response)
        return response

    def _firing(self, request: Request, kinds: frozenset[FaultKind]) -> list[FaultRule]:
        firing = []
        with self._lock:
            for rule in self.rules:
                if rule.kind in kinds and rule.matches(request) and self._random.random() < rule.share:
                    rule.hits += 1
                    self.fired.append(Fired(rule.kind, request.method, request.path))
                    firing.append(rule)
        return firing

    def _apply(self, rule: FaultRule, request: Request, response: Response) -> Response:
        if rule.kind is FaultKind.SLOW:
            response.delay_seconds += rule.delay_seconds
        elif rule.kind is FaultKind.CUT_SHORT:
            response.truncate_at = int(len(response.body) * rule.keep_fraction)
        elif rule.kind is FaultKind.CORRUPTED:
            response.body = response.body[: int(len(response.body) * rule.keep_fraction)]
        else:
            response = self._replace_file(rule, request, response)
        return response

    def _replace_file(self, rule: FaultRule, request: Request, response: Response) -> Response:
        if self._world is None:
            raise RuntimeError("the fault plan is not bound to a world: give it to SimulatorServer")
        target = export_target(request.path)
        if target is None:
            return response
        feed, report_date = target
        served = self._world.version_at(feed, report_date, request.received_at or utc_now())
        if served is None:
            return response
        if rule.kind is FaultKind.CORRECTED:
            variant = served.variant.corrected(rule.corrections)
        else:
            assert rule.file_mess is not None  # required of a file_mess rule when it is made
            variant = served.variant.with_mess(rule.file_mess)
        published_at = request.received_at or served.published_at
        replacement = export_response(self._world, feed, report_date, variant, published_at)
        self.replacements[replacement.headers["X-Content-SHA256"]] = variant
        return replacement
