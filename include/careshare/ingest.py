"""One feed, one report date: archive the delivery, then parse, conform, validate and stage it.

Staging replaces the feed's day in one transaction, so a rerun never duplicates; rows that
fail are quarantined with their reasons, and a file that cannot be used fails only its own
feed's day. The newest receipt of a day builds it; the delivery it loads supersedes every other
of its day, and an unusable correction is rejected without withdrawing the delivery the day was
built from. Whatever fails while loading, the day settles (failed, with the file and the rule).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy.engine import Connection

from careshare.conform.conform import STAGING_COLUMNS, conform
from careshare.conform.parse import SOURCE_ROW, FileRejected, ParsedFile, RowIssue, parse_feed_file
from careshare.feeds import FeedSpec, feed_spec
from careshare.quality.runs import validate_feed_day
from careshare.quality.validate import ValidationReport
from careshare.quality.warned import store_warned_rows
from careshare.resources import Platform
from careshare.sources.delivery import HTTP_ROUTE, Delivery
from careshare.status import DeliveryStatus, FeedDayStatus
from careshare.warehouse import clip

log = logging.getLogger(__name__)

LOAD_ATTEMPTS = 5


class FeedDayFailed(RuntimeError):
    """The feed's day cannot be staged; the message names the feed, date, file and rule."""

    def __init__(self, feed: str, report_date: date, rule: str, problem: str):
        super().__init__(f"{feed} {report_date.isoformat()}: {problem} [rule {rule}]")
        self.feed = feed
        self.report_date = report_date
        self.rule = rule


class _NewerReceipt(Exception):
    """A newer receipt of the day arrived while an older one was being loaded: load that one."""


@dataclass(frozen=True)
class ArchivedDelivery:
    feed: str
    report_date: date
    sha256: str
    archive_uri: str
    already_received: bool


@dataclass
class FeedDayResult:
    feed: str
    report_date: date
    status: FeedDayStatus
    sha256: str | None = None
    rows_delivered: int = 0
    rows_quarantined: int = 0
    rows_staged: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {**self.__dict__, "report_date": self.report_date.isoformat()}


@dataclass(frozen=True)
class _Receipt:
    sha256: str
    source: str
    route: str
    declared_sha256: str | None


def archive_key(feed: str, report_date: date, sha256: str) -> str:
    return f"{feed}/report_date={report_date.isoformat()}/{sha256}.csv"


def archive_delivery(platform: Platform, delivery: Delivery) -> ArchivedDelivery:
    """Keep the bytes unchanged (content-addressed, written only if absent) and register the
    receipt: a new file is a new delivery; the same bytes again are one more receipt of it."""
    sha256 = delivery.sha256
    key = archive_key(delivery.feed, delivery.report_date, sha256)
    if not platform.raw_archive.put(key, delivery.data, if_absent=True):
        _check_archived(platform, key, sha256)
    received_at = _now()
    source = clip(delivery.source, 500)
    with platform.warehouse.transaction() as connection:
        inserted = platform.warehouse.execute(
            connection,
            "registry/record_delivery",
            {
                **_delivery(delivery.feed, delivery.report_date, sha256),
                "bytes": len(delivery.data),
                "route": delivery.route,
                "source": source,
                "archive_uri": clip(platform.raw_archive.uri(key), 500),
                "received_at": received_at,
            },
        )
        platform.warehouse.execute(
            connection,
            "registry/record_receipt",
            {
                **_delivery(delivery.feed, delivery.report_date, sha256),
                "received_at": received_at,
                "route": delivery.route,
                "source": source,
                "etag": clip(delivery.etag, 200),
                "last_modified": clip(delivery.last_modified, 100),
                "declared_sha256": clip(delivery.declared_sha256, 100),
            },
        )
    log.info(
        "%s %s: %s delivery %s (%d bytes) archived at %s",
        delivery.feed,
        delivery.report_date,
        "new" if inserted else "repeated",
        sha256[:12],
        len(delivery.data),
        platform.raw_archive.uri(key),
    )
    return ArchivedDelivery(delivery.feed, delivery.report_date, sha256, platform.raw_archive.uri(key), inserted == 0)


class ArchiveAltered(RuntimeError):
    """The raw archive holds other bytes at a delivery's content address: it was altered outside careshare."""


def _check_archived(platform: Platform, key: str, sha256: str) -> None:
    """The bytes already archived at `key` (a delivery received before) must still be that delivery."""
    held = hashlib.sha256(platform.raw_archive.get(key)).hexdigest()
    if held != sha256:
        raise ArchiveAltered(
            f"{platform.raw_archive.uri(key)} holds bytes with SHA-256 {held}, not the delivery's {sha256}: "
            "the raw archive was altered; restore the object from its previous version"
        )


