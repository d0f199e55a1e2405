"""publish_day from the warehouse (SQLite and PostgreSQL) to a real S3 endpoint, read back the way
a consumer reads it."""

from __future__ import annotations

from datetime import date

import pyarrow.dataset as ds
import pyarrow.fs
import sqlalchemy as sa

from careshare.datasets import LOCATION_DAILY
from careshare.publish import publish_day
from tests.unit.publish.synthetic import synthetic_table

DAY = date(2020, 12, 1)
ONLY_LOCATIONS = {LOCATION_DAILY.name: LOCATION_DAILY}
COUNCILS = {"E06000001": 4, "E08000035": 6, "E09000033": 3}


def load_rows(platform, table) -> None:
    with platform.warehouse.transaction() as connection:
        platform.warehouse.insert_frame(connection, "location_daily", table.to_pandas())


def test_a_day_goes_from_the_warehouse_to_a_hive_view_encrypted_and_typed(platform, s3_endpoint, s3_client, buckets):
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    load_rows(platform, table)

    result = publish_day(platform, DAY, ONLY_LOCATIONS)
    (outcome,) = result.releases
    assert (outcome.version, outcome.new, outcome.rows) == (1, True, 13)
    assert "_docs/data_dictionary.md" in result.docs_updated

    filesystem = pyarrow.fs.S3FileSystem(
        endpoint_override=s3_endpoint.removeprefix("http://"),
        scheme="http",
        access_key="testing",
        secret_key="testing",
        region="eu-west-2",
    )
    read = ds.dataset(
        f"{buckets['published']}/location_daily", filesystem=filesystem, format="parquet", partitioning="hive"
    )
    frame = read.to_table().to_pandas().sort_values("location_id", ignore_index=True)
    expected = table.to_pandas().sort_values("location_id", ignore_index=True)
    assert frame["location_id"].tolist() == expected["location_id"].tolist()
    assert frame["la_code"].astype(str).tolist() == expected["la_code"].tolist()
    assert frame["beds_total"].tolist() == expected["beds_total"].tolist()

    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=buckets["published"]):
        for item in page["Contents"]:
            head = s3_client.head_object(Bucket=buckets["published"], Key=item["Key"])
            assert head["ServerSideEncryption"] == "AES256", item["Key"]
            assert head["ContentType"] != "application/octet-stream", item["Key"]

    releases = platform.warehouse.query_frame("publish/releases/of_day", {"report_date": DAY})
    assert releases[["dataset", "version", "row_count", "rows_added", "reason_kind"]].values.tolist() == [
        ["location_daily", 1, 13, 13, "first_release"]
    ]
    inputs = platform.warehouse.query_frame("publish/releases/inputs_of_day", {"report_date": DAY})
    assert inputs[["feed", "status"]].values.tolist() == [
        ["cqc_update", "missing"],
        ["ct_care_homes", "missing"],
        ["ct_home_care", "missing"],
    ], "no feed day recorded: every feed stated missing, with no file"


def test_a_republication_states_its_note_in_the_warehouse_and_its_manifest(platform):
    table = synthetic_table(LOCATION_DAILY, DAY, COUNCILS)
    load_rows(platform, table)
    publish_day(platform, DAY, ONLY_LOCATIONS)
    with platform.warehouse.transaction() as connection:
        connection.execute(
            sa.text("UPDATE location_daily SET beds_vacant = beds_vacant + 1 WHERE la_code = 'E09000033'")
        )
    (outcome,) = publish_day(platform, DAY, ONLY_LOCATIONS, note="  beds corrected\nby hand ").releases
    assert (outcome.version, outcome.reason["kind"], outcome.reason["note"]) == (
        2,
        "operator_rerun",
        "beds corrected by hand",
    )
    assert outcome.changes.as_dict() == {"added": 0, "removed": 0, "changed": 3, "unchanged": 10, "lineage_only": 0}
    releases = platform.warehouse.query_frame("publish/releases/of_day", {"report_date": DAY})
    assert releases[["version", "reason_kind", "note", "rows_changed"]].values.tolist()[-1] == [
        2,
        "operator_rerun",
        "beds corrected by hand",
        3,
    ]
    assert releases["changes_key"].tolist()[-1] == outcome.changes_detail["key"]


def test_republishing_unchanged_rows_adds_no_release(platform):
    load_rows(platform, synthetic_table(LOCATION_DAILY, DAY, COUNCILS))
    first = publish_day(platform, DAY, ONLY_LOCATIONS)
    again = publish_day(platform, DAY, ONLY_LOCATIONS)
    assert [r.new for r in again.releases] == [False]
    assert again.docs_updated == []
    assert [r.version for r in again.releases] == [r.version for r in first.releases]
    assert len(platform.warehouse.query_frame("publish/releases/of_day", {"report_date": DAY})) == 1
