"""When a report date is ready to merge and publish (careshare.readiness): every feed settled, the directory loaded."""

from datetime import date

from careshare.readiness import Readiness, feed_settled, readiness, ready_dates
from careshare.status import FeedDayStatus, FetchStatus
from tests.unit.orchestration.registry import load_directory_once, settle


def test_a_date_is_ready_when_every_feed_has_settled():
    day = date(2020, 12, 1)
    settled = {"ct_care_homes": "loaded", "ct_home_care": "failed", "cqc_update": "absent"}
    assert Readiness(day, settled, directory_loaded=True).ready
    assert not Readiness(day, settled, directory_loaded=False).ready
    assert not Readiness(day, settled | {"cqc_update": "waiting"}, directory_loaded=True).ready
    assert not Readiness(day, {"ct_care_homes": "loaded", "ct_home_care": "loaded"}, directory_loaded=True).ready


def test_a_feed_not_collected_on_the_date_need_not_report_its_absence():
    after_the_cqc_form_closed = date(2021, 3, 31)
    both_ct = {"ct_care_homes": "loaded", "ct_home_care": "loaded"}
    assert Readiness(after_the_cqc_form_closed, both_ct, directory_loaded=True).ready
    saturday = date(2020, 12, 5)
    assert Readiness(saturday, both_ct, directory_loaded=True).ready
    before_ct_home_care = date(2020, 11, 27)
    assert Readiness(before_ct_home_care, {"ct_care_homes": "loaded", "cqc_update": "loaded"}, True).ready
    assert not Readiness(before_ct_home_care, {"ct_care_homes": "loaded"}, True).ready


def test_a_feed_has_settled_with_any_recorded_state_or_none_owed():
    monday, saturday = date(2020, 12, 7), date(2020, 12, 5)
    assert all(feed_settled("cqc_update", monday, status) for status in FeedDayStatus)
    assert not feed_settled("cqc_update", monday, None), "due on a weekday: its state is owed"
    assert not feed_settled("cqc_update", monday, FetchStatus.WAITING)
    assert feed_settled("cqc_update", saturday, None), "not collected at weekends"


def test_the_warehouse_says_which_dates_are_ready_and_why_the_others_wait(platform):
    monday, tuesday = date(2020, 12, 7), date(2020, 12, 8)
    everything = {"ct_care_homes": "loaded", "ct_home_care": "expired", "cqc_update": "failed"}
    settle(platform, monday, everything)
    settle(platform, tuesday, {"ct_care_homes": "loaded"})
    assert ready_dates(platform, {monday, tuesday}) == (
        [],
        [
            f"2020-12-07 not ready yet: feeds {dict(sorted(everything.items()))}, directory False",
            "2020-12-08 not ready yet: feeds {'ct_care_homes': 'loaded'}, directory False",
        ],
    )
    load_directory_once(platform)
    assert readiness(platform, monday) == Readiness(monday, everything, directory_loaded=True)
    ready, waiting = ready_dates(platform, {tuesday, monday})
    assert (ready, [note[:10] for note in waiting]) == ([monday], ["2020-12-08"])
