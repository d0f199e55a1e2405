"""Reasons, notes, "as published on" and the changelog, as plain values; then through releases on a
local folder and a real S3 endpoint."""

import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from careshare.datasets import LOCATION_DAILY
from careshare.publish.changes import PREVIEW_KEYS
from careshare.publish.revisions import (
    DELIVERY,
    FIRST_RELEASE,
    NOTE_LIMIT,
    OPERATOR_RERUN,
    REBUILT,
    REBUILT_TEXT,
    UNRECORDED,
    BadNote,
    changelog,
    checked_note,
    in_force,
    note_for,
    published_on,
    reason,
    release_history,
)
from tests.unit.publish.synthetic import synthetic_table

DAY = date(2020, 12, 1)
OLD, NEW = "a" * 64, "b" * 64


def inputs(ct_care_homes: str | None, ct_home_care: str = "loaded") -> list[dict]:
    return [
        {
            "feed": "ct_care_homes",
            "status": "loaded" if ct_care_homes else "missing",
            "sha256": ct_care_homes,
            "received_at": "2020-12-02T06:10:00Z" if ct_care_homes else None,
        },
        {"feed": "ct_home_care", "status": ct_home_care, "sha256": "c" * 64, "received_at": "2020-12-02T06:11:00Z"},
    ]


def test_version_1_is_the_first_release_with_the_files_it_was_built_from():
    stated = reason(None, inputs(OLD), None)
    assert stated["kind"] == FIRST_RELEASE
    assert [d["feed"] for d in stated["deliveries"]] == ["ct_care_homes", "ct_home_care"]
    assert stated["text"].startswith("first release: ct_care_homes loaded, file aaaaaaaaaaaa received 2020-12-02")


def test_a_corrected_file_is_the_reason_with_what_it_replaced():
    stated = reason({"inputs": inputs(OLD)}, inputs(NEW), None)
    assert stated["kind"] == DELIVERY
    (delivery,) = stated["deliveries"]
    assert delivery == {
        "feed": "ct_care_homes",
        "status": "loaded",
        "sha256": NEW,
        "received_at": "2020-12-02T06:10:00Z",
        "previous_status": "loaded",
        "previous_sha256": OLD,
    }
    assert stated["text"] == (
        "ct_care_homes loaded, file bbbbbbbbbbbb received 2020-12-02T06:10:00Z, replacing aaaaaaaaaaaa"
    )


def test_a_late_file_and_a_feed_now_failed_are_deliveries_too():
    late = reason({"inputs": inputs(None)}, inputs(OLD), None)
    assert late["kind"] == DELIVERY and late["text"].endswith("(was missing)")
    failed = reason({"inputs": inputs(OLD)}, inputs(OLD, ct_home_care="failed"), None)
    assert failed["text"] == "ct_home_care failed, file cccccccccccc received 2020-12-02T06:11:00Z (was loaded)"


def test_with_nothing_upstream_changed_a_note_makes_an_operator_rerun_and_none_a_rebuild():
    assert reason({"inputs": inputs(OLD)}, inputs(OLD), "crosswalk fix for Rose Court")["kind"] == OPERATOR_RERUN
    assert reason({"inputs": inputs(OLD)}, inputs(OLD), "crosswalk fix")["text"] == "operator rerun: crosswalk fix"
    rebuilt = reason({"inputs": inputs(OLD)}, inputs(OLD), None)
    assert (rebuilt["kind"], rebuilt["text"], rebuilt["deliveries"]) == (REBUILT, REBUILT_TEXT, [])
    with_note = reason({"inputs": inputs(OLD)}, inputs(NEW), "supplier resent")
    assert with_note["kind"] == DELIVERY and with_note["text"].endswith("; note: supplier resent")


def test_a_version_after_one_that_recorded_nothing_says_so():
    assert reason({"version": 1}, inputs(OLD), None)["kind"] == UNRECORDED


def test_a_note_is_one_bounded_line_and_belongs_to_the_date_a_manual_run_asked_for():
    assert checked_note("  crosswalk\n fix  ") == "crosswalk fix"
    assert checked_note("   ") is None and checked_note(None) is None
    with pytest.raises(BadNote, match=f"at most {NOTE_LIMIT}"):
        checked_note("x" * (NOTE_LIMIT + 1))
    assert note_for(DAY, "2020-12-01", "fix") == "fix"
    assert note_for(DAY, "2020-11-30", "fix") is None, "an owed date the run also took is not the operator's"
    assert note_for(DAY, None, "fix") == "fix"


