"""Every status the platform records or hands between tasks. Each member is its own string (StrEnum),
so the values in the warehouse and in the JSON between DAG tasks are the plain words they always were;
the SQL files spell the same words (tests/unit/test_status.py checks that they name only these).
"""

from __future__ import annotations

from enum import StrEnum


class FeedDayStatus(StrEnum):
    """`feed_day.status`: where a feed stands for a report date. Recorded only once it has settled."""

    LOADED = "loaded"
    ABSENT = "absent"  # the feed is not collected on the date
    EXPIRED = "expired"  # due, but no file came within the fetch's patience
    FAILED = "failed"  # no usable file: rule and message say why


class FetchStatus(StrEnum):
    """What the fetch of a feed's day found: a file archived, one not published yet, or the day settled
    without one (the feed-day statuses of the same names)."""

    ARCHIVED = "archived"
    WAITING = "waiting"  # due, not published yet
    ABSENT = FeedDayStatus.ABSENT.value
    EXPIRED = FeedDayStatus.EXPIRED.value
    FAILED = FeedDayStatus.FAILED.value


class CheckOutcome(StrEnum):
    """`source_check.outcome`: what a look again at a past day's file found."""

    UNCHANGED = "unchanged"
    CORRECTED = "corrected"  # other bytes for a day received before: loaded
    LATE = "late"  # a first file for a day settled without one: loaded
    REJECTED = "rejected"  # a changed file that could not be used
    UNAVAILABLE = "unavailable"  # the source could not be reached now


class DeliveryStatus(StrEnum):
    """`raw_delivery.status`: what became of one delivered file."""

    RECEIVED = "received"
    LOADED = "loaded"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class PublishedFeedStatus(StrEnum):
    """How the published datasets state each feed of a report date (`<feed>_status`, manifests)."""

    LOADED = "loaded"
    FAILED = "failed"
    MISSING = "missing"  # due, and no file came
    NOT_COLLECTED = "not_collected"  # the contract does not collect the feed on the date


class StageStatus(StrEnum):
    """A `careshare run` stage: whether the day can go on."""

    OK = "ok"
    WARN = "warn"  # something to look at; the day goes on
    FAILED = "failed"  # the day stops here


HELD_BACK = frozenset({FeedDayStatus.FAILED, FeedDayStatus.EXPIRED})  # due, and nothing of it publishable
NEEDS_ATTENTION = frozenset({CheckOutcome.REJECTED, CheckOutcome.UNAVAILABLE})
FOUND_A_FILE = frozenset({CheckOutcome.CORRECTED, CheckOutcome.LATE})
