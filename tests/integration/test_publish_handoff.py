"""Which report dates a publish run takes: its Asset events' dates not served since, a manual
run's date, and every owed date (settled in a feed-day state no run was handed), so a date
whose Asset event Airflow folded away is still published, and a stale event republishes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from careshare.pipeline import dates_to_publish

MONDAY, TUESDAY, WEDNESDAY = date(2020, 12, 7), date(2020, 12, 8), date(2020, 12, 9)
FEEDS = ("ct_care_homes", "ct_home_care", "cqc_update")


@pytest.fixture
def warehouse(platform):
    with platform.warehouse.transaction() as connection:
        platform.warehouse.execute(
            connection,
            "reference/record_directory_load",
            {
                "as_of": datetime(2020, 12, 1),
                "mode": "full",
                "locations_fetched": 1,
                "versions_added": 1,
                "completed_at": datetime(2020, 12, 1),
            },
        )
    return platform


def settle(platform, day: date, sha: str = "a", status: str = "loaded", feeds=FEEDS) -> None:
    rows = pd.DataFrame(
        {
            "feed": list(feeds),
            "report_date": [day] * len(feeds),
            "status": [status] * len(feeds),
            "sha256": [f"{feed}-{sha}" for feed in feeds],
            "updated_at": [datetime(2020, 12, 10)] * len(feeds),
        }
    )
    with platform.warehouse.transaction() as connection:
        connection.execute(sa.text("DELETE FROM feed_day WHERE report_date = :day"), {"day": day})
        platform.warehouse.insert_frame(connection, "feed_day", rows)


def now() -> datetime:
    return datetime.now(UTC)


def test_a_settled_date_no_run_was_handed_is_owed_until_a_run_takes_it(warehouse):
    settle(warehouse, MONDAY)
    settle(warehouse, TUESDAY)
    ready, _ = dates_to_publish(warehouse, set(), {})  # a sweep run: no events, no asked date
    assert ready == [MONDAY, TUESDAY]
    assert dates_to_publish(warehouse, set(), {})[0] == []


def test_a_date_not_settled_yet_waits_with_a_note(warehouse):
    settle(warehouse, WEDNESDAY, feeds=("ct_care_homes",))
    ready, waiting = dates_to_publish(warehouse, set(), {WEDNESDAY: now()})
    assert ready == []
    assert waiting and waiting[0].startswith("2020-12-09 not ready yet")
    settle(warehouse, WEDNESDAY)
    assert dates_to_publish(warehouse, set(), {})[0] == [WEDNESDAY]


def test_a_correction_makes_a_handed_date_owed_again(warehouse):
    settle(warehouse, MONDAY)
    assert dates_to_publish(warehouse, set(), {})[0] == [MONDAY]
    settle(warehouse, MONDAY, sha="corrected")
    assert dates_to_publish(warehouse, set(), {})[0] == [MONDAY]
    settle(warehouse, MONDAY, sha="corrected", status="failed")
    assert dates_to_publish(warehouse, set(), {})[0] == [MONDAY]


def test_an_event_served_by_an_earlier_run_republishes_nothing_but_a_new_one_does(warehouse):
    settle(warehouse, MONDAY)
    folded_event = now()
    assert dates_to_publish(warehouse, set(), {})[0] == [MONDAY]  # the sweep took the date
    assert dates_to_publish(warehouse, set(), {MONDAY: folded_event})[0] == []
    rerun_event = now() + timedelta(seconds=1)  # e.g. the day's feed task cleared and run again
    assert dates_to_publish(warehouse, set(), {MONDAY: rerun_event})[0] == [MONDAY]


def test_a_manual_run_takes_its_date_even_when_nothing_changed(warehouse):
    settle(warehouse, MONDAY)
    dates_to_publish(warehouse, set(), {})
    assert dates_to_publish(warehouse, {MONDAY}, {})[0] == [MONDAY]
