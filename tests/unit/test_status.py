"""The statuses are one set of words: every status the SQL files spell is a member of its enum."""

from __future__ import annotations

import json
import re

from careshare.config import SQL_DIR
from careshare.status import CheckOutcome, DeliveryStatus, FeedDayStatus, FetchStatus

COMPARED = re.compile(r"\bstatus\s*(?:=|<>|!=)\s*'([^']*)'|\bstatus\s+IN\s*\(([^)]*)\)", re.IGNORECASE)
WRITES_A_STATUS = re.compile(r"\b(?:INSERT\s+INTO|UPDATE)\s+(?:raw_delivery|feed_day)\b", re.IGNORECASE)
LITERAL = re.compile(r"'([^']*)'")
RECORDED = {*FeedDayStatus, *DeliveryStatus}


def sql_files() -> dict[str, str]:
    return {str(path.relative_to(SQL_DIR)): path.read_text(encoding="utf-8") for path in SQL_DIR.rglob("*.sql")}


def without_comments(text: str) -> str:
    return re.sub(r"--[^\n]*", "", text)


def compared_statuses(text: str) -> set[str]:
    found = set()
    for single, listed in COMPARED.findall(without_comments(text)):
        found |= {single} if single else set(LITERAL.findall(listed))
    return found


def test_every_status_the_sql_compares_is_a_recorded_status():
    compared = {name: compared_statuses(text) for name, text in sql_files().items()}
    assert {name: words - RECORDED for name, words in compared.items() if words - RECORDED} == {}
    assert set().union(*compared.values()) >= {"loaded", "absent", "expired", "failed", "rejected"}


def test_every_status_the_sql_writes_is_a_delivery_or_feed_day_status():
    writing = {name: text for name, text in sql_files().items() if WRITES_A_STATUS.search(without_comments(text))}
    written = {name: set(LITERAL.findall(without_comments(text))) for name, text in writing.items()}
    assert written["registry/record_delivery.sql"] == {DeliveryStatus.RECEIVED}
    assert written["registry/supersede_older.sql"] == {DeliveryStatus.REJECTED, DeliveryStatus.SUPERSEDED}
    assert {name: words - RECORDED for name, words in written.items() if words - RECORDED} == {}


def test_the_dates_a_recheck_looks_at_for_a_late_file_are_those_settled_without_data():
    assert compared_statuses(sql_files()["registry/days_to_recheck.sql"]) == set(FeedDayStatus) - {FeedDayStatus.LOADED}


def test_a_fetch_that_settles_the_day_says_so_in_the_feed_day_status_of_the_same_name():
    settling = {status for status in FetchStatus if status not in (FetchStatus.ARCHIVED, FetchStatus.WAITING)}
    assert {FeedDayStatus(status) for status in settling} == set(FeedDayStatus) - {FeedDayStatus.LOADED}


def test_statuses_are_their_words_in_json_and_text():
    assert json.dumps({"status": FeedDayStatus.EXPIRED}) == '{"status": "expired"}'
    assert f"{CheckOutcome.LATE} {FetchStatus.WAITING}" == "late waiting"
