"""Scale-out proved on this machine: a real multi-process Airflow (CeleryExecutor, metadata on
PostgreSQL, Redis as broker; api-server, scheduler, dag-processor and two Celery workers as
separate processes) backfills five report dates of every feed with `airflow backfill create`; the
feed Assets schedule `careshare_publish`; every date ends published to S3, tasks ran at the same
time on both workers; then clearing one past day rebuilds that day and nothing else."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest
import redis

from careshare.datasets import DATASETS
from careshare_dev.airflow_cluster import AirflowCluster, feed_logical_date
from careshare_dev.embedded import FEED_DAGS, connection_environment, date_range
from tests.conftest import (
    REFERENCE_CSV,
    create_buckets,
    drop_postgres_database,
    migrate_warehouse,
    new_postgres_database,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.serial]

DAYS = date_range(date(2020, 11, 28), date(2020, 12, 2))
RERUN_DAY = DAYS[2]
BROKER_URL = "redis://127.0.0.1:6379/11"  # a database number of its own: emptied before and after
ALL_DAGS = (*FEED_DAGS, "careshare_publish", "careshare_reference")


@pytest.fixture(scope="module")
def buckets(s3_client) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"careshare-celery-{kind}-{suffix}" for kind in ("raw", "published", "quality")}
    create_buckets(s3_client, *names.values())
    return names


@pytest.fixture(scope="module")
def cluster(sources, buckets, postgres_admin, tmp_path_factory):
    _world, _simulator, endpoints = sources
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    metadata_url = new_postgres_database(postgres_admin)
    warehouse_url = new_postgres_database(postgres_admin)
    home = tmp_path_factory.mktemp("celery-airflow")
    careshare = {
        "CARESHARE_HOME": str(home / "careshare"),
        "CARESHARE_WAREHOUSE_URL": warehouse_url,
        "CARESHARE_RAW_ARCHIVE_URI": f"s3://{buckets['raw']}",
        "CARESHARE_PUBLISH_URI": f"s3://{buckets['published']}",
        "CARESHARE_QUALITY_URI": f"s3://{buckets['quality']}",
        "CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV),
        # The publish sweep every minute (15 in production): it takes the dates of Asset events
        # Airflow folded away while a publish run was active.
        "CARESHARE_PUBLISH_SWEEP": "* * * * *",
    }
    airflow = AirflowCluster(home, metadata_url, BROKER_URL, {**connection_environment(endpoints), **careshare})
    try:
        airflow.airflow("db", "migrate", timeout=180)
        migrate_warehouse(warehouse_url)  # compose: the airflow-init service runs careshare db migrate
        airflow.start_components(workers=2, concurrency=2)
        airflow.wait_for(airflow.api_ready, "the api-server", timeout=90)
        airflow.wait_for(lambda: airflow.dags_parsed(ALL_DAGS), "the dag-processor to serialise the DAGs", 90)
        yield airflow
    finally:
        airflow.stop()
        broker.flushdb()
        broker.close()
        drop_postgres_database(postgres_admin, metadata_url)
        drop_postgres_database(postgres_admin, warehouse_url)


def manifest_keys(s3_client, bucket: str) -> set[str]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="_manifests/")
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def published_objects(s3_client, bucket: str) -> dict[str, tuple[str, str]]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: (o["ETag"], o["LastModified"].isoformat()) for page in pages for o in page.get("Contents", [])}


def published_days(s3_client, bucket: str) -> set[date]:
    """The report dates every dataset has a committed release for."""
    keys = manifest_keys(s3_client, bucket)
    return {
        day
        for day in DAYS
        if all(
            any(k.startswith(f"_manifests/{name}/report_date={day.isoformat()}/") for k in keys) for name in DATASETS
        )
    }


def run_states(cluster: AirflowCluster, dag_id: str, run_type: str | None = None) -> dict[str, str]:
    rows = cluster.query("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = :dag_id", dag_id=dag_id)
    return {row.run_id: row.state for row in rows if run_type in (None, row.run_type)}


def backfill_runs(cluster: AirflowCluster) -> list:
    return cluster.query(
        "SELECT dag_id, run_id, state, logical_date FROM dag_run WHERE run_type = 'backfill' ORDER BY logical_date"
    )


def feeds_done_and_publishing_idle(cluster: AirflowCluster, expected_runs: int) -> bool:
    runs = backfill_runs(cluster)
    failed = [(r.dag_id, r.run_id) for r in runs if r.state == "failed"]
    if failed:
        raise AssertionError(f"backfill runs failed: {failed}\n{cluster.log_tails()}")
    finished = len(runs) == expected_runs and all(r.state == "success" for r in runs)
    return finished and not publish_pending(cluster)


def publish_pending(cluster: AirflowCluster) -> bool:
    """A careshare_publish run queued or running, or Asset events waiting to start one."""
    runs = cluster.query(
        "SELECT COUNT(*) AS n FROM dag_run WHERE dag_id = 'careshare_publish' AND state IN ('queued', 'running')"
    )[0].n
    queue = "SELECT COUNT(*) AS n FROM asset_dag_run_queue WHERE target_dag_id = 'careshare_publish'"
    waiting = cluster.query(queue)[0].n
    return bool(runs or waiting)


def create_backfills(cluster: AirflowCluster) -> None:
    """`airflow backfill create` for every feed DAG, the three commands at once."""
    commands = [
        (
            "backfill",
            "create",
            "--dag-id",
            dag_id,
            "--from-date",
            feed_logical_date(DAYS[0]),
            "--to-date",
            feed_logical_date(DAYS[-1]),
            "--max-active-runs",
            str(len(DAYS)),
        )
        for dag_id in FEED_DAGS
    ]
    with ThreadPoolExecutor(len(commands)) as pool:
        list(pool.map(lambda args: cluster.airflow(*args), commands))


@pytest.fixture(scope="module")
def backfilled(cluster, s3_client, buckets):
    started = time.monotonic()
    # Unpaused with catchup off, the scheduler starts the latest reference run by itself; merges
    # use the current directory, so that load is the one every report date needs.
    cluster.wait_for(
        lambda: "success" in run_states(cluster, "careshare_reference").values(), "the reference load", 120, 2
    )
    create_backfills(cluster)
    cluster.wait_for(
        lambda: feeds_done_and_publishing_idle(cluster, len(FEED_DAGS) * len(DAYS)),
        "every backfill run to succeed and the publish runs their Asset events started to finish",
        timeout=720,
        every=2,
    )
    cluster.wait_for(
        lambda: published_days(s3_client, buckets["published"]) == set(DAYS) and not publish_pending(cluster),
        "every date to be published by the Asset-triggered and sweep runs",
        timeout=360,
        every=2,
    )
    print(f"backfill of {len(DAYS)} dates published in {time.monotonic() - started:.0f}s")
    return cluster


def test_backfill_publishes_every_report_date(backfilled, s3_client, buckets):
    runs = backfill_runs(backfilled)
    assert {(r.dag_id, r.logical_date.date()) for r in runs} == {(d, day) for d in FEED_DAGS for day in DAYS}
    assert published_days(s3_client, buckets["published"]) == set(DAYS)
    staged_dates = {
        row.extra["report_date"]
        for row in backfilled.query(
            "SELECT e.extra FROM asset_event AS e JOIN asset AS a ON a.id = e.asset_id WHERE a.name LIKE '%staged'"
        )
    }
    assert staged_dates >= {d.isoformat() for d in DAYS}, "every backfilled date must emit its staged Asset events"
    # Whether an Asset-triggered run or the sweep publishes a date is a race; both must be used.
    assert run_states(backfilled, "careshare_publish", "asset_triggered"), "the Asset events must schedule publish"
    run_types = {
        r.run_type for r in backfilled.query("SELECT run_type FROM dag_run WHERE dag_id = 'careshare_publish'")
    }
    assert run_types <= {"asset_triggered", "scheduled"}, "no date may need a manual publish run"


def test_both_celery_workers_ran_tasks_at_the_same_time(backfilled):
    tasks = backfilled.query(
        "SELECT ti.hostname, ti.start_date, ti.end_date FROM task_instance AS ti"
        " JOIN dag_run AS dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
        " WHERE dr.run_type = 'backfill' AND ti.state = 'success'"
    )
    assert {t.hostname for t in tasks} == {"worker1", "worker2"}
    overlapping = [
        (a, b) for a in tasks for b in tasks if a.hostname == "worker1" and b.hostname == "worker2" and overlap(a, b)
    ]
    assert overlapping, "no task on one worker ran while a task ran on the other"
    runs = backfilled.query(
        "SELECT dag_id, start_date, end_date FROM dag_run WHERE run_type = 'backfill' ORDER BY start_date"
    )
    assert any(overlap(a, b) for a in runs for b in runs if a is not b), "backfill runs ran one after another"


def overlap(a, b) -> bool:
    return a.start_date < b.end_date and b.start_date < a.end_date


def test_clearing_one_past_day_rebuilds_that_day_and_nothing_else(backfilled, s3_client, buckets):
    bucket = buckets["published"]
    before = published_objects(s3_client, bucket)
    tries_before = task_tries(backfilled)
    publish_runs_before = set(run_states(backfilled, "careshare_publish"))
    cleared_at = datetime.now().astimezone()

    backfilled.airflow(
        "tasks",
        "clear",
        "careshare_ct_care_homes",
        "--start-date",
        feed_logical_date(RERUN_DAY),
        "--end-date",
        feed_logical_date(RERUN_DAY),
        "--yes",
    )

    def rebuilt() -> bool:
        feeds_done = all(r.state == "success" for r in backfill_runs(backfilled))
        new_runs = set(run_states(backfilled, "careshare_publish", "asset_triggered")) - publish_runs_before
        return feeds_done and bool(new_runs) and not publish_pending(backfilled)

    backfilled.wait_for(rebuilt, "the cleared day to run again and publish", timeout=360, every=2)
    new_publish_runs = {
        run_id: state
        for run_id, state in run_states(backfilled, "careshare_publish").items()
        if run_id not in publish_runs_before
    }
    assert "failed" not in new_publish_runs.values(), new_publish_runs

    tries_after = task_tries(backfilled)
    rerun = {key for key in tries_after if tries_after[key] != tries_before.get(key)}
    assert rerun, "clearing the day ran nothing"
    assert {(dag_id, day) for dag_id, day, _task in rerun} == {("careshare_ct_care_homes", RERUN_DAY)}

    republished = backfilled.query(
        "SELECT ti.rendered_map_index, ti.start_date FROM task_instance AS ti"
        " WHERE ti.dag_id = 'careshare_publish' AND ti.task_id = 'publish' AND ti.start_date > :cleared"
        " AND ti.map_index >= 0",
        cleared=cleared_at,
    )
    # Sweep runs with no date owed expand `publish` to nothing (one skipped, unmapped instance);
    # Asset events the backfill left orphaned reach the rerun too, but their dates were served since.
    assert {r.rendered_map_index for r in republished} == {RERUN_DAY.isoformat()}

    after = published_objects(s3_client, bucket)
    other_days = [d.isoformat() for d in DAYS if d != RERUN_DAY]
    for key, version in before.items():
        if any(f"report_date={day}" in key for day in other_days):
            assert after.get(key) == version, f"{key} changed although its day was not rerun"
    assert published_days(s3_client, bucket) == set(DAYS)


def task_tries(cluster: AirflowCluster) -> dict[tuple[str, date, str], int]:
    """try_number of every backfilled feed task, by (DAG, report date, task)."""
    rows = cluster.query(
        "SELECT ti.dag_id, dr.logical_date, ti.task_id, ti.try_number FROM task_instance AS ti"
        " JOIN dag_run AS dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id WHERE dr.run_type = 'backfill'"
    )
    return {(r.dag_id, r.logical_date.date(), r.task_id): r.try_number for r in rows}