def record_settled_without_file(
    platform: Platform, feed: str, report_date: date, status: FeedDayStatus, reason: str, rule: str | None = None
) -> FeedDayResult:
    """An expected absence, a file that never came (expired) or one that could not be taken
    (failed): the day holds no rows of the feed."""
    result = FeedDayResult(feed, report_date, status, message=clip(reason, 2000))
    with platform.warehouse.transaction() as connection:
        platform.warehouse.lock(connection, "stage", feed, report_date)
        platform.warehouse.execute(connection, "staging/delete_feed_day", _day(feed, report_date))
        platform.warehouse.execute(connection, "staging/delete_ingest_quarantine", _day(feed, report_date))
        _record_feed_day(platform, connection, result, rule=rule)
    return result


def record_expected_absence(platform: Platform, feed: str, report_date: date, reason: str) -> FeedDayResult:
    return record_settled_without_file(platform, feed, report_date, FeedDayStatus.ABSENT, reason)


def load_feed_day(platform: Platform, feed: str, report_date: date) -> FeedDayResult:
    """Build the feed's day from its newest receipt. The decision is taken again under the day's
    lock: if a newer receipt arrived meanwhile, that one is loaded instead, so whatever order
    concurrent loads finish in, the day ends built from the newest receipt."""
    for _ in range(LOAD_ATTEMPTS):
        current = platform.warehouse.query_frame("registry/current_delivery", _day(feed, report_date))
        if current.empty:
            raise FeedDayFailed(feed, report_date, "delivery.missing", "no delivery has been received")
        row = current.iloc[0]
        receipt = _Receipt(str(row["sha256"]), str(row["source"]), str(row["route"]), _text(row["declared_sha256"]))
        try:
            return _load_receipt(platform, feed_spec(feed), report_date, receipt)
        except _NewerReceipt:
            log.info("%s %s: a newer delivery arrived while loading %s; loading it", feed, report_date, receipt.sha256)
    problem = f"newer deliveries kept arriving ({LOAD_ATTEMPTS} tries)"
    raise FeedDayFailed(feed, report_date, "delivery.contended", problem)


def _load_receipt(platform: Platform, spec: FeedSpec, report_date: date, receipt: _Receipt) -> FeedDayResult:
    feed, sha256 = spec.feed.value, receipt.sha256
    key = archive_key(feed, report_date, sha256)
    file_name = f"{key} ({receipt.source})"
    started = time.perf_counter()
    try:
        return _stage(platform, spec, report_date, receipt, file_name, started)
    except FileRejected as rejected:
        problem = f"{rejected.file_name}: {rejected.problem}"
        problem = _fail(platform, feed, report_date, sha256, None, rejected.rule, problem, quarantine=None)
        raise FeedDayFailed(feed, report_date, rejected.rule, problem) from None
    except (_NewerReceipt, FeedDayFailed):
        raise
    except Exception as error:  # the day must settle whatever went wrong; the cause is logged for the operator
        log.exception("%s %s: loading %s failed unexpectedly", feed, report_date, file_name)
        problem = f"{file_name}: loading failed unexpectedly: {type(error).__name__}: {clip(str(error), 300)}"
        problem = _fail(platform, feed, report_date, sha256, None, "load.unexpected", problem, quarantine=None)
        raise FeedDayFailed(feed, report_date, "load.unexpected", problem) from None


