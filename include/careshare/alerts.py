"""What an operator is told when a run fails: one alert, rendered as JSON (webhook) and as email.

Built from plain values so it can be tested and reused without Airflow; the Airflow notifier
(plugins/careshare_airflow/alerts.py) fills it from a task's context and sends it.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

ERROR_LIMIT = 4000  # a traceback-sized error is cut: the log link has the rest


@dataclass(frozen=True)
class Alert:
    dag_id: str
    task_id: str
    run_id: str
    report_date: date | None
    error: str
    log_url: str
    quality_report_url: str | None
    try_number: int | None = None

    @property
    def title(self) -> str:
        day = self.report_date.isoformat() if self.report_date else "no report date"
        return f"careshare: {self.dag_id}.{self.task_id} failed for {day}"

    def payload(self) -> dict[str, Any]:
        """The webhook body: flat, stable keys a chat tool or an incident system can map."""
        return {
            **asdict(self),
            "event": "task_failed",
            "text": self.title,
            "report_date": self.report_date.isoformat() if self.report_date else None,
            "error": _cut(self.error),
        }

    def email_html(self) -> str:
        rows = [
            ("DAG", self.dag_id),
            ("Task", self.task_id),
            ("Run", self.run_id),
            ("Report date", self.report_date.isoformat() if self.report_date else "-"),
            ("Try", str(self.try_number or "-")),
        ]
        table = "".join(f"<tr><th align='left'>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        links = [f"<a href='{html.escape(self.log_url)}'>Task log</a>"]
        if self.quality_report_url:
            links.append(f"<a href='{html.escape(self.quality_report_url)}'>Quality report</a>")
        return (
            f"<p>{html.escape(self.title)}</p><table>{table}</table>"
            f"<pre>{html.escape(_cut(self.error))}</pre><p>{' | '.join(links)}</p>"
        )


def _cut(text: str) -> str:
    return text if len(text) <= ERROR_LIMIT else text[:ERROR_LIMIT] + " [cut; see the task log]"


def recipients(value: str | list[str] | None) -> list[str]:
    """Addresses from a connection extra: a list, or one string separated by commas or semicolons."""
    if not value:
        return []
    items = value if isinstance(value, list) else value.replace(";", ",").split(",")
    return [item.strip() for item in items if item.strip()]
