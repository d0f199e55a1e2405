"""The dates a publish run owes besides those its events name: feeds changed after the date's last
publication check, or never checked (Airflow can fold queued Asset events into one run)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from careshare.pipeline import owed_dates
from tests.integration.merge_support import execute
from tests.integration.merge_support import local_platform as folder_platform

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def platform(tmp_path):
    built = folder_platform(f"sqlite:///{tmp_path / 'warehouse.db'}", tmp_path)
    yield built
    built.warehouse.engine.dispose()


def settle(platform, feed: str, day: date, at: datetime) -> None:
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(
            connection,
            "registry/upsert_feed_day",
            {
                "feed": feed,
                "report_date": day,
                "status": "loaded",
                "sha256": "0" * 64,
                "rows_delivered": 1,
                "rows_quarantined": 0,
                "rows_staged": 1,
                "rule": None,
                "message": None,
                "updated_at": at.replace(tzinfo=None),
            },
        )


def checked(platform, day: date, at: datetime) -> None:
    execute(
        platform,
        "INSERT INTO quality_run VALUES (:run, 'location_daily', :day, NULL, :at, TRUE, 1, 0, 1, 0, 'k')",
        run=f"location_daily:{day}:{at.isoformat()}",
        day=day,
        at=at.replace(tzinfo=None),
    )


def test_dates_loaded_after_their_last_check_or_never_checked_are_owed(platform):
    published, corrected, never, long_ago = date(2020, 12, 1), date(2020, 12, 2), date(2020, 12, 3), date(2020, 12, 4)
    hour = timedelta(hours=1)
    settle(platform, "ct_care_homes", published, NOW - 3 * hour)
    checked(platform, published, NOW - 2 * hour)
    settle(platform, "ct_care_homes", corrected, NOW - 5 * hour)
    checked(platform, corrected, NOW - 4 * hour)
    settle(platform, "ct_home_care", corrected, NOW - hour)  # a correction after the check
    settle(platform, "ct_care_homes", never, NOW - hour)
    settle(platform, "ct_care_homes", long_ago, NOW - timedelta(days=30))  # outside the week looked at

    assert owed_dates(platform, NOW) == {corrected, never}