def _stage(
    platform: Platform, spec: FeedSpec, report_date: date, receipt: _Receipt, file_name: str, started: float
) -> FeedDayResult:
    feed, sha256 = spec.feed.value, receipt.sha256
    data = platform.raw_archive.get(archive_key(feed, report_date, sha256))
    if receipt.declared_sha256 is not None and receipt.declared_sha256 != sha256:
        raise FileRejected(
            file_name,
            "file.checksum",
            f"its .sha256 file declares {receipt.declared_sha256} but the file's SHA-256 is {sha256}: "
            "it was cut short or changed after the checksum was written",
        )
    timings: dict[str, float] = {}
    parsed = parse_feed_file(data, spec, report_date, file_name, proven_whole=_proven_whole(receipt))
    timings["parse"] = _lap(started)
    conformed = conform(parsed, spec, report_date, sha256)
    timings["conform"] = _lap(started) - timings["parse"]
    report = validate_feed_day(platform, conformed.rows, spec, report_date, sha256)
    timings["validate"] = _lap(started) - timings["parse"] - timings["conform"]
    issues = [*parsed.issues, *conformed.issues, *_oversize_issues(conformed.rows, platform)]
    quarantine = _quarantine_frame(platform, parsed, report_date, spec, sha256, issues, report)
    if report.blocking:
        first = report.blocking[0]
        problem = (
            f"{file_name}: critical rule failed: {first.message} "
            f"({first.unexpected_count} rows, {first.unexpected_percent:.1f}%)"
        )
        problem = _fail(platform, feed, report_date, sha256, parsed.rows_delivered, first.rule, problem, quarantine)
        raise FeedDayFailed(feed, report_date, first.rule, problem)

    held = set(quarantine[SOURCE_ROW]) if not quarantine.empty else set()
    staged = conformed.rows.loc[~conformed.rows[SOURCE_ROW].isin(held), list(STAGING_COLUMNS)]
    result = FeedDayResult(
        feed,
        report_date,
        FeedDayStatus.LOADED,
        sha256,
        rows_delivered=parsed.rows_delivered,
        rows_quarantined=len(held),
        rows_staged=len(staged),
        warnings=_count_by_rule(report, "warning"),
        message=_delivery_note(spec, report_date, parsed),
    )
    with platform.warehouse.transaction() as connection:
        _lock_current(platform, connection, feed, report_date, sha256)
        platform.warehouse.execute(connection, "staging/delete_ingest_quarantine", _day(feed, report_date))
        platform.warehouse.insert_frame(connection, "stg_submission", staged)
        platform.warehouse.insert_frame(connection, "quarantine_row", quarantine)
        store_warned_rows(platform.warehouse, connection, _delivery(feed, report_date, sha256), report, held)
        _mark_delivery(
            platform, connection, feed, report_date, sha256, DeliveryStatus.LOADED, parsed.rows_delivered, None
        )
        platform.warehouse.execute(connection, "registry/supersede_older", _delivery(feed, report_date, sha256))
        _record_feed_day(platform, connection, result, rule=None)
    timings["stage"] = _lap(started) - sum(timings.values())
    result.timings = timings
    log.info(
        "%s %s: %d rows delivered, %d staged, %d quarantined (%s)",
        feed,
        report_date,
        result.rows_delivered,
        result.rows_staged,
        result.rows_quarantined,
        ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()),
    )
    return result


def _proven_whole(receipt: _Receipt) -> bool:
    """The HTTP client refuses bodies that do not match their length or checksum; a landing file
    is proven whole only by a matching .sha256 file."""
    return receipt.route == HTTP_ROUTE or receipt.declared_sha256 == receipt.sha256


def _lock_current(platform: Platform, connection: Connection, feed: str, report_date: date, sha256: str) -> None:
    """Take the day's lock and empty its staged rows (a write: SQLite then holds its writer lock
    too), then make sure `sha256` is still the newest receipt; else undo and load the newer one."""
    platform.warehouse.lock(connection, "stage", feed, report_date)
    platform.warehouse.execute(connection, "staging/delete_feed_day", _day(feed, report_date))
    if not _is_newest(platform, connection, feed, report_date, sha256):
        raise _NewerReceipt


def _is_newest(platform: Platform, connection: Connection, feed: str, report_date: date, sha256: str) -> bool:
    current = platform.warehouse.query_frame("registry/current_delivery", _day(feed, report_date), connection)
    return not current.empty and str(current.at[0, "sha256"]) == sha256


def _delivery_note(spec: FeedSpec, report_date: date, parsed: ParsedFile) -> str | None:
    notes = []
    if not spec.expected_on(report_date):
        notes.append(f"file delivered for a date outside the {spec.feed} collection; ingested and reported")
    if parsed.extra_columns:
        notes.append(f"unexpected columns kept in extra_columns: {', '.join(parsed.extra_columns)}")
    return "; ".join(notes) or None


def _quarantine_frame(
    platform: Platform,
    parsed: ParsedFile,
    report_date: date,
    spec: FeedSpec,
    sha256: str,
    issues: list[RowIssue],
    report: ValidationReport,
) -> pd.DataFrame:
    records = [(i.source_row, "parse", i.rule, i.column or "", "critical", i.value, i.message) for i in issues] + [
        (f.source_row, "validate", f.rule, f.column or "", f.severity, f.value, f.message)
        for f in report.row_failures
        if f.severity == "critical"
    ]
    columns = [SOURCE_ROW, "stage", "rule", "column_name", "severity", "value", "message"]
    frame = pd.DataFrame.from_records(records, columns=columns).drop_duplicates([SOURCE_ROW, "rule", "column_name"])
    raw = parsed.frame.set_index(SOURCE_ROW)
    frame["raw_record"] = [
        json.dumps(
            parsed.unparsed_records.get(row) or raw.loc[row].to_dict(),
            ensure_ascii=False,
        )
        for row in frame[SOURCE_ROW]
    ]
    frame["value"] = frame["value"].astype("str")
    frame["report_date"] = pd.Timestamp(report_date)
    frame["feed"] = spec.feed.value
    frame["source_sha256"] = sha256
    frame["location_id"] = None
    return platform.warehouse.fit_text("quarantine_row", frame)


