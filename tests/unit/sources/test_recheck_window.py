"""Which past report dates a feed run looks at again: recent deliveries (corrections), further back
on the runs for Sundays, and dates of the feed's collection settled without usable data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from careshare.config import RecheckPolicy
from careshare.pipeline import days_to_recheck
from careshare.warehouse import Warehouse

CQC = "cqc_update"


class Registry:
    def __init__(self, url: str):
        self.warehouse = Warehouse(url)
        self.warehouse.migrate()

    def delivered(self, feed: str, day: date) -> None:
        self._insert(
            "INSERT INTO raw_delivery (feed, report_date, sha256, bytes, route, source, archive_uri, received_at,"
            " status) VALUES (:feed, :day, :sha, 1, 'http', 's', 'a', :at, 'loaded')",
            feed=feed,
            day=day,
            sha=f"{feed}{day}",
        )

    def settled(self, feed: str, day: date, status: str) -> None:
        self._insert(
            "INSERT INTO feed_day (feed, report_date, status, updated_at) VALUES (:feed, :day, :status, :at)",
            feed=feed,
            day=day,
            status=status,
        )

    def _insert(self, statement: str, **params) -> None:
        with self.warehouse.transaction() as connection:
            connection.execute(sa.text(statement), {**params, "at": datetime.now(UTC).replace(tzinfo=None)})


class WarehouseOnly:  # all days_to_recheck reads of the platform
    def __init__(self, registry: Registry):
        self.warehouse = registry.warehouse


@pytest.fixture
def registry(warehouse_url) -> Registry:
    return Registry(warehouse_url)


def test_recent_deliveries_and_dates_settled_without_a_file_are_looked_at_again(registry):
    for day in (date(2020, 11, 20), date(2020, 11, 26), date(2020, 12, 1)):
        registry.delivered(CQC, day)
    registry.settled(CQC, date(2020, 6, 6), "absent")  # a Saturday of the collection: a file may still come
    registry.settled(CQC, date(2020, 9, 8), "expired")
    registry.settled(CQC, date(2020, 10, 1), "failed")
    registry.settled(CQC, date(2020, 10, 2), "loaded")  # loaded long ago: past the correction window
    registry.settled(CQC, date(2020, 12, 20), "absent")  # after the form closed: outside its collection
    registry.settled(CQC, date(2020, 4, 1), "absent")  # before the form opened

    tuesday = date(2020, 12, 22)
    assert days_to_recheck(WarehouseOnly(registry), CQC, tuesday, RecheckPolicy(days=7)) == [
        date(2020, 6, 6),
        date(2020, 9, 8),
        date(2020, 10, 1),
    ]
    assert days_to_recheck(WarehouseOnly(registry), CQC, date(2020, 12, 3), RecheckPolicy(days=7)) == [
        date(2020, 6, 6),
        date(2020, 9, 8),
        date(2020, 10, 1),
        date(2020, 11, 26),
        date(2020, 12, 1),
    ]


def test_the_sunday_run_looks_further_back_and_the_late_window_can_be_narrowed(registry):
    for day in (date(2020, 11, 1), date(2020, 11, 20)):
        registry.delivered(CQC, day)
    registry.settled(CQC, date(2020, 6, 6), "absent")
    sunday, monday = date(2020, 12, 6), date(2020, 12, 7)
    policy = RecheckPolicy(days=7, deep_days=42, late_days=30)

    assert days_to_recheck(WarehouseOnly(registry), CQC, sunday, policy) == [date(2020, 11, 1), date(2020, 11, 20)]
    assert days_to_recheck(WarehouseOnly(registry), CQC, monday, policy) == []


def test_the_policy_comes_from_the_environment():
    assert RecheckPolicy.from_env({}) == RecheckPolicy(days=7, deep_days=42, late_days=None)
    assert RecheckPolicy.from_env(
        {"CARESHARE_RECHECK_DAYS": "3", "CARESHARE_DEEP_RECHECK_DAYS": "60", "CARESHARE_LATE_FILE_DAYS": "90"}
    ) == RecheckPolicy(days=3, deep_days=60, late_days=90)
