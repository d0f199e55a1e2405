"""The stages a DAG task (or the CLI) runs for one feed or one report date."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from careshare.feeds import FEEDS, feed_spec
from careshare.ingest import ABSENT, FAILED, LOADED, archive_delivery, record_expected_absence
from careshare.platform import Platform
from careshare.sources.delivery import Delivery, fetch_export, read_landing
from careshare.storage import ObjectStore

log = logging.getLogger(__name__)

ARCHIVED = "archived"
WAITING = "waiting"
SETTLED = {LOADED, ABSENT, FAILED}


@dataclass(frozen=True)
class FeedEndpoint:
    base_url: str
    api_key: str


@dataclass(frozen=True)
class FetchOutcome:
    feed: str
    report_date: str
    status: str  # archived, absent (expected, recorded) or waiting (due but not published yet)
    sha256: str | None = None
    message: str | None = None


def absence_reason(feed: str, report_date: date) -> str:
    spec = feed_spec(feed)
    if spec.opens and report_date < spec.opens:
        return f"{feed} opens on {spec.opens.isoformat()}"
    if spec.last_day and report_date > spec.last_day:
        return f"{feed} closed after {spec.last_day.isoformat()}"
    return f"{feed} is collected Monday to Friday only"


def fetch_feed_day(
    platform: Platform,
    feed: str,
    report_date: date,
    *,
    endpoint: FeedEndpoint | None = None,
    landing: ObjectStore | None = None,
) -> FetchOutcome:
    """Take the day's file from the landing area or the export API, archive and register it.

    No file on a day the feed is not collected is an expected absence, recorded as such;
    no file on a day it is due means it is not published yet (the caller waits).
    """
    delivery: Delivery | None = read_landing(landing, feed, report_date) if landing else None
    if delivery is None and endpoint is not None:
        delivery = fetch_export(endpoint.base_url, endpoint.api_key, feed, report_date)
    if delivery is not None:
        archived = archive_delivery(platform, delivery)
        return FetchOutcome(feed, report_date.isoformat(), ARCHIVED, archived.sha256)
    if not feed_spec(feed).expected_on(report_date):
        reason = absence_reason(feed, report_date)
        record_expected_absence(platform, feed, report_date, reason)
        return FetchOutcome(feed, report_date.isoformat(), ABSENT, message=reason)
    return FetchOutcome(feed, report_date.isoformat(), WAITING, message="file not published yet")


@dataclass(frozen=True)
class Readiness:
    report_date: date
    feed_status: dict[str, str]
    directory_loaded: bool

    @property
    def ready(self) -> bool:
        return self.directory_loaded and all(self.feed_status.get(f) in SETTLED for f in FEEDS)

    @property
    def blocked_feeds(self) -> list[str]:
        return sorted(f for f, status in self.feed_status.items() if status == FAILED)


def readiness(platform: Platform, report_date: date) -> Readiness:
    days = platform.warehouse.query_frame("registry/feed_days", {"report_date": report_date})
    last_load = platform.warehouse.query_frame("reference/last_directory_load").at[0, "as_of"]
    return Readiness(
        report_date,
        dict(zip(days["feed"], days["status"], strict=True)),
        directory_loaded=last_load is not None and str(last_load) != "NaT",
    )
