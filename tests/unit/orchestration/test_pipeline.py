"""The feed tasks' functions (careshare.pipeline) on SQLite: fetch, settle, recheck, the quality gate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from careshare.pipeline import (
    dates_to_publish,
    feed_quality_gate,
    fetch_feed_day,
    held_back,
    merge_failure,
    recheck_past_days,
    settle_feed_day,
)
from careshare.quality.links import report_key, report_url
from careshare.status import CheckOutcome, FeedDayStatus, FetchStatus
from careshare.storage import open_store
from tests.unit.orchestration.registry import load_directory_once, settle

CT, CQC = "ct_care_homes", "cqc_update"
MONDAY, SATURDAY = date(2020, 12, 7), date(2020, 12, 5)
NOT_THE_CONTRACT = b"CT_Home_ID,Home_Name\r\n1,Rose House\r\n"  # most columns missing


@pytest.fixture
def landing(tmp_path):
    return open_store(str(tmp_path / "landing"))


def feed_day(platform, feed: str, day: date) -> dict:
    frame = platform.warehouse.query_frame("registry/feed_days", {"report_date": day})
    rows = frame[frame["feed"] == feed].to_dict("records")
    return rows[0] if rows else {}


def test_a_landed_file_is_archived_and_a_rerun_without_it_rebuilds_from_the_archive(platform, landing):
    landing.put(f"{CT}/{MONDAY.isoformat()}.csv", NOT_THE_CONTRACT)
    first = fetch_feed_day(platform, CT, MONDAY, landing=landing)
    assert (first.status, first.message) == (FetchStatus.ARCHIVED, None) and first.sha256
    assert platform.raw_archive.exists(f"{CT}/report_date={MONDAY.isoformat()}/{first.sha256}.csv")
    landing.delete([f"{CT}/{MONDAY.isoformat()}.csv"])
    again = fetch_feed_day(platform, CT, MONDAY, landing=landing)
    assert (again.status, again.sha256) == (FetchStatus.ARCHIVED, first.sha256)
    assert again.message == f"no file served now; rebuilt from archived delivery {first.sha256}"


def test_no_file_is_an_absence_on_a_day_not_collected_and_waited_for_on_a_day_due(platform, landing):
    absent = fetch_feed_day(platform, CQC, SATURDAY, landing=landing)
    assert (absent.status, absent.message) == (FetchStatus.ABSENT, "cqc_update is collected Monday to Friday only")
    assert feed_day(platform, CQC, SATURDAY)["status"] == FeedDayStatus.ABSENT
    just_now = datetime.now(UTC) - timedelta(minutes=5)
    assert fetch_feed_day(platform, CT, MONDAY, landing=landing, waiting_since=just_now).status == FetchStatus.WAITING
    assert feed_day(platform, CT, MONDAY) == {}, "a day waited for has settled in no state yet"


def test_a_file_that_never_came_expires_the_day_after_the_patience(platform, landing):
    since = datetime.now(UTC) - timedelta(hours=3)
    expired = fetch_feed_day(platform, CT, MONDAY, landing=landing, waiting_since=since, patience=timedelta(hours=2))
    assert expired.status == FetchStatus.EXPIRED and "the date is published without it" in expired.message
    recorded = feed_day(platform, CT, MONDAY)
    assert (recorded["status"], recorded["rule"]) == (FeedDayStatus.EXPIRED, "delivery.expired")


def test_settling_keeps_a_day_settled_without_a_file_and_loads_one_received(platform, landing):
    kept = settle_feed_day(platform, CQC, SATURDAY, FetchStatus.ABSENT, "not collected")
    assert (kept.status, kept.message) == (FeedDayStatus.ABSENT, "not collected")
    assert feed_day(platform, CQC, SATURDAY) == {}, "the fetch recorded it; settling writes nothing again"
    landing.put(f"{CT}/{MONDAY.isoformat()}.csv", NOT_THE_CONTRACT)
    fetch_feed_day(platform, CT, MONDAY, landing=landing)
    failed = settle_feed_day(platform, CT, MONDAY)
    assert failed.status == FeedDayStatus.FAILED and "[rule file." in failed.message
    assert feed_day(platform, CT, MONDAY)["status"] == FeedDayStatus.FAILED


def test_the_gate_holds_back_a_failed_or_expired_day_and_a_recheck_that_needs_attention():
    loaded = {"status": "loaded", "message": None}
    rechecked = [
        {"report_date": "2020-12-01", "status": "unchanged", "message": None},
        {"report_date": "2020-12-02", "status": "unavailable", "message": "HTTP 503"},
        {"report_date": "2020-12-03", "status": "rejected", "message": "no rows"},
        {"report_date": "2020-12-04", "status": "late", "message": None},
    ]
    assert held_back(loaded, rechecked) == ["recheck of 2020-12-02: HTTP 503", "recheck of 2020-12-03: no rows"]
    for status in ("failed", "expired"):
        assert held_back({"status": status, "message": "why"}, []) == ["why: the day is held back"]
    assert held_back({"status": "absent", "message": "weekend"}, []) == []


def test_a_passing_gate_links_the_report_without_building_it(platform):
    gate = feed_quality_gate(platform, MONDAY, {"status": "loaded", "message": None}, [])
    assert (gate.report_url, gate.failure) == (report_url(platform, MONDAY), None)
    assert not platform.quality.exists(report_key(MONDAY)), "the publish path builds the date's report"


def test_a_failing_gate_builds_the_report_it_links_so_the_link_shows_why(platform):
    settle(platform, MONDAY, {CT: "failed"})
    gate = feed_quality_gate(platform, MONDAY, {"status": "failed", "message": "ct_care_homes: no rows"}, [])
    assert gate.report_url == report_url(platform, MONDAY)
    assert gate.failure == f"ct_care_homes: no rows: the day is held back. Quality report: {gate.report_url}"
    assert "Held back from publication: ct_care_homes" in platform.quality.get(report_key(MONDAY)).decode()


def test_a_merge_that_fails_its_checks_builds_the_report_it_links(platform):
    from careshare.merge import MergeCheckFailed

    settle(platform, MONDAY, {CT: "loaded"})
    failed = MergeCheckFailed(MONDAY, [("accounts.balance", "ct_care_homes: 1 row unaccounted for")])
    gate = merge_failure(platform, MONDAY, failed)
    assert gate.report_url == report_url(platform, MONDAY)
    assert gate.failure == f"{failed} Quality report: {gate.report_url}"
    assert platform.quality.exists(report_key(MONDAY))


def test_a_recheck_without_news_is_recorded_for_the_run_and_changes_nothing(platform, landing):
    settle(platform, SATURDAY, {CQC: "absent"})  # a file may still come for a date settled without one
    [check] = recheck_past_days(platform, CQC, MONDAY, landing=landing)
    assert (check.report_date, check.status) == (SATURDAY.isoformat(), CheckOutcome.UNCHANGED)
    recorded = platform.warehouse.query_frame("registry/source_checks", {"run_date": MONDAY})
    assert recorded[["report_date", "outcome"]].astype(str).values.tolist() == [["2020-12-05", "unchanged"]]


def test_a_publish_run_takes_a_date_once_until_its_feeds_change(platform):
    load_directory_once(platform)
    settle(platform, MONDAY, {CT: "loaded", "ct_home_care": "loaded", CQC: "failed"})
    assert dates_to_publish(platform, set(), {}) == ([MONDAY], [])
    stale = datetime.now(UTC) - timedelta(hours=1)
    assert dates_to_publish(platform, set(), {MONDAY: stale})[0] == [], "an event from before the handoff"
    assert dates_to_publish(platform, {MONDAY}, {})[0] == [MONDAY], "a manual run asks again"
    with platform.warehouse.transaction() as connection:
        connection.execute(sa.text("UPDATE feed_day SET status = 'loaded' WHERE feed = :f"), {"f": CQC})
    assert dates_to_publish(platform, set(), {})[0] == [MONDAY], "a reloaded day is owed again"