def _oversize_issues(rows: pd.DataFrame, platform: Platform) -> list[RowIssue]:
    """Text longer than its staging column holds is quarantined, never cut (or refused by the
    database mid-load)."""
    issues = []
    for column in platform.warehouse.table("stg_submission").columns:
        limit = getattr(column.type, "length", None)
        if not limit or column.name not in rows or not pd.api.types.is_string_dtype(rows[column.name]):
            continue
        lengths = rows[column.name].str.len()
        for row, value in rows.loc[lengths > limit, [SOURCE_ROW, column.name]].itertuples(index=False):
            message = f"{column.name} has {len(value):,} characters, over the {limit} the warehouse keeps"
            issues.append(RowIssue(int(row), "parse.too_long", column.name, value, message))
    return issues


def _count_by_rule(report: ValidationReport, severity: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for failure in report.row_failures:
        if failure.severity == severity:
            counts[failure.rule] = counts.get(failure.rule, 0) + 1
    return counts


def _fail(
    platform: Platform,
    feed: str,
    report_date: date,
    sha256: str,
    rows_delivered: int | None,
    rule: str,
    message: str,
    quarantine: pd.DataFrame | None,
) -> str:
    """Reject the delivery; the day fails unless an earlier delivery of it loaded, which stays.

    Returns the message for the operator. Decided under the day's lock, like a load: a newer
    receipt that arrived meanwhile is loaded instead of failing the day.
    """
    message = clip(message, 2000) or ""
    warehouse = platform.warehouse
    with warehouse.transaction() as connection:
        warehouse.lock(connection, "stage", feed, report_date)
        _mark_delivery(
            platform, connection, feed, report_date, sha256, DeliveryStatus.REJECTED, rows_delivered, message
        )
        kept = warehouse.query_frame("registry/loaded_delivery", _day(feed, report_date), connection)
        kept_sha = None if kept.empty or kept.at[0, "sha256"] == sha256 else str(kept.at[0, "sha256"])
        newer = kept_sha is None and not _is_newest(platform, connection, feed, report_date, sha256)
        if kept_sha is None and not newer:
            result = FeedDayResult(
                feed, report_date, FeedDayStatus.FAILED, sha256, rows_delivered or 0, message=message
            )
            warehouse.execute(connection, "staging/delete_feed_day", _day(feed, report_date))
            warehouse.execute(connection, "staging/delete_ingest_quarantine", _day(feed, report_date))
            if quarantine is not None:
                result.rows_quarantined = quarantine[SOURCE_ROW].nunique()
                warehouse.insert_frame(connection, "quarantine_row", quarantine)
            _record_feed_day(platform, connection, result, rule=rule)
    if newer:
        raise _NewerReceipt
    if kept_sha is None:
        return message
    return f"{message}; this correction is rejected and the day stays built from delivery {kept_sha}"


def _mark_delivery(platform, connection, feed, report_date, sha256, status, rows, message) -> None:
    platform.warehouse.execute(
        connection,
        "registry/mark_delivery",
        {
            **_delivery(feed, report_date, sha256),
            "status": status,
            "rows_delivered": rows,
            "message": clip(message, 2000),
        },
    )


def _record_feed_day(platform: Platform, connection, result: FeedDayResult, rule: str | None) -> None:
    platform.warehouse.execute(
        connection,
        "registry/upsert_feed_day",
        {
            **_day(result.feed, result.report_date),
            "status": result.status,
            "sha256": result.sha256,
            "rows_delivered": result.rows_delivered,
            "rows_quarantined": result.rows_quarantined,
            "rows_staged": result.rows_staged,
            "rule": clip(rule, 100),
            "message": clip(result.message, 2000),
            "updated_at": _now(),
        },
    )


def _delivery(feed: str, report_date: date, sha256: str) -> dict:
    return {**_day(feed, report_date), "sha256": sha256}


def _day(feed: str, report_date: date) -> dict:
    return {"feed": feed, "report_date": report_date}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _lap(started: float) -> float:
    return time.perf_counter() - started
