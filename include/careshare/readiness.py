"""When a report date is ready to merge and publish: the one rule, for the publish DAG and `careshare run`.

A feed has settled for a date once it recorded a feed-day state there (loaded, absent, expired or
failed: `feed_day` holds settled states only), or when the contract does not collect it that day, so
it owes none. A date is ready once every feed has settled for it and the CQC directory has been loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from careshare.feeds import FEEDS, feed_spec
from careshare.status import FeedDayStatus

if TYPE_CHECKING:
    from careshare.resources import Platform

SETTLED = frozenset(FeedDayStatus)


def feed_settled(feed: str, report_date: date, status: str | None) -> bool:
    """`status`: the feed's recorded feed-day state on the date, None when it has none."""
    return status in SETTLED or (status is None and not feed_spec(feed).expected_on(report_date))


@dataclass(frozen=True)
class Readiness:
    report_date: date
    feed_status: dict[str, str]
    directory_loaded: bool

    @property
    def ready(self) -> bool:
        return self.directory_loaded and all(
            feed_settled(feed, self.report_date, self.feed_status.get(feed)) for feed in FEEDS
        )


def readiness(platform: Platform, report_date: date) -> Readiness:
    days = platform.warehouse.query_frame("registry/feed_days", {"report_date": report_date})
    last_load = platform.warehouse.query_frame("reference/last_directory_load").at[0, "as_of"]
    return Readiness(
        report_date,
        dict(zip(days["feed"], days["status"], strict=True)),
        directory_loaded=last_load is not None and str(last_load) != "NaT",
    )


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
