"""The quality gate in the real DAGs (dag.test, PostgreSQL warehouse, moto S3, the feed simulator): a
care-home file failing a critical rule fails its feed run with the feed, date, rule and the report
link, the other feeds still publish, and the report and its links are where the tasks say."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from careshare.quality.links import report_key, report_prefix
from tests.integration.conftest import xcom

pytestmark = pytest.mark.slow

DAY = date(2020, 11, 30)  # all three feeds report
PURPLE_EVERY = 10  # 10% of rows with an answer that does not exist: beyond the rule's 5%


def purple_masks(world) -> bytes:
    rows = list(csv.reader(io.StringIO(world.rendered("ct_care_homes", DAY).content.decode("utf-8-sig"))))
    column = rows[0].index("PPE_Masks")
    for row in rows[1::PURPLE_EVERY]:
        row[column] = "Purple"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def task_instances(run) -> dict[str, object]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {(ti.task_id, ti.map_index): ti for ti in run.get_task_instances(session=session)}


@pytest.mark.postgres  # test_quality_outputs covers SQLite
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_a_failing_feed_is_held_back_with_a_link_to_its_report(
    stack, runner, careshare_env, s3_client, tmp_path, monkeypatch, capfd
):
    landing = tmp_path / "landing"
    (landing / "ct_care_homes").mkdir(parents=True)
    (landing / "ct_care_homes" / f"{DAY.isoformat()}.csv").write_bytes(purple_masks(stack.world))
    monkeypatch.setenv("CARESHARE_LANDING_URI", str(landing))
    quality = careshare_env["quality"]
    expected_link = f"{stack.endpoints.s3_url}/{quality}/{report_key(DAY)}"

    assert str(runner.reference(DAY).state) == "success"
    capfd.readouterr()
    failed = runner.run("careshare_ct_care_homes", DAY)
    task_output = capfd.readouterr().out
    states = {k: str(ti.state) for k, ti in task_instances(failed).items()}
    assert str(failed.state) == "failed" and states[("quality_gate", -1)] == "failed"
    assert states[("load", -1)] == "success", "the file is kept and its rows quarantined before the gate"
    failure = next(line for line in task_output.splitlines() if line.startswith("airflow.sdk.exceptions.AirflowFail"))
    assert f"ct_care_homes {DAY.isoformat()}" in failure and "[rule answer.ppe_masks.allowed]" in failure
    assert f"Quality report: {expected_link}" in failure
    assert xcom(failed, "quality_gate", "_link_QualityReportLink") == expected_link

    from careshare_airflow.quality import quality_report_link

    assert quality_report_link(DAY) == expected_link
    failing_report = json.loads(
        s3_client.get_object(Bucket=quality, Key=report_prefix(DAY) + "report.json")["Body"].read()
    )
    care_homes = next(f for f in failing_report["feeds"] if f["feed"] == "ct_care_homes")
    assert (care_homes["status"], care_homes["rule"]) == ("failed", "answer.ppe_masks.allowed")
    assert care_homes["rows_held_back"] + care_homes["rows_quarantined"] == care_homes["rows_delivered"]

    for dag_id in ("careshare_ct_home_care", "careshare_cqc_update"):
        assert str(runner.run(dag_id, DAY).state) == "success"
    published = runner.run("careshare_publish", DAY, {"report_date": DAY.isoformat()})
    assert str(published.state) == "success"
    assert xcom(published, "quality_report", "_link_QualityReportLink", map_index=0) == expected_link
    assert xcom(published, "check_published", "_link_QualityReportLink", map_index=0) == expected_link

    report = s3_client.get_object(Bucket=quality, Key=report_key(DAY))["Body"].read().decode()
    assert "Held back from publication: ct_care_homes (answer.ppe_masks.allowed)" in report
    figures = json.loads(s3_client.get_object(Bucket=quality, Key=report_prefix(DAY) + "report.json")["Body"].read())
    assert [d["dataset"] for d in figures["datasets"]] == ["la_daily_summary", "location_daily", "provider_daily"]
    feeds = {f["feed"]: f for f in figures["feeds"]}
    assert feeds["ct_care_homes"]["rows_published"] == 0 < figures["completion"]["published"]
    assert (
        figures["completion"]["published"]
        == feeds["ct_home_care"]["rows_published"] + feeds["cqc_update"]["rows_published"]
    )
    manifest = json.loads(
        s3_client.get_object(Bucket=quality, Key=f"quarantine/_manifests/report_date={DAY}/manifest.json")[
            "Body"
        ].read()
    )
    assert sum(manifest["objects"].values()) >= care_homes["rows_quarantined"] > 0
