"""The alert's two renderings: the webhook JSON and the email."""

from datetime import date

from careshare.alerts import ERROR_LIMIT, Alert, recipients


def alert(**changes) -> Alert:
    values = {
        "dag_id": "careshare_publish",
        "task_id": "check_published",
        "run_id": "asset_triggered__2020-12-01T06:10:00+00:00",
        "report_date": date(2020, 12, 1),
        "error": "AirflowFailException: location_daily: expect_column_values_to_not_be_null failed",
        "log_url": "http://airflow.internal/dags/careshare_publish/runs/x/tasks/check_published/mapped/0",
        "quality_report_url": "https://quality.example.org/reports/report_date=2020-12-01/index.html",
        "try_number": 1,
    }
    return Alert(**(values | changes))


def test_the_payload_carries_every_field_an_operator_needs_as_plain_json_values():
    payload = alert().payload()
    assert payload == {
        "event": "task_failed",
        "text": "careshare: careshare_publish.check_published failed for 2020-12-01",
        "dag_id": "careshare_publish",
        "task_id": "check_published",
        "run_id": "asset_triggered__2020-12-01T06:10:00+00:00",
        "report_date": "2020-12-01",
        "error": "AirflowFailException: location_daily: expect_column_values_to_not_be_null failed",
        "log_url": "http://airflow.internal/dags/careshare_publish/runs/x/tasks/check_published/mapped/0",
        "quality_report_url": "https://quality.example.org/reports/report_date=2020-12-01/index.html",
        "try_number": 1,
    }


def test_a_run_without_a_report_date_says_so_and_has_no_report_link():
    undated = alert(report_date=None, quality_report_url=None)
    assert undated.title == "careshare: careshare_publish.check_published failed for no report date"
    assert undated.payload()["report_date"] is None
    assert "Quality report" not in undated.email_html()


def test_a_long_error_is_cut_and_points_at_the_log():
    payload = alert(error="x" * (ERROR_LIMIT + 500)).payload()
    assert len(payload["error"]) < ERROR_LIMIT + 50
    assert payload["error"].endswith("[cut; see the task log]")


def test_the_email_escapes_what_the_error_and_names_contain():
    page = alert(error="rule <script>alert(1)</script> & more").email_html()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "<a href='https://quality.example.org/reports/report_date=2020-12-01/index.html'>Quality report</a>" in page
    assert "<td>2020-12-01</td>" in page and "<td>check_published</td>" in page


def test_recipients_come_as_a_list_or_a_separated_string():
    assert recipients("a@x.org, b@x.org;c@x.org ,") == ["a@x.org", "b@x.org", "c@x.org"]
    assert recipients(["a@x.org", " b@x.org "]) == ["a@x.org", "b@x.org"]
    assert recipients(None) == [] and recipients("") == []
