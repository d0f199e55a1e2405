import io
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from careshare.datasets import DATASETS, LA_DAILY_SUMMARY, LOCATION_DAILY, PROVIDER_DAILY
from careshare.publish.changes import (
    CHANGE_TYPE,
    LINEAGE_COLUMNS,
    PREVIEW_KEYS,
    Changes,
    change_data,
    change_data_bytes,
    change_data_problem,
    compare,
    row_key,
)
from careshare.publish.formats import parquet_bytes
from tests.unit.publish.synthetic import synthetic_table


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


def test_change_data_gives_each_differing_row_with_its_change_type_and_lineage_alone_as_an_update():
    day = date(2020, 11, 28)
    old = synthetic_table(LOCATION_DAILY, day, {"E08000035": 4}).drop_columns(["report_date"])
    rows = synthetic_table(LOCATION_DAILY, day, {"E08000035": 5}).to_pylist()
    rows[1]["beds_vacant"] += 1  # a value corrected
    rows[2]["source_row"] += 100  # lineage only
    del rows[3]  # a location gone; rows[4] is one added
    new = pa.Table.from_pylist(rows, schema=LOCATION_DAILY.arrow_schema()).drop_columns(["report_date"])

    found = change_data(old, new, LOCATION_DAILY)

    ids = [f"1-08000035{n:03d}" for n in range(5)]
    assert list(zip(found["location_id"].to_pylist(), found[CHANGE_TYPE].to_pylist(), strict=True)) == [
        (ids[1], "update_preimage"),
        (ids[1], "update_postimage"),
        (ids[2], "update_preimage"),
        (ids[2], "update_postimage"),
        (ids[3], "delete"),
        (ids[4], "insert"),
    ], "the unchanged row is left out"
    assert found["beds_vacant"].to_pylist()[:2] == [old["beds_vacant"][1].as_py(), old["beds_vacant"][1].as_py() + 1]
    assert (
        found.slice(4, 1).drop_columns([CHANGE_TYPE]).to_pylist()
        == old.slice(3, 1).drop_columns(["la_code"]).to_pylist()
    )
    assert compare(old, new, row_key(LOCATION_DAILY)).counts == Changes(1, 1, 1, 1, 1), "counted as before"


def test_change_data_has_the_release_parquets_schema_and_change_type_and_reads_like_it():
    day = date(2020, 11, 28)
    table = synthetic_table(LOCATION_DAILY, day, {"E08000035": 3})
    inserted = change_data(None, table.drop_columns(["report_date"]), LOCATION_DAILY)
    data = change_data_bytes(inserted)

    release = pq.read_schema(io.BytesIO(parquet_bytes(table, LOCATION_DAILY)))
    written = pq.read_schema(io.BytesIO(data))
    assert written.names == [*release.names, CHANGE_TYPE]
    assert written.remove(written.get_field_index(CHANGE_TYPE)).equals(release)
    assert written.field(CHANGE_TYPE).type == pa.string()
    assert written.field("service_group").type.ordered, "answers stay ordered categories"
    frame = pd.read_parquet(io.BytesIO(data))
    released = pd.read_parquet(io.BytesIO(parquet_bytes(table, LOCATION_DAILY)))
    assert frame.drop(columns=[CHANGE_TYPE]).dtypes.equals(released.dtypes)
    assert set(frame[CHANGE_TYPE]) == {"insert"} and len(frame) == 3
    assert change_data_bytes(inserted) == data, "the same rows give the same bytes"
    assert change_data_problem("x", data, LOCATION_DAILY, 3) is None
    assert change_data_problem("x", data, LOCATION_DAILY, 4) == "x: 3 rows, expected 4"
    assert "unreadable" in change_data_problem("x", b"PAR1 not really", LOCATION_DAILY, 3)


def test_a_national_file_and_equal_rows_give_no_partition_columns_and_no_rows():
    day = date(2020, 11, 28)
    providers = synthetic_table(PROVIDER_DAILY, day, {"E08000035": 2}).drop_columns(["report_date"])
    assert change_data(providers, providers, PROVIDER_DAILY).num_rows == 0
    removed = change_data(providers, None, PROVIDER_DAILY)
    assert removed[CHANGE_TYPE].to_pylist() == ["delete", "delete"]
    assert "report_date" not in removed.column_names
