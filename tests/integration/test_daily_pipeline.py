"""The real DAGs, run with dag.test() for 2020-11-28 .. 2020-12-01 against the feed simulator and a
moto S3 server, on a SQLite and a PostgreSQL warehouse; the published dataset is read back from
S3 with pyarrow."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pyarrow.dataset as ds
import pyarrow.fs
import pytest
import sqlalchemy as sa

from careshare.feeds import TRANSITION
from careshare_dev.embedded import date_range

DAYS = date_range(date(2020, 11, 28), date(2020, 12, 1))
WAREHOUSE_TABLES = ("stg_submission", "location_daily", "superseded_row", "quarantine_row", "raw_delivery", "feed_day")

pytestmark = pytest.mark.slow


def read_published(stack, bucket: str):
    host = stack.endpoints.s3_url.removeprefix("http://")
    filesystem = pyarrow.fs.S3FileSystem(
        endpoint_override=host, scheme="http", access_key="testing", secret_key="testing", region="eu-west-2"
    )
    dataset = ds.dataset(f"{bucket}/location_daily", filesystem=filesystem, format="parquet", partitioning="hive")
    return dataset.to_table().to_pandas()


def published_objects(s3_client, bucket: str) -> dict[str, str]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def table_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = {t: connection.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in WAREHOUSE_TABLES}
    engine.dispose()
    return counts


@pytest.fixture(scope="module")
def published_run(stack, runner, module_careshare_env):
    reference = runner.reference(DAYS[0])
    assert str(reference.state) == "success"
    states = runner.report_dates(DAYS)
    assert [s for s in states if s[2] != "success"] == []
    return module_careshare_env


@pytest.fixture(scope="module")
def warehouse_url(module_warehouse_url):
    return module_warehouse_url


def locations_held(world, warehouse_url: str, day: date) -> dict[str, set[str]]:
    """Per feed, the distinct true locations of the file's rows that were not quarantined."""
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as connection:
        quarantined = set(
            connection.execute(
                sa.text("SELECT DISTINCT feed, source_row FROM quarantine_row WHERE report_date = :d"), {"d": day}
            ).fetchall()
        )
    engine.dispose()
    held = defaultdict(set)
    for feed in ("ct_care_homes", "ct_home_care", "cqc_update"):
        truth = world.ground_truth(feed, day)
        held[feed] = {row["location_id"] for row in truth if (feed, row["source_row"]) not in quarantined}
        held[f"{feed}_delivered"] = {row["location_id"] for row in truth}
    return held


def test_published_dataset_is_merged_partitioned_and_complete(stack, published_run, warehouse_url, local_authorities):
    frame = read_published(stack, published_run["published"])
    directory = {d["locationId"]: d for d in stack.world.directory_truth()}
    frame["report_date"] = frame["report_date"].astype(str)

    assert sorted(frame["report_date"].unique()) == [d.isoformat() for d in DAYS]
    assert not frame.duplicated(["report_date", "location_id"]).any()

    for day in DAYS:
        rows = frame[frame["report_date"] == day.isoformat()]
        expected_la = rows["location_id"].map(
            lambda loc, day=day: local_authorities.code_for(directory[loc]["localAuthority"], day).code
        )
        assert (rows["la_code"].astype(str) == expected_la).all()

        held = locations_held(stack.world, warehouse_url, day)
        feeds = ("ct_care_homes", "ct_home_care", "cqc_update")
        delivered = set().union(*(held[f"{f}_delivered"] for f in feeds))
        published = set().union(*(held[f] for f in feeds))
        assert set(rows["location_id"]) == published
        assert len(delivered - published) <= 0.01 * len(delivered)

        in_both = held["ct_home_care"] & held["cqc_update"]
        if day >= TRANSITION:
            assert in_both, "the overlap week must have locations in both sources"
            sources = rows.set_index("location_id").loc[sorted(in_both), "source_feed"]
            assert set(sources) == {"ct_home_care"}
        else:
            assert not held["ct_home_care_delivered"]


def test_feed_runs_emit_asset_events_that_schedule_the_publish_dag(runner, published_run):
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = (
            session.query(AssetModel.name, AssetEvent.extra)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name.like("careshare_%_staged"))
            .all()
        )
        queued_for = {q.target_dag_id for q in session.query(AssetDagRunQueue).all()}
    assert "careshare_publish" in queued_for, "the scheduler would start careshare_publish from these events"
    dates_by_asset = defaultdict(set)
    for name, extra in events:
        dates_by_asset[name].add(extra["report_date"])
    for feed in ("ct_care_homes", "ct_home_care", "cqc_update"):
        assert {d.isoformat() for d in DAYS} <= dates_by_asset[f"careshare_{feed}_staged"]

    from airflow.sdk.definitions.asset import AssetAny

    condition = runner.dag("careshare_publish").timetable.asset_condition
    assert isinstance(condition, AssetAny), "any feed settling must trigger the publish DAG"
    assert {a.name for a in condition.objects} == {
        f"careshare_{f}_staged" for f in ("ct_care_homes", "ct_home_care", "cqc_update")
    }


def test_rerunning_a_day_changes_nothing(stack, runner, published_run, warehouse_url, s3_client):
    before_objects = published_objects(s3_client, published_run["published"])
    before_counts = table_counts(warehouse_url)
    day = DAYS[2]
    assert str(runner.run("careshare_ct_care_homes", day).state) == "success"
    assert str(runner.run("careshare_publish", day, {"report_date": day.isoformat()}).state) == "success"
    assert published_objects(s3_client, published_run["published"]) == before_objects
    assert table_counts(warehouse_url) == before_counts
