from datetime import UTC, datetime

import pyarrow as pa

from careshare.datasets import DATASETS, LA_DAILY_SUMMARY, LOCATION_DAILY, PROVIDER_DAILY
from careshare.publish.changes import LINEAGE_COLUMNS, PREVIEW_KEYS, Changes, compare, row_key


def table(rows: dict[str, int], **columns: list) -> pa.Table:
    return pa.table({"location_id": list(rows), "beds": list(rows.values()), **columns})


def test_rows_are_matched_by_key_and_changed_ones_name_their_columns():
    old = table({"a": 1, "b": 2, "c": 3})
    new = table({"b": 2, "c": 30, "d": 4})
    revision = compare(old, new, ["location_id"])
    assert revision.counts == Changes(added=1, removed=1, changed=1, unchanged=1)
    assert (revision.added, revision.removed, revision.changed) == (("d",), ("a",), {"c": {"beds": (3, 30)}})


def test_a_row_whose_lineage_alone_differs_is_counted_apart_and_not_as_changed():
    old = table({"a": 1, "b": 2, "c": 3}, source_sha256=["x"] * 3, source_row=[1, 2, 3])
    new = table({"a": 1, "b": 2, "c": 30}, source_sha256=["y"] * 3, source_row=[1, 3, 2])
    revision = compare(old, new, ["location_id"])
    assert revision.counts == Changes(changed=1, lineage_only=2)
    assert revision.changed == {"c": {"beds": (3, 30)}}, "lineage is never listed as a changed column"


def test_a_first_release_adds_everything_and_a_withdrawal_removes_everything():
    rows = table({"a": 1, "b": 2})
    assert compare(None, rows, ["location_id"]).counts == Changes(added=2)
    assert compare(rows, None, ["location_id"]).removed == ("a", "b")


def test_the_listing_gives_values_as_json_and_the_preview_is_bounded():
    moment = datetime(2020, 12, 1, 9, tzinfo=UTC)
    old = table({f"k{n:03d}": n for n in range(30)}, seen=[moment] * 30)
    new = table({f"k{n:03d}": n + 1 for n in range(25)}, seen=[moment] * 25)
    revision = compare(old, new, ["location_id"])
    assert revision.listing()["changed"]["k000"] == {"beds": {"before": 0, "after": 1}}
    assert compare(table({"a": 1}, seen=[moment]), table({"a": 1}, seen=[None]), ["location_id"]).listing()[
        "changed"
    ] == {"a": {"seen": {"before": "2020-12-01T09:00:00+00:00", "after": None}}}
    preview = revision.preview()
    assert len(preview["changed"]) == PREVIEW_KEYS and preview["removed"] == []
    assert preview["not_listed"] == 25 + 5 - PREVIEW_KEYS
    assert preview["changed"]["k000"] == ["beds"]


def test_each_dataset_names_its_rows_by_its_own_key():
    assert row_key(LOCATION_DAILY) == ["location_id"]
    assert row_key(PROVIDER_DAILY) == ["provider_id"]
    assert row_key(LA_DAILY_SUMMARY) == ["la_code"], "one row per council: the council is the key"


def test_lineage_columns_are_location_daily_columns_outside_every_key():
    assert set(LINEAGE_COLUMNS) <= set(LOCATION_DAILY.column_names)
    for dataset in DATASETS.values():
        assert not set(LINEAGE_COLUMNS) & set(dataset.key), dataset.name
    assert not set(LINEAGE_COLUMNS) & set(LA_DAILY_SUMMARY.column_names + PROVIDER_DAILY.column_names), (
        "the roll-ups carry no lineage: every difference in them is a change"
    )


def test_changes_add_up():
    assert Changes(1, 2, 3, 4, 5) + Changes(1, 1, 1, 1, 1) == Changes(2, 3, 4, 5, 6)
    assert not Changes(unchanged=5, lineage_only=3).any and Changes(removed=1).any
    assert Changes.from_dict({"added": 1, "removed": 0, "changed": 0, "unchanged": 2}) == Changes(1, 0, 0, 2)
