"""The published datasets as defined once: their queries, partitions and the feed calendars they count by."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from careshare.datasets import DATASETS, LA_DAILY_SUMMARY, LOCATION_DAILY, PROVIDER_DAILY
from careshare.merge import day_parameters, directory_day
from careshare.publish.formats import parquet_bytes, split_by_council, to_arrow
from careshare.publish.layout import Scope
from careshare.warehouse import Warehouse, sql_text

DAY = date(2020, 12, 1)


@pytest.fixture
def warehouse(warehouse_url):
    built = Warehouse(warehouse_url)
    built.migrate()
    yield built
    built.engine.dispose()


def current_view(dataset, frame) -> dict[str, bytes]:
    """The hive-view objects the release protocol would write for these warehouse rows."""
    parts = split_by_council(to_arrow(frame, dataset), dataset)
    return {Scope(dataset.name, code).current(DAY): parquet_bytes(table, dataset) for code, table in parts.items()}


def test_each_dataset_is_published_by_its_own_query_with_every_column(warehouse):
    for dataset in DATASETS.values():
        frame = warehouse.query_frame(f"publish/{dataset.name}", directory_day(warehouse, DAY))
        assert set(dataset.column_names) <= set(frame.columns), dataset.name


def test_location_daily_in_the_warehouse_has_exactly_the_published_columns(warehouse):
    columns = {c["name"] for c in sa.inspect(warehouse.engine).get_columns("location_daily")}
    assert columns == set(LOCATION_DAILY.column_names)


def test_the_merge_inserts_location_daily_in_the_published_column_order():
    """The dataset definition is the one column list: the merge's INSERT names it in that order."""
    insert = sql_text("merge/insert_location_daily")
    named = insert[insert.index("(") + 1 : insert.index(")")]
    assert [column.strip() for column in named.split(",")] == list(LOCATION_DAILY.column_names)


def frame_for(dataset, rows: list[dict]) -> pd.DataFrame:
    defaults = {f.name: (0 if f.type == "int32" else False if f.type == "bool" else None) for f in dataset.fields}
    return pd.DataFrame([defaults | {"report_date": DAY} | row for row in rows])


def test_a_national_dataset_is_one_object_under_the_report_date_in_key_order():
    frame = frame_for(PROVIDER_DAILY, [{"provider_id": "1-200000002"}, {"provider_id": "1-200000001"}])
    objects = current_view(PROVIDER_DAILY, frame)
    ((key, data),) = objects.items()
    assert key == "provider_daily/report_date=2020-12-01/part-0.parquet"
    table = pq.read_table(io.BytesIO(data))
    assert "report_date" not in table.column_names
    assert table.column("provider_id").to_pylist() == ["1-200000001", "1-200000002"]


def test_a_council_dataset_is_one_object_per_council():
    frame = frame_for(
        LA_DAILY_SUMMARY,
        [
            {"la_code": code, "la_name": name, "region_code": "E12000001", "region_name": "North East"}
            for code, name in (("E08000035", "Leeds"), ("E06000001", "Hartlepool"))
        ],
    )
    objects = current_view(LA_DAILY_SUMMARY, frame)
    assert sorted(objects) == [
        "la_daily_summary/la_code=E06000001/report_date=2020-12-01/part-0.parquet",
        "la_daily_summary/la_code=E08000035/report_date=2020-12-01/part-0.parquet",
    ]


@pytest.mark.parametrize(
    ("day", "record_feed", "homecare", "housing"),
    [
        (date(2020, 5, 13), "cqc_update", True, False),  # a Wednesday before extra care and supported living joined
        (date(2020, 5, 16), "cqc_update", False, False),  # a Saturday once the CQC form was weekdays only
        (date(2020, 6, 1), "cqc_update", True, True),
        (date(2020, 11, 28), "cqc_update", False, False),
        (date(2020, 11, 30), "ct_home_care", True, True),
        (date(2020, 12, 5), "ct_home_care", True, True),  # CT home care is daily
    ],
)
def test_who_was_asked_and_whose_answer_counts_follow_the_feed_calendars(day, record_feed, homecare, housing):
    params = day_parameters(day)
    assert params["community_record_feed"] == record_feed
    assert (params["care_homes_asked"], params["homecare_asked"], params["housing_services_asked"]) == (
        True,
        homecare,
        housing,
    )
