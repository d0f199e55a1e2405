"""The stages a DAG task (or the CLI) runs for one feed or one report date."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from careshare.config import RecheckPolicy
from careshare.feeds import feed_spec
from careshare.ingest import (
    FeedDayFailed,
    FeedDayResult,
    archive_delivery,
    load_feed_day,
    record_expected_absence,
    record_settled_without_file,
)
from careshare.quality.links import report_url
from careshare.readiness import SETTLED, ready_dates
from careshare.resources import Platform
from careshare.sources.delivery import Delivery, FeedEndpoint, Known, read_landing
from careshare.sources.http import FileTooLarge, SourceAuthError, SourcePermanent, SourceUnavailable
from careshare.status import HELD_BACK, NEEDS_ATTENTION, CheckOutcome, FeedDayStatus, FetchStatus
from careshare.storage import ObjectStore
from careshare.warehouse import clip

log = logging.getLogger(__name__)

FETCH_PATIENCE = timedelta(hours=18)


@dataclass(frozen=True)
class FetchOutcome:
    feed: str
    report_date: str
    status: FetchStatus
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
    waiting_since: datetime | None = None,
    patience: timedelta = FETCH_PATIENCE,
) -> FetchOutcome:
    """Take the day's file from the landing area or the export API, archive and register it.

    With no file: a day already received is rebuilt from its archived delivery (a rerun after the
    source withdrew it); a day the feed is not collected is an expected absence; a day it is due
    is waited for (`waiting`) until `patience` has passed since `waiting_since`, then recorded as
    expired, so the date settles and publishes without the feed (a file that comes later is
    loaded by `recheck_past_days`). A file over the size limit fails the feed's day.
    """
    day = report_date.isoformat()
    try:
        delivery = _take_delivery(feed, report_date, endpoint, landing)
    except FileTooLarge as refused:
        record_settled_without_file(
            platform, feed, report_date, FeedDayStatus.FAILED, str(refused), rule="file.too_large"
        )
        return FetchOutcome(feed, day, FetchStatus.FAILED, message=str(refused))
    if delivery is not None:
        archived = archive_delivery(platform, delivery)
        return FetchOutcome(feed, day, FetchStatus.ARCHIVED, archived.sha256)
    current = platform.warehouse.query_frame("registry/current_delivery", {"feed": feed, "report_date": report_date})
    if not current.empty:
        sha256 = str(current.at[0, "sha256"])
        return FetchOutcome(
            feed, day, FetchStatus.ARCHIVED, sha256, f"no file served now; rebuilt from archived delivery {sha256}"
        )
    if not feed_spec(feed).expected_on(report_date):
        reason = absence_reason(feed, report_date)
        record_expected_absence(platform, feed, report_date, reason)
        return FetchOutcome(feed, day, FetchStatus.ABSENT, message=reason)
    if waiting_since is not None and datetime.now(UTC) - waiting_since >= patience:
        reason = (
            f"no {feed} file for {day} after waiting {patience} (since {waiting_since:%Y-%m-%d %H:%M} UTC): "
            "the date is published without it; a file that comes later is loaded then"
        )
        record_settled_without_file(platform, feed, report_date, FeedDayStatus.EXPIRED, reason, rule="delivery.expired")
        return FetchOutcome(feed, day, FetchStatus.EXPIRED, message=reason)
    return FetchOutcome(feed, day, FetchStatus.WAITING, message="file not published yet")


def _take_delivery(
    feed: str, report_date: date, endpoint: FeedEndpoint | None, landing: ObjectStore | None
) -> Delivery | None:
    delivery = read_landing(landing, feed, report_date) if landing else None
    if delivery is None and endpoint is not None:
        delivery = endpoint.fetch(feed, report_date)
    return delivery


@dataclass(frozen=True)
class CorrectionCheck:
    feed: str
    report_date: str
    status: CheckOutcome
    sha256: str | None = None
    replaced: str | None = None
    message: str | None = None


def days_to_recheck(platform: Platform, feed: str, run_date: date, policy: RecheckPolicy) -> list[date]:
    """The past report dates a feed run looks at again (see RecheckPolicy)."""
    spec = feed_spec(feed)
    last = run_date - timedelta(days=1)
    late_first = run_date - timedelta(days=policy.late_days) if policy.late_days is not None else date.min
    params = {
        "feed": feed,
        "recent_first": run_date - timedelta(days=policy.deep_days if run_date.weekday() == 6 else policy.days),
        "late_first": max(late_first, spec.opens or date.min),
        "late_last": min(last, spec.last_day or last),
        "last": last,
    }
    found = platform.warehouse.query_frame("registry/days_to_recheck", params)
    return list(pd.to_datetime(found["report_date"]).dt.date)


def recheck_past_days(
    platform: Platform,
    feed: str,
    run_date: date,
    *,
    endpoint: FeedEndpoint | None = None,
    landing: ObjectStore | None = None,
) -> list[CorrectionCheck]:
    """Look again at the feed's files for past report dates (`days_to_recheck`).

    A source serving bytes other than those it last served for a day (a correction, a revert to
    earlier bytes, or a first file for a day settled without one) gives a new receipt, and the
    day is loaded from it. HTTP asks conditionally (HEAD where the server allows it, else a GET
    with the validators it gave), so an unchanged file costs no download where the server helps.
    The runs for Sundays look further back and trust no Last-Modified date (a server reverting to
    an earlier file may give its earlier date too). A source that cannot be reached now is
    reported, and asked again next time. The checks are recorded for the run's quality report.
    """
    checks = []
    deep = run_date.weekday() == 6  # the weekly look trusts no dates: a revert may carry an older one
    for day in days_to_recheck(platform, feed, run_date, platform.settings.recheck):
        try:
            delivery = _changed_delivery(platform, feed, day, endpoint, landing, trust_dates=not deep)
        except SourceAuthError:
            raise
        except (SourceUnavailable, SourcePermanent) as problem:
            checks.append(
                CorrectionCheck(feed, day.isoformat(), CheckOutcome.UNAVAILABLE, message=clip(str(problem), 1000))
            )
            continue
        checks.append(_load_changed(platform, feed, day, delivery) if delivery else _unchanged(feed, day))
    _record_checks(platform, feed, run_date, checks)
    return checks


def _changed_delivery(
    platform: Platform,
    feed: str,
    day: date,
    endpoint: FeedEndpoint | None,
    landing: ObjectStore | None,
    *,
    trust_dates: bool,
) -> Delivery | None:
    if landing is not None:
        found = read_landing(landing, feed, day)
        if found is not None and _is_new(platform, found):
            return found
    if endpoint is None:
        return None
    known = _last_receipt_from(platform, feed, day, endpoint.url(feed, day))
    found = endpoint.fetch_if_changed(feed, day, known, trust_dates=trust_dates)
    return found if found is not None and _is_new(platform, found) else None


def _is_new(platform: Platform, delivery: Delivery) -> bool:
    known = _last_receipt_from(platform, delivery.feed, delivery.report_date, delivery.source)
    return known is None or known.sha256 != delivery.sha256


def _last_receipt_from(platform: Platform, feed: str, day: date, source: str) -> Known | None:
    """What `source` served last for the day; for a source that never served it, the day's
    newest receipt from any source (the same bytes by another route are no news)."""
    day_key = {"feed": feed, "report_date": day}
    rows = platform.warehouse.query_frame("registry/last_receipt_from", {**day_key, "source": clip(source, 500)})
    if rows.empty:
        rows = platform.warehouse.query_frame("registry/current_delivery", day_key)
        return None if rows.empty else Known(str(rows.at[0, "sha256"]))
    row = rows.iloc[0]
    return Known(str(row["sha256"]), _text(row["etag"]), _text(row["last_modified"]))


def _unchanged(feed: str, day: date) -> CorrectionCheck:
    return CorrectionCheck(feed, day.isoformat(), CheckOutcome.UNCHANGED)


def _load_changed(platform: Platform, feed: str, day: date, delivery: Delivery) -> CorrectionCheck:
    """A correction of a day received before (`replaced`: the delivery it was built from, if one
    loaded), or a late file for a day settled without one."""
    day_key = {"feed": feed, "report_date": day}
    received_before = not platform.warehouse.query_frame("registry/current_delivery", day_key).empty
    before = platform.warehouse.query_frame("registry/loaded_delivery", day_key)
    replaced = None if before.empty else str(before.at[0, "sha256"])
    status = CheckOutcome.CORRECTED if received_before else CheckOutcome.LATE
    archived = archive_delivery(platform, delivery)
    log.warning("%s %s: %s file %s found; loading it in place of %s", feed, day, status, archived.sha256, replaced)
    try:
        load_feed_day(platform, feed, day)
    except FeedDayFailed as failure:
        return CorrectionCheck(feed, day.isoformat(), CheckOutcome.REJECTED, archived.sha256, replaced, str(failure))
    return CorrectionCheck(feed, day.isoformat(), status, archived.sha256, replaced)


def _record_checks(platform: Platform, feed: str, run_date: date, checks: list[CorrectionCheck]) -> None:
    checked_at = _utc_naive(datetime.now(UTC))
    rows = [
        {
            "feed": feed,
            "run_date": run_date,
            "report_date": date.fromisoformat(check.report_date),
            "checked_at": checked_at,
            "outcome": check.status,
            "sha256": check.sha256,
            "message": clip(check.message, 2000),
        }
        for check in checks
    ]
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(connection, "registry/clear_source_checks", {"feed": feed, "run_date": run_date})
        if rows:
            platform.warehouse.execute(connection, "registry/record_source_check", rows)


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def settle_feed_day(
    platform: Platform, feed: str, report_date: date, fetched: str = FetchStatus.ARCHIVED, reason: str | None = None
) -> FeedDayResult:
    """After the fetch: a day it settled without a file (`fetched` absent, expired or failed, for
    `reason`) keeps that result; otherwise the day is loaded, and a day that cannot be staged is a
    failed result, not an error (the feed's quality gate reports it; the other feeds go on)."""
    if fetched in SETTLED:
        return FeedDayResult(feed, report_date, FeedDayStatus(fetched), message=reason)
    try:
        return load_feed_day(platform, feed, report_date)
    except FeedDayFailed as failure:
        return FeedDayResult(feed, report_date, FeedDayStatus.FAILED, message=str(failure))


def held_back(loaded: dict, rechecked: list[dict]) -> list[str]:
    """What the feed's quality gate fails on: its day failed or expired, a correction or late file
    was rejected, or a past day's source could not be reached.

    Takes the results as dicts (`FeedDayResult.as_dict()`, `CorrectionCheck.__dict__`), the shape
    they travel in between DAG tasks.
    """
    problems = [f"{loaded['message']}: the day is held back"] if loaded["status"] in HELD_BACK else []
    return problems + [
        f"recheck of {check['report_date']}: {check['message']}"
        for check in rechecked
        if check["status"] in NEEDS_ATTENTION
    ]


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
class QualityGate:
    report_url: str
    failure: str | None  # what is held back or must not be published, with the report link; None = go


def feed_quality_gate(platform: Platform, report_date: date, loaded: dict, rechecked: list[dict]) -> QualityGate:
    """A feed run's gate (`held_back`). What holds it back is shown at once: the date's Data Docs and
    report are built now, for the failure to link, since the publish path may not reach the date soon
    (it waits for every feed; a rejected correction or an unreachable source owes it nothing). Otherwise
    the gate links the report the publish path builds once the date is ready."""
    problems = held_back(loaded, rechecked)
    if not problems:
        return QualityGate(report_url(platform, report_date), None)
    from careshare.quality.publication import publish_quality

    publication = publish_quality(platform, report_date, quarantine=False)
    return QualityGate(publication.report_url, f"{'; '.join(problems)}. Quality report: {publication.report_url}")


def merge_failure(platform: Platform, report_date: date, failed: Exception) -> QualityGate:
    """A merge (or its re-check) that failed its checks stops the date before publication, where
    the quality outputs are built: they are built now instead, so the failure links the report
    of the feeds that made the date (their quarantine is published once the date is)."""
    from careshare.quality.publication import publish_quality

    publication = publish_quality(platform, report_date, quarantine=False)
    return QualityGate(publication.report_url, f"{failed} Quality report: {publication.report_url}")


def check_publication(platform: Platform, report_date: date) -> QualityGate:
    """Run the published datasets' suites on the rows about to be published. On a failure the
    quality outputs are built at once, so the message can link the report that shows it."""
    from careshare.quality.publication import publish_quality
    from careshare.quality.runs import check_published_day

    failed = [check for check in check_published_day(platform, report_date) if not check.passed]
    if not failed:
        return QualityGate(report_url(platform, report_date), None)
    publication = publish_quality(platform, report_date, quarantine=True)
    message = f"{failed[0].failure_message()}; {report_date.isoformat()} is not published."
    return QualityGate(publication.report_url, f"{message} Quality report: {publication.report_url}")
