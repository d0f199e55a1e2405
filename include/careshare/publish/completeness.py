"""What a report date's feeds gave its releases, as every manifest and index states it.

Each feed collected on the date is `loaded`, `failed` (with the rule) or `missing`; the feeds the
contract does not collect that day are listed apart, as expected absences. The date is complete when
every collected feed loaded. Reasons are this module's fixed texts: an operator's message names
archive keys and file contents, which a published manifest must not carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from careshare.feeds import FEEDS, FeedSpec
from careshare.publish.catalog import Document
from careshare.status import FeedDayStatus, PublishedFeedStatus
from careshare.warehouse import Warehouse

NO_DELIVERY_RULE = "delivery.missing"
UNUSABLE_FILE = "the delivered file could not be used"
FAILED_RULE = "the file failed a critical quality rule"
NOT_LOADED = "the file could not be loaded"
EXPIRED = "no file appeared while the fetch waited for it"
NOT_DELIVERED = "no file was delivered"
NOT_RECORDED = "no state is recorded for the feed on this date"
OUTSIDE_COLLECTION = "the contract does not collect the feed on this date"


@dataclass(frozen=True)
class FeedState:
    feed: str
    status: PublishedFeedStatus
    reason: str | None = None
    rule: str | None = None

    @property
    def collected(self) -> bool:
        return self.status != PublishedFeedStatus.NOT_COLLECTED


@dataclass(frozen=True)
class Completeness:
    feeds: tuple[FeedState, ...]

    @property
    def complete(self) -> bool:
        settled = (PublishedFeedStatus.LOADED, PublishedFeedStatus.NOT_COLLECTED)
        return all(state.status in settled for state in self.feeds)

    def document(self) -> Document:
        """The block a release manifest and each council's manifest carry."""
        return {
            "complete": self.complete,
            "feeds": {
                s.feed: {"status": s.status, "rule": s.rule, "reason": s.reason} for s in self.feeds if s.collected
            },
            "not_collected": {s.feed: s.reason for s in self.feeds if not s.collected},
        }


def summary(document: Document | None) -> Document | None:
    """The line an index or `latest` pointer carries for a release: the flag and the feeds by status."""
    if document is None:
        return None
    by_status = {
        status.value: sorted(feed for feed, state in document["feeds"].items() if state["status"] == status)
        for status in (PublishedFeedStatus.FAILED, PublishedFeedStatus.MISSING)
    }
    return {"complete": document["complete"], **by_status, "not_collected": sorted(document["not_collected"])}


def feed_completeness(warehouse: Warehouse, report_date: date) -> Completeness:
    rows = warehouse.query_frame("publish/feed_completeness", {"report_date": report_date})
    recorded = {row.feed: (row.status, None if pd.isna(row.rule) else str(row.rule)) for row in rows.itertuples()}
    return Completeness(
        tuple(feed_state(spec, report_date, *recorded.get(feed, (None, None))) for feed, spec in FEEDS.items())
    )


def _failure_reason(rule: str | None) -> str:
    """`file.*`: the file itself; `load.*`/`delivery.*`: loading it; else a rule of the feed's suite."""
    if (rule or "").startswith("file."):
        return UNUSABLE_FILE
    if (rule or "").startswith(("load.", "delivery.")):
        return NOT_LOADED
    return FAILED_RULE


def feed_state(spec: FeedSpec, report_date: date, status: str | None, rule: str | None) -> FeedState:
    """The published state of a feed_day status (None: no row); sql/publish/la_daily_summary.sql
    maps the statuses the same way."""
    feed = spec.feed.value
    if status == FeedDayStatus.LOADED:
        return FeedState(feed, PublishedFeedStatus.LOADED)
    if status == FeedDayStatus.ABSENT or (status is None and not spec.expected_on(report_date)):
        return FeedState(feed, PublishedFeedStatus.NOT_COLLECTED, OUTSIDE_COLLECTION)
    if status == FeedDayStatus.FAILED and rule != NO_DELIVERY_RULE:
        return FeedState(feed, PublishedFeedStatus.FAILED, _failure_reason(rule), rule)
    reason = EXPIRED if status == FeedDayStatus.EXPIRED else NOT_RECORDED if status is None else NOT_DELIVERED
    return FeedState(feed, PublishedFeedStatus.MISSING, reason, rule)
