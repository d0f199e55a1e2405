"""Failure alerts end to end: real DAG runs (dag.test) fail, and the alert reaches a real HTTP
server (the webhook connection) and a real SMTP server (aiosmtpd, the SMTP connection).

One module run: a feed DAG whose file has a header and no rows fails its quality gate; then the
freshness check, as of the next day past its deadline, finds the files that never came.
"""

from __future__ import annotations

import json
import threading
from datetime import date

import pendulum
import pytest

from careshare_sim import FileMess
from tests.integration.alert_servers import Webhook, smtp_connection, smtp_server
from tests.integration.conftest import point_tasks_at

pytestmark = pytest.mark.slow
DAY = date(2020, 11, 2)  # a Monday: CQC's form is due, CT home care has not opened yet
RECIPIENTS = ["duty-engineer@example.org", "data-quality@example.org"]


@pytest.fixture(scope="module")
def alert_servers():
    webhook = Webhook()
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    with smtp_server() as (mailbox, port), pytest.MonkeyPatch.context() as env:
        env.setenv("AIRFLOW_CONN_CARESHARE_ALERTS_WEBHOOK", json.dumps({"conn_type": "http", "host": webhook.url}))
        env.setenv("AIRFLOW_CONN_CARESHARE_ALERTS_SMTP", smtp_connection(port, RECIPIENTS))
        yield webhook, mailbox
    webhook.shutdown()


@pytest.fixture(scope="module")
def runs(stack, runner, alert_servers, s3_client, tmp_path_factory):
    """The failing feed run, then the freshness run; the alerts each produced."""
    webhook, mailbox = alert_servers
    home = tmp_path_factory.mktemp("alerts")
    landing = home / "landing"
    world = stack.world
    variant = world.versions("ct_care_homes", DAY)[-1].variant.with_mess(FileMess.HEADER_ONLY)
    (landing / "ct_care_homes").mkdir(parents=True)
    (landing / "ct_care_homes" / f"{DAY.isoformat()}.csv").write_bytes(
        world.rendered("ct_care_homes", DAY, variant).content
    )
    warehouse = f"sqlite:///{home / 'warehouse.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.delenv("AIRFLOW_CONN_CARESHARE_FEEDS")  # landing only: the file above is the day's file
        env.setenv("CARESHARE_LANDING_URI", str(landing))
        env.setenv("CARESHARE_FRESHNESS_LOOKBACK_DAYS", "2")
        pointing = point_tasks_at(warehouse, s3_client, home)
        buckets = next(pointing)
        feed_run = runner.run("careshare_ct_care_homes", DAY)
        feed_alerts = (list(webhook.received), list(mailbox.messages))
        webhook.received.clear()
        mailbox.messages.clear()
        as_of = pendulum.datetime(2020, 11, 3, 13, 0, tz="Europe/London")  # past the 12:00 deadline for 2 Nov
        freshness_run = runner.dag("careshare_freshness").test(logical_date=as_of)
        yield {
            "feed_run": feed_run,
            "feed_alerts": feed_alerts,
            "freshness_run": freshness_run,
            "freshness_alerts": (list(webhook.received), list(mailbox.messages)),
            "buckets": buckets,
        }
        pointing.close()


def test_a_failed_quality_gate_posts_one_alert_to_the_webhook(runs):
    posted, _ = runs["feed_alerts"]
    assert str(runs["feed_run"].state) == "failed"
    assert len(posted) == 1
    assert (posted[0]["path"], posted[0]["content_type"]) == ("/hooks/careshare", "application/json")
    alert = posted[0]["body"]
    assert alert["event"] == "task_failed"
    assert (alert["dag_id"], alert["task_id"], alert["report_date"]) == (
        "careshare_ct_care_homes",
        "quality_gate",
        "2020-11-02",
    )
    assert alert["run_id"] == runs["feed_run"].run_id
    assert alert["error"].startswith("AirflowFailException: ct_care_homes 2020-11-02")
    assert "[rule file.no_rows]" in alert["error"]
    assert "/dags/careshare_ct_care_homes/runs/" in alert["log_url"]
    assert alert["log_url"].endswith("/tasks/quality_gate?try_number=1")
    report = f"/{runs['buckets']['quality']}/reports/report_date=2020-11-02/index.html"
    assert alert["quality_report_url"].endswith(report)
    assert alert["text"] == "careshare: careshare_ct_care_homes.quality_gate failed for 2020-11-02"


def test_the_same_alert_is_mailed_to_every_recipient(runs):
    _, mailed = runs["feed_alerts"]
    assert len(mailed) == 1
    to, message = mailed[0]
    assert sorted(to) == sorted(RECIPIENTS)
    assert message["Subject"] == "careshare: careshare_ct_care_homes.quality_gate failed for 2020-11-02"
    assert message["From"] == "careshare@example.org"
    body = next(part for part in message.walk() if part.get_content_type() == "text/html").get_payload(decode=True)
    text = body.decode()
    assert "rule file.no_rows" in text and "quality_gate" in text
    assert f"{runs['buckets']['quality']}/reports/report_date=2020-11-02/index.html" in text


def test_the_freshness_check_alerts_once_per_late_date_naming_only_feeds_due(runs):
    posted, mailed = runs["freshness_alerts"]
    assert str(runs["freshness_run"].state) == "failed"
    by_date = {alert["body"]["report_date"]: alert["body"] for alert in posted}
    assert set(by_date) == {"2020-11-01", "2020-11-02"}  # the look-back is two dates
    for alert in by_date.values():
        assert (alert["dag_id"], alert["task_id"]) == ("careshare_freshness", "check_arrivals")
    # Sunday: CT care homes is due every day, CQC's form is weekdays only; CT home care opens on 30 Nov.
    assert "from ct_care_homes (due by 2020-11-02 12:00 UK time)" in by_date["2020-11-01"]["error"]
    # Monday: the CT file came (and was rejected: that is the quality gate's alert); CQC's did not.
    assert "from cqc_update (due by 2020-11-03 12:00 UK time)" in by_date["2020-11-02"]["error"]
    assert len(mailed) == 2