def test_published_on_takes_a_date_as_the_end_of_that_uk_day_or_a_timestamp():
    assert published_on("2020-12-01") == datetime(2020, 12, 1, 23, 59, 59, 999999, tzinfo=UTC)  # GMT
    assert published_on("2020-07-01") == datetime(2020, 7, 1, 22, 59, 59, 999999, tzinfo=UTC)  # BST
    assert published_on("2020-12-01T09:30:00") == datetime(2020, 12, 1, 9, 30, tzinfo=UTC)
    assert published_on("2020-07-01T09:30:00+01:00") == datetime(2020, 7, 1, 8, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        published_on("yesterday")


def test_the_version_in_force_is_the_newest_published_by_then():
    versions = [
        {"version": 1, "published_at": "2020-12-02T07:00:00Z"},
        {"version": 2, "published_at": "2020-12-03T07:00:00Z"},
    ]
    assert in_force(versions, datetime(2020, 12, 2, 6, tzinfo=UTC)) is None
    assert in_force(versions, datetime(2020, 12, 2, 7, tzinfo=UTC))["version"] == 1
    assert in_force(versions, datetime(2020, 12, 3, 8, tzinfo=UTC))["version"] == 2


def test_the_changelog_lists_every_version_newest_first_with_reason_and_changes():
    index = {
        "dataset": "location_daily",
        "la_code": "E08000035",
        "report_dates": {
            "2020-12-01": {
                "current_version": 2,
                "versions": [
                    {
                        "version": 1,
                        "published_at": "2020-12-02T07:00:00Z",
                        "changes": {"added": 3, "removed": 0, "changed": 0, "unchanged": 0},
                        "completeness": None,
                    },
                    {
                        "version": 2,
                        "published_at": "2020-12-03T07:00:00Z",
                        "reason": {"kind": DELIVERY, "text": "ct_care_homes loaded, file bbbb", "note": None},
                        "changes": {"added": 0, "removed": 0, "changed": 1, "unchanged": 1, "lineage_only": 1},
                        "changed_keys": {
                            "changed": {"1-0800035000": ["beds_vacant"]},
                            "added": [],
                            "removed": [],
                            "not_listed": 0,
                        },
                        "changes_detail": {"key": "location_daily/la_code=E08000035/_releases/x.changes.json"},
                        "completeness": {"complete": False, "failed": ["ct_home_care"], "missing": []},
                    },
                ],
            }
        },
    }
    text = changelog(index)
    assert text.index("### v0002 (current), published 2020-12-03T07:00:00Z") < text.index("### v0001, published")
    assert "- Reason: ct_care_homes loaded, file bbbb" in text
    assert "- What changed: 1 changed; lineage only: 1 rows" in text
    assert "  - `1-0800035000`: beds_vacant" in text
    assert "- Feeds: incomplete: failed ct_home_care" in text
    assert "- Reason: not recorded" in text and "- What changed: first release, 3 rows" in text


def correct(table: pa.Table, changes: dict[int, dict]) -> pa.Table:
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    for row, values in changes.items():
        for name, value in values.items():
            columns[name][row] = value
    return pa.table(columns, schema=table.schema)


def read(store, key: str):
    return json.loads(store.get(key))


COUNCILS = {"E06000001": 3, "E08000035": 4}
LEEDS_FIRST = 3  # E08000035's first row


def test_a_correction_lists_its_changed_keys_with_their_columns_and_lineage_apart(store, release):
    original = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    release(original, DAY, inputs=inputs(OLD))
    lineage = {row: {"source_sha256": "f" * 64} for row in range(7)}
    corrected = correct(original, {**lineage, LEEDS_FIRST: {"beds_vacant": 99, "source_sha256": "f" * 64}})
    outcome = release(corrected, DAY, inputs=inputs(NEW))

    manifest = read(store, outcome.manifest_key)
    assert manifest["reason"]["kind"] == DELIVERY and manifest["reason"]["deliveries"][0]["sha256"] == NEW
    assert manifest["inputs"] == inputs(NEW)
    assert manifest["changes"] == {"added": 0, "removed": 0, "changed": 1, "unchanged": 0, "lineage_only": 6}
    leeds = manifest["parts"]["E08000035"]
    assert leeds["changed_keys"] == {"changed": {"1-08000035000": ["beds_vacant"]}, "added": [], "removed": []} | {
        "not_listed": 0
    }
    listed = read(store, leeds["changes_detail"]["key"])
    assert listed["la_code"] == "E08000035" and listed["key"] == ["location_id"]
    assert listed["changed"] == {"1-08000035000": {"beds_vacant": {"before": 0, "after": 99}}}
    assert manifest["parts"]["E06000001"]["changes_detail"] is None, "lineage only: no key to list"
    everything = read(store, manifest["changes_detail"]["key"])
    assert list(everything["scopes"]) == ["E08000035"]
    assert manifest["changes_detail"]["key"].startswith("_manifests/location_daily/report_date=2020-12-01/")

    mine = read(store, leeds["manifest"])
    assert mine["reason"] == manifest["reason"] and mine["changes_detail"] == leeds["changes_detail"]
    index = read(store, "location_daily/la_code=E08000035/_index.json")
    entry = index["report_dates"]["2020-12-01"]["versions"][-1]
    assert entry["reason"]["text"] == manifest["reason"]["text"]
    assert entry["changed_keys"]["changed"] == {"1-08000035000": ["beds_vacant"]}
    text = store.get("location_daily/la_code=E08000035/_CHANGELOG.md").decode()
    assert "### v0002 (current)" in text and "### v0001" in text and "`1-08000035000`: beds_vacant" in text
    hartlepool = store.get("location_daily/la_code=E06000001/_CHANGELOG.md").decode()
    assert "- What changed: no published value; lineage only: 3 rows" in hartlepool


def test_a_release_whose_rows_differ_only_in_lineage_is_a_version_that_says_so(store, release):
    original = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    release(original, DAY, inputs=inputs(OLD))
    outcome = release(correct(original, {row: {"source_row": 100 + row} for row in range(7)}), DAY, inputs=inputs(NEW))
    assert (outcome.version, outcome.changes.any, outcome.changes.lineage_only) == (2, False, 7)
    assert read(store, outcome.manifest_key)["changes_detail"] is None


def test_a_withdrawn_council_lists_the_keys_it_lost(store, release):
    release(synthetic_table(LOCATION_DAILY, DAY, COUNCILS), DAY)
    outcome = release(synthetic_table(LOCATION_DAILY, DAY, {"E06000001": 3}), DAY, note="E08000035 rows moved")
    manifest = read(store, outcome.manifest_key)
    assert manifest["reason"]["kind"] == OPERATOR_RERUN
    assert read(store, manifest["withdrawn"]["E08000035"]["changes_detail"]["key"])["removed"] == [
        f"1-08000035{n:03d}" for n in range(4)
    ]


def test_a_national_correction_keeps_the_manifest_bounded(store, release):
    big = {"E06000001": 200, "E08000035": 200}
    original = synthetic_table(LOCATION_DAILY, DAY, big)
    release(original, DAY)
    outcome = release(correct(original, {row: {"beds_vacant": 1000} for row in range(400)}), DAY)
    manifest = read(store, outcome.manifest_key)
    assert manifest["changes"]["changed"] == 400
    assert all(len(part["changed_keys"]["changed"]) == PREVIEW_KEYS for part in manifest["parts"].values())
    assert len(read(store, manifest["changes_detail"]["key"])["scopes"]["E08000035"]["changed"]) == 200


def test_the_history_of_a_date_gives_every_version_to_pick_from(store, release):
    original = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    release(original, DAY, now=lambda: datetime(2020, 12, 2, 7, tzinfo=UTC))
    release(correct(original, {0: {"beds_vacant": 5}}), DAY, now=lambda: datetime(2020, 12, 3, 7, tzinfo=UTC))
    history = release_history(store, LOCATION_DAILY.name, DAY)
    assert [m["version"] for m in history] == [1, 2]
    assert in_force(history, published_on("2020-12-02"))["version"] == 1
    assert in_force(history, published_on("2020-12-01")) is None
    assert release_history(store, LOCATION_DAILY.name, date(2020, 11, 30)) == []
