"""Failure alerts for every careshare task: a webhook (JSON POST) and an email, each switched on by
its Airflow connection and off while that connection does not exist.

`careshare_alerts_webhook` (type http): host = the full URL to POST to; extra = headers to add.
`careshare_alerts_smtp` (type smtp): the SMTP server as SmtpHook reads it (host, port, login,
password, extra `from_email`, `disable_tls`, `disable_ssl`) plus extra `to`, the recipients.

`default_args` puts one `CareshareAlerts` on every task's `on_failure_callback`. Imported at parse
time: heavy imports stay inside the methods, and nothing is looked up until a task fails.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from careshare.alerts import Alert

WEBHOOK_CONN_ID = "careshare_alerts_webhook"
SMTP_CONN_ID = "careshare_alerts_smtp"
WEBHOOK_TIMEOUT_SECONDS = 10


class CareshareAlerts(BaseNotifier):
    """Send the failure alert through every alert connection that exists; a channel that fails is
    logged and does not stop the others."""

    def notify(self, context: Any) -> None:
        alert = alert_from_context(context)
        for channel in (self._webhook, self._email):
            try:
                channel(alert)
            except Exception:
                self.log.exception("careshare alert not sent through %s", channel.__name__)

    def _webhook(self, alert: Alert) -> None:
        if _connection(WEBHOOK_CONN_ID) is None:
            return
        from airflow.providers.http.hooks.http import HttpHook

        HttpHook(method="POST", http_conn_id=WEBHOOK_CONN_ID).run(
            json=alert.payload(), extra_options={"timeout": WEBHOOK_TIMEOUT_SECONDS}
        )
        self.log.info("careshare alert posted to the %s webhook", WEBHOOK_CONN_ID)

    def _email(self, alert: Alert) -> None:
        conn = _connection(SMTP_CONN_ID)
        if conn is None:
            return
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        from careshare.alerts import recipients

        to = recipients(conn.extra_dejson.get("to"))
        if not to:
            raise ValueError(f"connection {SMTP_CONN_ID} has no recipients: set extra 'to'")
        with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as smtp:
            smtp.send_email_smtp(to=to, subject=alert.title, html_content=alert.email_html())
        self.log.info("careshare alert mailed to %d recipients", len(to))


def _connection(conn_id: str):
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def alert_from_context(context: Any) -> Alert:
    from careshare.alerts import Alert

    ti = context["ti"]
    day = alert_report_date(context)
    return Alert(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        report_date=day,
        error=_error_text(context.get("exception")),
        log_url=ti.log_url,
        quality_report_url=_quality_link(day),
        try_number=ti.try_number,
    )


def alert_report_date(context: Any) -> date | None:
    """The report date the failed task worked on.

    A task mapped over report dates names its date in its map index (the publish DAG, the
    freshness check); a manual publish run has the `report_date` param; otherwise the run's
    logical date in UK time (the feed and reference DAGs). An asset-triggered run's unmapped task
    has none.
    """
    for candidate in (getattr(context["ti"], "rendered_map_index", None), context.get("params", {}).get("report_date")):
        with contextlib.suppress(TypeError, ValueError):
            return date.fromisoformat(candidate)
    if context.get("logical_date") is None:
        return None
    from careshare_airflow.runtime import report_date

    return report_date(context)


def _error_text(error: BaseException | str | None) -> str:
    if error is None:
        return "the task failed without an exception (killed, timed out or marked failed)"
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return str(error)


def _quality_link(day: date | None) -> str | None:
    if day is None:
        return None
    from careshare_airflow.quality import quality_report_link

    try:
        return quality_report_link(day)
    except Exception:  # the alert matters more than its link
        return None
