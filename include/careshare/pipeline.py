"""The stages a DAG task (or the CLI) runs for one feed or one report date."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from careshare.feeds import FEEDS, feed_spec
from careshare.ingest import (
    ABSENT,
    FAILED,
    LOADED,
    FeedDayFailed,
    FeedDayResult,
    archive_delivery,
    load_feed_day,
    record_expected_absence,
)
from careshare.platform import Platform
from careshare.sources.delivery import Delivery, FeedEndpoint, read_landing
from careshare.sources.http import SourceUnavailable
from careshare.storage import ObjectStore

log = logging.getLogger(__name__)

ARCHIVED = "archived"
WAITING = "waiting"
SETTLED = {LOADED, ABSENT, FAILED}
RECHECK_DAYS = 7
UNCHANGED = "unchanged"
CORRECTED = "corrected"
REJECTED = "rejected"
UNAVAILABLE = "unavailable"


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
        delivery = endpoint.fetch(feed, report_date)
    if delivery is not None:
        archived = archive_delivery(platform, delivery)
        return FetchOutcome(feed, report_date.isoformat(), ARCHIVED, archived.sha256)
    if not feed_spec(feed).expected_on(report_date):
        reason = absence_reason(feed, report_date)
        record_expected_absence(platform, feed, report_date, reason)
        return FetchOutcome(feed, report_date.isoformat(), ABSENT, message=reason)
    return FetchOutcome(feed, report_date.isoformat(), WAITING, message="file not published yet")


@dataclass(frozen=True)
class CorrectionCheck:
    feed: str
    report_date: str
    status: str  # unchanged, corrected (loaded in place of `replaced`), rejected, or unavailable
    sha256: str | None = None
    replaced: str | None = None
    message: str | None = None


def recheck_recent_days(
    platform: Platform,
    feed: str,
    report_date: date,
    *,
    endpoint: FeedEndpoint | None = None,
    landing: ObjectStore | None = None,
    days: int = RECHECK_DAYS,
) -> list[CorrectionCheck]:
    """Look again at the feed's files for the `days` report dates before `report_date`.

    A file whose sha256 differs from every delivery received for its day is a correction: it is
    archived and the day loaded from it (HTTP asks with HEAD first, so an unchanged file costs
    no download). A source that cannot be reached now is reported, and asked again next time.
    """
    first, last = report_date - timedelta(days=days), report_date - timedelta(days=1)
    known = platform.warehouse.query_frame("registry/deliveries_between", {"feed": feed, "first": first, "last": last})
    known["report_date"] = pd.to_datetime(known["report_date"]).dt.date
    checks = []
    for day, deliveries in known.groupby("report_date", sort=True):
        try:
            delivery = _changed_delivery(feed, day, set(deliveries["sha256"]), endpoint, landing)
        except SourceUnavailable as problem:
            checks.append(CorrectionCheck(feed, day.isoformat(), UNAVAILABLE, message=str(problem)))
            continue
        checks.append(_load_correction(platform, feed, day, delivery) if delivery else _unchanged(feed, day))
    return checks


def _changed_delivery(
    feed: str, day: date, known: set[str], endpoint: FeedEndpoint | None, landing: ObjectStore | None
) -> Delivery | None:
    if landing is not None:
        found = read_landing(landing, feed, day)
        if found is not None and found.sha256 not in known:
            return found
    if endpoint is None:
        return None
    published = endpoint.published_sha256(feed, day)
    if published is None or published in known:
        return None
    found = endpoint.fetch(feed, day)
    return found if found is not None and found.sha256 not in known else None


def _unchanged(feed: str, day: date) -> CorrectionCheck:
    return CorrectionCheck(feed, day.isoformat(), UNCHANGED)


def _load_correction(platform: Platform, feed: str, day: date, delivery: Delivery) -> CorrectionCheck:
    before = platform.warehouse.query_frame("registry/loaded_delivery", {"feed": feed, "report_date": day})
    replaced = None if before.empty else str(before.at[0, "sha256"])
    archived = archive_delivery(platform, delivery)
    log.warning("%s %s: corrected file %s found; loading it in place of %s", feed, day, archived.sha256, replaced)
    try:
        load_feed_day(platform, feed, day)
    except FeedDayFailed as failure:
        return CorrectionCheck(feed, day.isoformat(), REJECTED, archived.sha256, replaced, str(failure))
    return CorrectionCheck(feed, day.isoformat(), CORRECTED, archived.sha256, replaced)


@dataclass(frozen=True)
class Readiness:
    report_date: date
    feed_status: dict[str, str]
    directory_loaded: bool

    @property
    def ready(self) -> bool:
        return self.directory_loaded and all(self._settled(feed) for feed in FEEDS)

    def _settled(self, feed: str) -> bool:
        """Loaded, absent or failed; a feed not collected on the date need not report its absence."""
        status = self.feed_status.get(feed)
        return status in SETTLED or (status is None and not feed_spec(feed).expected_on(self.report_date))

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


def settle_feed_day(platform: Platform, feed: str, report_date: date, absence: str | None = None) -> FeedDayResult:
    """After the fetch: an expected absence (`absence` says why) is the day's result; otherwise the
    day is loaded, and a day that cannot be staged is a failed result, not an error (the feed's
    quality gate reports it; the other feeds go on)."""
    if absence is not None:
        return FeedDayResult(feed, report_date, ABSENT, message=absence)
    try:
        return load_feed_day(platform, feed, report_date)
    except FeedDayFailed as failure:
        return FeedDayResult(feed, report_date, FAILED, message=str(failure))


def held_back(loaded: dict, rechecked: list[dict]) -> list[str]:
    """What the feed's quality gate fails on: its day failed, or a correction was rejected.

    Takes the results as dicts (`FeedDayResult.as_dict()`, `CorrectionCheck.__dict__`), the shape
    they travel in between DAG tasks.
    """
    problems = [f"{loaded['message']}: the day is held back"] if loaded["status"] == FAILED else []
    return problems + [check["message"] for check in rechecked if check["status"] == REJECTED]


def ready_dates(platform: Platform, asked: set[date]) -> tuple[list[date], list[str]]:
    """The asked report dates whose feeds have all settled, and a note for each one left waiting."""
    ready, waiting = [], []
    for day in sorted(asked):
        status = readiness(platform, day)
        if status.ready:
            ready.append(day)
        else:
            waiting.append(f"{day} not ready yet: feeds {status.feed_status}, directory {status.directory_loaded}")
    return ready, waiting


def dates_to_publish(
    platform: Platform, asked: set[date], events: Mapping[date, datetime]
) -> tuple[list[date], list[str]]:
    """What a publish run takes, those ready handed over: the `asked` dates (a manual run's);
    the dates of Asset `events` (date: when its latest event was emitted) not handed to a run
    since; and every owed date, settled in a feed-day state no run was handed (Airflow folds
    events that arrive while a run is active away: their dates are owed until a run takes them)."""
    warehouse = platform.warehouse
    handed = warehouse.query_frame("publish/handoff/handed_at")
    last_handed = dict(zip(_dates(handed["report_date"]), pd.to_datetime(handed["handed_at"]), strict=True))
    unserved = {day for day, at in events.items() if day not in last_handed or last_handed[day] < _utc_naive(at)}
    owed = set(_dates(warehouse.query_frame("publish/handoff/owed_dates")["report_date"]))
    ready, waiting = ready_dates(platform, asked | unserved | owed)
    hand_over(platform, ready)
    return ready, waiting


def _dates(column: pd.Series) -> list[date]:
    return list(pd.to_datetime(column).dt.date)


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def hand_over(platform: Platform, days: list[date]) -> None:
    """Record the feed-day state each date is being merged and published from."""
    handed_at = _utc_naive(datetime.now(UTC))
    with platform.warehouse.transaction() as connection:
        for day in days:
            platform.warehouse.execute_script(
                connection, "publish/handoff/record", {"report_date": day, "handed_at": handed_at}
            )


@dataclass(frozen=True)
class PublishCheck:
    report_url: str
    failure: str | None  # why the date must not be published, with the report link; None = go


def check_publication(platform: Platform, report_date: date) -> PublishCheck:
    """Run the published datasets' suites on the rows about to be published. On a failure the
    quality outputs are built at once, so the message can link the report that shows it."""
    from careshare.quality.publication import publish_quality, report_url
    from careshare.quality.runs import check_published_day

    failed = [check for check in check_published_day(platform, report_date) if not check.passed]
    if not failed:
        return PublishCheck(report_url(platform, report_date), None)
    publication = publish_quality(platform, report_date, quarantine=True)
    message = f"{failed[0].failure_message()}; {report_date.isoformat()} is not published."
    return PublishCheck(publication.report_url, f"{message} Quality report: {publication.report_url}")
