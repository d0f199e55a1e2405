"""The publish DAG's gate, run with dag.test(): a day whose rows do not add up fails its merge
(no retries) and nothing of it is published; once it adds up, the rerun publishes all three
datasets, provider_daily under its national prefix only. The day is staged through the package
path (the feed DAGs are run by test_daily_pipeline)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from careshare.config import Settings
from careshare.ingest import record_expected_absence
from careshare.quality.links import report_key, report_prefix
from careshare.resources import Platform
from tests.integration.conftest import xcom
from tests.integration.merge_support import FEEDS, load_reference, stage

pytestmark = pytest.mark.slow

DAY = date(2020, 11, 27)  # a Friday before the transition: care homes and the CQC form, no CT home care


def task_states(run_id: str) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.state).filter(TaskInstance.run_id == run_id).all()
    return {task_id: str(state) for task_id, state in rows}


def change_delivered(url: str, delta: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE feed_day SET rows_delivered = rows_delivered + :delta WHERE feed = 'cqc_update'"),
            {"delta": delta},
        )
    engine.dispose()


def published_keys(s3_client, bucket: str) -> list[str]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_a_day_that_fails_its_checks_is_not_published_until_it_adds_up(
    stack, runner, careshare_env, warehouse_url, s3_client
):
    platform = Platform.from_settings(Settings.from_env(), s3_client)
    platform.warehouse.migrate()
    load_reference(platform, stack.world)
    for feed in FEEDS:
        rendered = stack.world.rendered(feed, DAY)
        if rendered:
            stage(platform, feed, DAY, rendered.content)
        else:
            record_expected_absence(platform, feed, DAY, "not collected that day")
    platform.warehouse.engine.dispose()
    change_delivered(warehouse_url, +1)  # one CQC row the warehouse has lost

    failed = runner.run("careshare_publish", DAY, {"report_date": DAY.isoformat()})
    states = task_states(failed.run_id)
    assert str(failed.state) == "failed"
    assert states["merge"] == "failed" and states["publish"] != "success"
    assert published_keys(s3_client, careshare_env["published"]) == []
    # the failure links the date's quality report, built for it since publication never came
    quality = careshare_env["quality"]
    link = f"{stack.endpoints.s3_url}/{quality}/{report_key(DAY)}"
    assert xcom(failed, "merge", "_link_QualityReportLink", map_index=0) == link
    report = json.loads(s3_client.get_object(Bucket=quality, Key=report_prefix(DAY) + "report.json")["Body"].read())
    assert {f["feed"] for f in report["feeds"]} >= {"ct_care_homes", "cqc_update"}

    change_delivered(warehouse_url, -1)
    rerun = runner.run("careshare_publish", DAY, {"report_date": DAY.isoformat()})
    assert str(rerun.state) == "success", task_states(rerun.run_id)
    keys = published_keys(s3_client, careshare_env["published"])
    assert {key.split("/")[0] for key in keys} == {
        "location_daily",
        "la_daily_summary",
        "provider_daily",
        "_manifests",
        "_docs",
    }
    assert [k for k in keys if k.startswith("provider_daily/") and "/_" not in k] == [
        "provider_daily/report_date=2020-11-27/part-0.parquet"
    ]
    assert all(k.startswith("la_daily_summary/la_code=E") for k in keys if k.startswith("la_daily_summary/"))
