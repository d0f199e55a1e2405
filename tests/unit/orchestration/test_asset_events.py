"""What the DAGs say in their Asset events and how the publish DAG reads it back (careshare.asset_events)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from careshare.asset_events import (
    asked_dates,
    corrected_extra,
    latest_event_per_date,
    published_extra,
    staged_extra,
)
from careshare.status import FeedDayStatus

MONDAY, TUESDAY = date(2020, 12, 7), date(2020, 12, 8)
NOON = datetime(2020, 12, 8, 12, tzinfo=UTC)


def test_a_staged_event_names_the_date_and_the_feed_day_status_in_plain_words():
    extra = staged_extra(MONDAY, FeedDayStatus.FAILED)
    assert extra == {"report_date": "2020-12-07", "status": "failed"}
    assert type(extra["status"]) is str, "an extra is stored as JSON by Airflow: no enum members in it"
    assert staged_extra("2020-12-07", "absent") == {"report_date": "2020-12-07", "status": "absent"}
    assert corrected_extra("2020-12-01") == {"report_date": "2020-12-01", "status": "loaded"}
    assert json.loads(json.dumps(published_extra("2020-12-07", {"location_daily": 2}))) == {
        "report_date": "2020-12-07",
        "versions": {"location_daily": 2},
    }


def test_each_date_of_the_events_is_taken_with_its_latest_event():
    events = [
        (staged_extra(MONDAY, "loaded"), NOON),
        (staged_extra(MONDAY, "failed"), NOON + timedelta(minutes=5)),
        (corrected_extra(TUESDAY.isoformat()), NOON - timedelta(hours=1)),
        (staged_extra(MONDAY, "loaded"), NOON - timedelta(hours=2)),
    ]
    assert latest_event_per_date(events) == {MONDAY: NOON + timedelta(minutes=5), TUESDAY: NOON - timedelta(hours=1)}


def test_an_event_without_a_report_date_names_no_date():
    assert latest_event_per_date([({}, NOON), ({"status": "loaded"}, NOON)]) == {}
    assert latest_event_per_date([]) == {}


def test_a_manual_run_asks_for_its_report_date_param_only():
    assert asked_dates("2020-12-07") == {MONDAY}
    assert asked_dates(None) == asked_dates("") == set()
