"""One feed's day (careshare.ingest) on SQLite: archive a delivery, settle a day without one, refuse a file."""

from __future__ import annotations

from datetime import date

import pytest

from careshare.ingest import (
    ArchiveAltered,
    FeedDayFailed,
    archive_delivery,
    archive_key,
    load_feed_day,
    record_expected_absence,
)
from careshare.sources.delivery import LANDING_ROUTE, Delivery
from careshare.status import DeliveryStatus, FeedDayStatus

CT = "ct_care_homes"
MONDAY = date(2020, 12, 7)
NOT_THE_CONTRACT = b"CT_Home_ID,Home_Name\r\n1,Rose House\r\n"  # most columns missing


def delivery(data: bytes = NOT_THE_CONTRACT) -> Delivery:
    return Delivery(CT, MONDAY, data, LANDING_ROUTE, f"landing/{CT}/{MONDAY.isoformat()}.csv")


def registry(platform) -> list[tuple[str, str]]:
    rows = platform.warehouse.query_frame("registry/deliveries", {"feed": CT, "report_date": MONDAY})
    return list(zip(rows["sha256"], rows["status"], strict=True))


def feed_day(platform) -> dict:
    rows = platform.warehouse.query_frame("registry/feed_days", {"report_date": MONDAY}).to_dict("records")
    return rows[0] if rows else {}


def test_a_delivery_is_archived_once_under_its_content_address_and_received_again_as_a_receipt(platform):
    first = archive_delivery(platform, delivery())
    again = archive_delivery(platform, delivery())
    assert (first.already_received, again.already_received) == (False, True)
    assert first.archive_uri == again.archive_uri == platform.raw_archive.uri(archive_key(CT, MONDAY, first.sha256))
    assert registry(platform) == [(first.sha256, DeliveryStatus.RECEIVED)]
    receipts = platform.warehouse.query_frame("registry/receipts", {"feed": CT, "report_date": MONDAY})
    assert len(receipts) == 2


def test_an_archive_object_altered_outside_careshare_is_refused(platform):
    archived = archive_delivery(platform, delivery())
    platform.raw_archive.put(archive_key(CT, MONDAY, archived.sha256), b"other bytes")
    with pytest.raises(ArchiveAltered, match="the raw archive was altered"):
        archive_delivery(platform, delivery())


def test_a_day_with_no_delivery_cannot_be_loaded(platform):
    with pytest.raises(FeedDayFailed, match=r"no delivery has been received \[rule delivery.missing\]"):
        load_feed_day(platform, CT, MONDAY)
    assert feed_day(platform) == {}


def test_an_unusable_file_is_rejected_and_fails_the_day_with_its_rule(platform):
    archived = archive_delivery(platform, delivery())
    with pytest.raises(FeedDayFailed) as failed:
        load_feed_day(platform, CT, MONDAY)
    assert failed.value.rule == "file.missing_column"
    assert registry(platform) == [(archived.sha256, DeliveryStatus.REJECTED)]
    day = feed_day(platform)
    assert (day["status"], day["rule"], day["sha256"]) == (FeedDayStatus.FAILED, "file.missing_column", archived.sha256)
    assert day["message"] in str(failed.value)


def test_an_expected_absence_settles_the_day_with_its_reason(platform):
    result = record_expected_absence(platform, CT, MONDAY, "not collected")
    assert (result.status, result.message) == (FeedDayStatus.ABSENT, "not collected")
    day = feed_day(platform)
    assert (day["status"], day["message"], day["rows_staged"]) == (FeedDayStatus.ABSENT, "not collected", 0)
