"""What the careshare DAGs say in their Asset events' extras, and how the publish DAG reads them back.

A feed's staged event names the report date it settled and the feed-day status; the publish DAG's
event names the date and the release version of each dataset. Plain values in and out: the DAG files
hand over `(extra, timestamp)` pairs and put the returned dicts on their outlets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from careshare.status import FeedDayStatus

REPORT_DATE = "report_date"


def staged_extra(report_date: date | str, status: str) -> dict[str, str]:
    """A feed's day settled (`status`); a correction or late file found by a recheck is `loaded`."""
    day = report_date if isinstance(report_date, str) else report_date.isoformat()
    return {REPORT_DATE: day, "status": str(status)}


def corrected_extra(report_date: str) -> dict[str, str]:
    return staged_extra(report_date, FeedDayStatus.LOADED)


def published_extra(report_date: str, versions: Mapping[str, int]) -> dict[str, Any]:
    return {REPORT_DATE: report_date, "versions": dict(versions)}


def latest_event_per_date(events: Iterable[tuple[Mapping[str, Any], datetime]]) -> dict[date, datetime]:
    """Each report date the events name, with when its latest event was emitted; an event without a
    report date (one from before the extras named it, or from outside careshare) names none."""
    latest: dict[date, datetime] = {}
    for extra, emitted in events:
        if REPORT_DATE in extra:
            day = date.fromisoformat(extra[REPORT_DATE])
            latest[day] = max(emitted, latest.get(day, emitted))
    return latest


def asked_dates(report_date: str | None) -> set[date]:
    """The date a manual run's `report_date` param asks for, if any."""
    return {date.fromisoformat(report_date)} if report_date else set()
