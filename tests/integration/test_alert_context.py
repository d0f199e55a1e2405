"""How a failed task's context becomes an alert, and that alerts are off without their
connections (no run needed: the context is built by hand, the connections looked up for real)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pendulum
import pytest

from careshare_airflow.alerts import SMTP_CONN_ID, WEBHOOK_CONN_ID, CareshareAlerts, alert_from_context
from tests.integration.alert_servers import smtp_connection, smtp_server


def context(map_index: str | None = None, params: dict | None = None, logical: pendulum.DateTime | None = None):
    ti = SimpleNamespace(
        dag_id="careshare_publish",
        task_id="merge",
        run_id="manual__1",
        try_number=2,
        rendered_map_index=map_index,
        log_url="http://localhost:8080/dags/careshare_publish/runs/manual__1/tasks/merge/mapped/0?try_number=2",
    )
    return {"ti": ti, "params": params or {}, "logical_date": logical, "exception": ValueError("totals differ")}


@pytest.fixture
def local_quality_root(monkeypatch, tmp_path):
    monkeypatch.setenv("CARESHARE_QUALITY_URI", str(tmp_path / "quality"))
    monkeypatch.delenv("CARESHARE_QUALITY_BASE_URL", raising=False)
    return tmp_path / "quality"


def test_a_mapped_task_names_its_report_date_in_its_map_index(local_quality_root):
    alert = alert_from_context(context(map_index="2020-12-01", params={"report_date": "2020-11-30"}))
    assert alert.report_date == date(2020, 12, 1)
    expected = (local_quality_root / "reports" / "report_date=2020-12-01" / "index.html").resolve().as_uri()
    assert alert.quality_report_url == expected
    assert (alert.error, alert.try_number) == ("ValueError: totals differ", 2)
    assert alert.log_url.endswith("/tasks/merge/mapped/0?try_number=2")


def test_then_the_report_date_param_then_the_logical_date_in_uk_time(local_quality_root):
    assert alert_from_context(context(params={"report_date": "2020-11-30"})).report_date == date(2020, 11, 30)
    late_evening_utc = pendulum.datetime(2020, 6, 30, 23, 30, tz="UTC")  # already 1 July in London
    assert alert_from_context(context(logical=late_evening_utc)).report_date == date(2020, 7, 1)


def test_an_asset_triggered_unmapped_task_has_no_report_date_nor_report_link(local_quality_root):
    alert = alert_from_context(context(map_index="not a date"))
    assert (alert.report_date, alert.quality_report_url) == (None, None)


def test_without_alert_connections_a_failure_sends_nothing_and_raises_nothing(monkeypatch, local_quality_root):
    for conn_id in (WEBHOOK_CONN_ID, SMTP_CONN_ID):
        monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)
    sent = []
    notifier = CareshareAlerts()
    monkeypatch.setattr("airflow.providers.http.hooks.http.HttpHook.run", lambda *a, **k: sent.append(a))
    notifier.notify(context(map_index="2020-12-01"))
    assert sent == []


def test_a_channel_that_fails_does_not_stop_the_other(monkeypatch, local_quality_root):
    refusing = '{"conn_type": "http", "host": "http://127.0.0.1:9/hooks"}'  # port 9: connection refused
    monkeypatch.setenv(f"AIRFLOW_CONN_{WEBHOOK_CONN_ID.upper()}", refusing)
    with smtp_server() as (mailbox, port):
        monkeypatch.setenv(f"AIRFLOW_CONN_{SMTP_CONN_ID.upper()}", smtp_connection(port, ["duty@example.org"]))
        CareshareAlerts().notify(context(map_index="2020-12-01"))
    [(to, message)] = mailbox.messages
    assert to == ["duty@example.org"]
    assert message["Subject"] == "careshare: careshare_publish.merge failed for 2020-12-01"
