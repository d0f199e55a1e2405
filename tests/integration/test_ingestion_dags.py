"""The orchestration itself, with the real DAGs under dag.test(), in one sequence of runs:

- a landing-only deployment (no export API connection) runs 2021-03-30 .. 2021-04-02 (the CT
  feeds; the CQC form had closed, so publication does not wait for its DAG), and
  Northamptonshire's locations are published under E10000021 before 2021-04-01 and under
  E06000061 / E06000062 from then on;
- the directory changes between two reference runs and dim_location keeps both versions;
- on 2021-04-02 the home-care file is unusable: its DAG run fails naming file and rule, the other
  feeds and the publication of the day go on;
- with the export API connected, the fetch of 2021-04-03 waits (reschedules) for a file published
  late, and the same run's re-check finds a corrected file for 2021-03-31, loads it and emits the
  staged event that makes careshare_publish rebuild that day.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from careshare.feeds import Feed
from careshare.storage import open_store
from careshare_dev.embedded import date_range
from careshare_sim import FaultPlan, FileMess, SimulatorServer, World
from tests.conftest import create_buckets, migrate_warehouse
from tests.integration.conftest import DIRECTORY_KEY, FEEDS_KEY
from tests.integration.ingestion_harness import DIRECTORY_AS_OF

pytestmark = pytest.mark.slow

DAYS = date_range(date(2021, 3, 30), date(2021, 4, 2))
LATE_DAY = date(2021, 4, 3)
CORRECTED_DAY = date(2021, 3, 31)
BROKEN = ("ct_home_care", date(2021, 4, 2))
CT_DAGS = ("careshare_ct_care_homes", "careshare_ct_home_care")
NORTHANTS = {"North Northamptonshire": "E06000061", "West Northamptonshire": "E06000062"}


def query(url: str, text: str, **params) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.text(text), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def run(runner, s3_client, councils, tmp_path_factory):
    """Every run of the scenario, in order; what each test checks is read back afterwards."""
    tmp = tmp_path_factory.mktemp("dags")
    world = World(22, 150, 100, councils, DIRECTORY_AS_OF)
    plan = FaultPlan()
    suffix = uuid.uuid4().hex[:8]
    buckets = {kind: f"careshare-dag-{kind}-{suffix}" for kind in ("raw", "published", "quality", "landing")}
    create_buckets(s3_client, *buckets.values())
    landing = open_store(f"s3://{buckets['landing']}/drop", s3_client)
    for day in DAYS:
        for feed in Feed:
            versions = world.versions(feed, day)
            if not versions:
                continue
            variant = versions[-1].variant
            if (feed.value, day) == BROKEN:
                variant = variant.with_mess(FileMess.HEADER_ONLY)
            landing.put(f"{feed.value}/{day.isoformat()}.csv", world.rendered(feed, day, variant).content)
    url = f"sqlite:///{tmp / 'warehouse.db'}"
    migrate_warehouse(url)
    fetch = runner.dag("careshare_ct_care_homes").get_task("fetch")
    with SimulatorServer(world, FEEDS_KEY, DIRECTORY_KEY, faults=plan) as server, pytest.MonkeyPatch.context() as env:
        env.setenv(
            "AIRFLOW_CONN_CARESHARE_CQC_DIRECTORY",
            json.dumps({"conn_type": "http", "host": server.base_url, "password": DIRECTORY_KEY}),
        )
        env.delenv("AIRFLOW_CONN_CARESHARE_FEEDS")  # landing only
        for name, value in {
            "CARESHARE_HOME": str(tmp),
            "CARESHARE_WAREHOUSE_URL": url,
            "CARESHARE_RAW_ARCHIVE_URI": f"s3://{buckets['raw']}",
            "CARESHARE_PUBLISH_URI": f"s3://{buckets['published']}",
            "CARESHARE_QUALITY_URI": f"s3://{buckets['quality']}",
            "CARESHARE_LANDING_URI": f"s3://{buckets['landing']}/drop",
        }.items():
            env.setenv(name, value)
        states: dict[tuple[str, date], str] = {}

        def day_runs(day: date) -> None:
            for dag_id in CT_DAGS:  # the CQC form had closed: publication does not wait for its DAG
                states[(dag_id, day)] = str(runner.run(dag_id, day).state)
            publish = runner.run("careshare_publish", day, {"report_date": day.isoformat()})
            states[("careshare_publish", day)] = str(publish.state)

        states[("careshare_reference", DAYS[0])] = str(runner.reference(DAYS[0]).state)
        for day in DAYS[:2]:
            day_runs(day)
        first_load = query(url, "SELECT MAX(as_of) AS as_of FROM directory_load").at[0, "as_of"]
        amended = _amend_a_reporting_location(world, url, pd.Timestamp(first_load).to_pydatetime())
        states[("careshare_reference", DAYS[2])] = str(runner.reference(DAYS[2]).state)
        for day in DAYS[2:]:
            day_runs(day)
        exports_asked_while_landing_only = [path for _, path in plan.seen if path.startswith("/exports/")]

        env.setenv(
            "AIRFLOW_CONN_CARESHARE_FEEDS",
            json.dumps({"conn_type": "http", "host": server.base_url, "password": FEEDS_KEY}),
        )
        plan.add(kind="not_published", feed="ct_care_homes", report_date=LATE_DAY, times=2)
        plan.add(kind="corrected", feed="ct_care_homes", report_date=CORRECTED_DAY)
        poke_interval, fetch.poke_interval = fetch.poke_interval, 1.0
        try:
            late = runner.run("careshare_ct_care_homes", LATE_DAY)
        finally:
            fetch.poke_interval = poke_interval
        states[("careshare_ct_care_homes", LATE_DAY)] = str(late.state)
        published_before_rebuild = query(
            url,
            "SELECT DISTINCT source_sha256 FROM location_daily WHERE report_date = :d AND source_feed = :f",
            d=CORRECTED_DAY,
            f="ct_care_homes",
        )
        rebuild = runner.run("careshare_publish", CORRECTED_DAY, {"report_date": CORRECTED_DAY.isoformat()})
        states[("careshare_publish_rebuild", CORRECTED_DAY)] = str(rebuild.state)
        yield {
            "world": world,
            "plan": plan,
            "url": url,
            "buckets": buckets,
            "states": states,
            "late_run": late,
            "amended": amended,
            "exports_asked_while_landing_only": exports_asked_while_landing_only,
            "published_before_rebuild": set(published_before_rebuild["source_sha256"]),
        }


def _amend_a_reporting_location(world: World, url: str, after) -> dict:
    """Rename a location the feeds report on, effective an hour after the first directory load."""
    reporting = {t["location_id"] for t in world.ground_truth("ct_care_homes", DAYS[2])}
    location_id = sorted(reporting)[0]
    before = world.directory.location(location_id)
    at = after.replace(tzinfo=UTC) + timedelta(hours=1)
    world.directory.amend(location_id, at, name=f"{before['name']} (renamed)")
    return {"location_id": location_id, "old_name": before["name"], "new_name": f"{before['name']} (renamed)"}


def test_every_run_ends_as_designed(run):
    failed = {key for key, state in run["states"].items() if state != "success"}
    assert failed == {(f"careshare_{BROKEN[0]}", BROKEN[1])}


def test_a_landing_only_deployment_never_asks_the_export_api(run):
    assert run["exports_asked_while_landing_only"] == []
    deliveries = query(
        run["url"], "SELECT feed, report_date, route, source FROM raw_delivery WHERE report_date <= :d", d=DAYS[-1]
    )
    by_http = deliveries[deliveries["route"] == "http"]
    assert by_http[["feed", "report_date"]].astype(str).values.tolist() == [["ct_care_homes", "2021-03-31"]]
    landed = deliveries[deliveries["route"] == "landing"]
    assert len(landed) == 8  # the two CT feeds on four days; the CQC form had closed
    assert landed["source"].str.startswith(f"s3://{run['buckets']['landing']}/drop/").all()


def test_northamptonshire_is_published_under_the_council_valid_on_each_day(run, s3_client):
    councils = {d["locationId"]: d["localAuthority"] for d in run["world"].directory_truth()}
    northants = {loc for loc, name in councils.items() if name in NORTHANTS}
    published = query(
        run["url"],
        "SELECT report_date, location_id, la_code, la_name FROM location_daily WHERE report_date BETWEEN :a AND :b",
        a=DAYS[0],
        b=DAYS[-1],
    )
    published["report_date"] = pd.to_datetime(published["report_date"]).dt.date
    mine = published[published["location_id"].isin(northants)]
    for day in DAYS:
        today = mine[mine["report_date"] == day]
        assert len(today), f"no Northamptonshire location published on {day}"
        expected = today["location_id"].map(
            lambda loc, d=day: "E10000021" if d < date(2021, 4, 1) else NORTHANTS[councils[loc]]
        )
        assert (today["la_code"] == expected).all()
    codes_from_april = set(mine[mine["report_date"] >= date(2021, 4, 1)]["la_code"])
    assert codes_from_april == {"E06000061", "E06000062"}
    keys = {
        o["Key"]
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=run["buckets"]["published"])
        for o in page.get("Contents", [])
    }
    assert "location_daily/la_code=E10000021/report_date=2021-03-31/part-0.parquet" in keys
    assert "location_daily/la_code=E06000061/report_date=2021-04-01/part-0.parquet" in keys
    assert not any("la_code=E10000021/report_date=2021-04" in k for k in keys)


def test_a_failed_feed_holds_back_only_its_own_day(run, runner):
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    feed, day = BROKEN
    with create_session() as session:
        gate = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == f"careshare_{feed}", TaskInstance.task_id == "quality_gate")
            .order_by(TaskInstance.start_date.desc())
            .first()
        )
        assert (str(gate.state), gate.try_number) == ("failed", 1)  # a data failure is not retried
    feed_day = query(run["url"], "SELECT * FROM feed_day WHERE feed = :f AND report_date = :d", f=feed, d=day)
    assert (feed_day.at[0, "status"], feed_day.at[0, "rule"]) == ("failed", "file.no_rows")
    assert f"{feed}/report_date={day.isoformat()}/" in feed_day.at[0, "message"]
    delivery = query(run["url"], "SELECT * FROM raw_delivery WHERE feed = :f AND report_date = :d", f=feed, d=day)
    assert delivery.at[0, "status"] == "rejected"
    sources = query(run["url"], "SELECT DISTINCT source_feed FROM location_daily WHERE report_date = :d", d=day)
    assert set(sources["source_feed"]) == {"ct_care_homes"}
    accounts = query(run["url"], open_sql("checks/row_accounting"), report_date=day)
    assert set(accounts["feed"]) == {"ct_care_homes"}
    assert (accounts["rows_delivered"] == accounts[["quarantined", "superseded", "published"]].sum(axis=1)).all()


def test_the_directory_keeps_history_across_a_full_then_a_changes_load(run):
    loads = query(run["url"], "SELECT as_of, mode FROM directory_load ORDER BY as_of")
    assert loads["mode"].tolist() == ["full", "changes"]
    second = pd.Timestamp(loads["as_of"].iloc[1])
    versions = query(
        run["url"],
        "SELECT name, valid_from, valid_to FROM dim_location WHERE location_id = :l ORDER BY valid_from",
        l=run["amended"]["location_id"],
    )
    assert versions["name"].tolist() == [run["amended"]["old_name"], run["amended"]["new_name"]]
    assert pd.Timestamp(versions["valid_to"].iloc[0]) == second == pd.Timestamp(versions["valid_from"].iloc[1])
    assert pd.isna(versions["valid_to"].iloc[1])
    names = query(
        run["url"],
        "SELECT report_date, location_name FROM location_daily WHERE location_id = :l ORDER BY report_date",
        l=run["amended"]["location_id"],
    )
    by_day = dict(zip(pd.to_datetime(names["report_date"]).dt.date, names["location_name"], strict=True))
    assert by_day[DAYS[0]] == run["amended"]["old_name"] and by_day[DAYS[2]] == run["amended"]["new_name"]


def test_the_fetch_waits_for_a_file_published_late(run):
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    assert run["plan"].count("not_published") == 2
    with create_session() as session:
        fetch = (
            session.query(TaskInstance)
            .filter(TaskInstance.run_id == run["late_run"].run_id, TaskInstance.task_id == "fetch")
            .one()
        )
        reschedules = session.query(TaskReschedule).filter(TaskReschedule.ti_id == fetch.id).count()
        assert (str(fetch.state), reschedules) == ("success", 2)
    feed_day = query(
        run["url"], "SELECT status FROM feed_day WHERE feed = 'ct_care_homes' AND report_date = :d", d=LATE_DAY
    )
    assert feed_day["status"].tolist() == ["loaded"]


def test_a_correction_found_by_the_daily_recheck_rebuilds_its_day(run):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    registry = query(
        run["url"],
        "SELECT sha256, route, status, superseded_by FROM raw_delivery"
        " WHERE feed = 'ct_care_homes' AND report_date = :d ORDER BY received_at",
        d=CORRECTED_DAY,
    )
    assert registry["route"].tolist() == ["landing", "http"]
    old, new = registry["sha256"].tolist()
    assert registry["status"].tolist() == ["superseded", "loaded"] and registry.at[0, "superseded_by"] == new
    assert new in run["plan"].replacements
    with create_session() as session:
        events = (
            session.query(AssetEvent.extra, AssetEvent.source_task_id)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(
                AssetModel.name == "careshare_ct_care_homes_staged", AssetEvent.source_run_id == run["late_run"].run_id
            )
            .all()
        )
    assert sorted((e.source_task_id, e.extra["report_date"]) for e in events) == [
        ("load", LATE_DAY.isoformat()),
        ("recheck_corrections", CORRECTED_DAY.isoformat()),
    ]
    assert run["published_before_rebuild"] == {old}
    after = query(
        run["url"],
        "SELECT DISTINCT source_sha256 FROM location_daily WHERE report_date = :d AND source_feed = 'ct_care_homes'",
        d=CORRECTED_DAY,
    )
    assert set(after["source_sha256"]) == {new}
    accounts = query(run["url"], open_sql("checks/row_accounting"), report_date=CORRECTED_DAY).set_index("feed")
    delivered = len(run["world"].ground_truth("ct_care_homes", CORRECTED_DAY, run["plan"].replacements[new]))
    account = accounts.loc["ct_care_homes"]
    assert account["rows_delivered"] == delivered == account[["quarantined", "superseded", "published"]].sum()


def open_sql(name: str) -> str:
    from careshare.warehouse import sql_text

    return sql_text(name)


def test_the_icf_answers_reach_the_published_files(run, s3_client):
    import io

    import pyarrow.parquet as pq

    key = "location_daily/la_code=E06000061/report_date=2021-04-01/part-0.parquet"
    body = s3_client.get_object(Bucket=run["buckets"]["published"], Key=key)["Body"].read()
    table = pq.read_table(io.BytesIO(body)).to_pandas()
    icf = ["icf_staff_single_site", "icf_full_pay_when_isolating", "icf_funding_received"]
    assert len(table) and table[icf].notna().all().all()
