"""Which files are late: the due report dates around the deadline, and the registry on a real
SQLite warehouse with deliveries archived the way the feed DAGs archive them."""

import hashlib
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from careshare.freshness import FreshnessPolicy, due_dates, expected_feeds, late_message, missing_feeds
from careshare.ingest import archive_delivery
from careshare.sources.delivery import Delivery
from tests.integration.merge_support import local_platform as folder_platform

UK = ZoneInfo("Europe/London")


def uk(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UK)


def test_a_report_date_is_due_only_once_its_next_day_deadline_has_passed():
    policy = FreshnessPolicy(deadline=time(12, 0), lookback_days=3)
    assert due_dates(uk(2020, 11, 3, 11, 59), policy) == [date(2020, 10, 30), date(2020, 10, 31), date(2020, 11, 1)]
    assert due_dates(uk(2020, 11, 3, 12, 0), policy) == [date(2020, 10, 31), date(2020, 11, 1), date(2020, 11, 2)]


def test_the_deadline_is_uk_wall_time_across_the_clock_change():
    policy = FreshnessPolicy(deadline=time(9, 30), lookback_days=1)
    # 25 Oct 2020: clocks went back; 09:30 UK on the 26th is 09:30 UTC, in summer it was 08:30 UTC.
    assert due_dates(datetime(2020, 10, 26, 9, 29, tzinfo=ZoneInfo("UTC")), policy) == [date(2020, 10, 24)]
    assert due_dates(datetime(2020, 10, 26, 9, 30, tzinfo=ZoneInfo("UTC")), policy) == [date(2020, 10, 25)]
    assert due_dates(datetime(2020, 7, 2, 8, 30, tzinfo=ZoneInfo("UTC")), policy) == [date(2020, 7, 1)]


def test_the_policy_comes_from_the_environment_and_a_run_may_override_it():
    policy = FreshnessPolicy.from_env(
        {"CARESHARE_FRESHNESS_DEADLINE": "7:05", "CARESHARE_FRESHNESS_LOOKBACK_DAYS": "5"}
    )
    assert policy == FreshnessPolicy(time(7, 5), 5)
    assert policy.cron() == "5 7 * * *"
    assert FreshnessPolicy.from_env({}) == FreshnessPolicy(time(12, 0), 3)
    assert policy.overridden("10:00", None) == FreshnessPolicy(time(10, 0), 5)
    assert policy.overridden(None, 2) == FreshnessPolicy(time(7, 5), 2)


@pytest.mark.parametrize("bad", ["12", "24:00", "9:5", "noon"])
def test_a_deadline_that_is_not_hh_mm_is_refused(bad):
    with pytest.raises(ValueError, match="not HH:MM"):
        FreshnessPolicy.from_env({"CARESHARE_FRESHNESS_DEADLINE": bad})


def test_a_look_back_of_no_days_is_refused():
    with pytest.raises(ValueError, match="at least one day"):
        FreshnessPolicy(lookback_days=0)


def test_feeds_not_collected_on_a_date_are_never_expected():
    assert expected_feeds(date(2020, 11, 2)) == ["ct_care_homes", "cqc_update"]  # Monday, before CT home care
    assert expected_feeds(date(2020, 11, 1)) == ["ct_care_homes"]  # Sunday: CQC's form is weekdays only
    assert expected_feeds(date(2020, 12, 1)) == ["ct_care_homes", "ct_home_care", "cqc_update"]
    assert expected_feeds(date(2020, 12, 14)) == ["ct_care_homes", "ct_home_care"]  # the CQC form had closed


@pytest.fixture
def local_platform(tmp_path):
    built = folder_platform(f"sqlite:///{tmp_path / 'warehouse.db'}", tmp_path)
    yield built
    built.warehouse.engine.dispose()


def deliver(platform, feed: str, day: date, data: bytes = b"header\n") -> None:
    archive_delivery(platform, Delivery(feed, day, data, "landing", f"landing/{feed}/{day.isoformat()}.csv"))


def test_missing_feeds_are_those_due_with_no_delivery_of_any_status(local_platform):
    monday, tuesday = date(2020, 12, 7), date(2020, 12, 8)
    assert missing_feeds(local_platform, monday) == ["ct_care_homes", "ct_home_care", "cqc_update"]
    deliver(local_platform, "ct_care_homes", monday)
    deliver(local_platform, "cqc_update", monday)
    deliver(local_platform, "ct_home_care", tuesday)  # another day's file does not count for Monday
    assert missing_feeds(local_platform, monday) == ["ct_home_care"]
    with local_platform.warehouse.transaction() as connection:
        local_platform.warehouse.execute(
            connection,
            "registry/mark_delivery",
            {
                "feed": "ct_care_homes",
                "report_date": monday,
                "sha256": hashlib.sha256(b"header\n").hexdigest(),
                "status": "rejected",
            }
            | {"rows_delivered": 0, "message": "no rows"},
        )
    assert missing_feeds(local_platform, monday) == ["ct_home_care"]  # rejected is the quality gate's business
    assert missing_feeds(local_platform, date(2020, 12, 12)) == ["ct_care_homes", "ct_home_care"]  # Saturday


def test_the_late_message_names_the_date_the_feeds_and_the_deadline():
    message = late_message(date(2020, 12, 4), ["ct_home_care", "cqc_update"], FreshnessPolicy(time(11, 0)))
    assert message == (
        "no file received for report date 2020-12-04 from ct_home_care, cqc_update (due by 2020-12-05 11:00 UK time)"
    )
