"""
### careshare_freshness

**Purpose.** Say when a feed file that should have arrived has not. Each report date's files are
due by the freshness deadline on the next day (UK time); the check looks at the report dates
whose deadline has passed (the last few, `lookback_days`) and, for each feed collected on that
date, at the delivery registry (`raw_delivery`). Days a feed is not collected (CQC weekends,
before `ct_home_care` opened, after the CQC form closed) are never late.

**Schedule.** Daily at the deadline, `CARESHARE_FRESHNESS_DEADLINE` (HH:MM, UK time, default
12:00), read when the DAG file is parsed (and again by the tasks); the look-back is
`CARESHARE_FRESHNESS_LOOKBACK_DAYS` (default 3). A manual run may set both as params; it checks
as of its logical date.

**Alerts.** `check_arrivals` runs once per due report date (the date is its map index) and fails,
without retries, naming the date, the missing feeds and when they were due: the failure goes
through the careshare alert connections like any other (`careshare_alerts_webhook`,
`careshare_alerts_smtp`). A file that arrives later clears the next run.

**Inputs.** The warehouse registry only (no connection to the sources).

**Owner.** careshare data engineering.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task
from airflow.timetables.trigger import CronTriggerTimetable

from careshare.freshness import FreshnessPolicy
from careshare_airflow.runtime import UK, default_args


@dag(
    dag_id="careshare_freshness",
    description="Alert when a feed file due by the freshness deadline has not arrived",
    doc_md=__doc__,
    schedule=CronTriggerTimetable(FreshnessPolicy.from_env().cron(), timezone=UK),
    start_date=datetime(2020, 4, 13),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={
        "deadline": Param(None, type=["null", "string"], pattern=r"^\d{1,2}:\d{2}$", description="HH:MM, UK time"),
        "lookback_days": Param(None, type=["null", "integer"], minimum=1, description="report dates to check"),
    },
    tags=["careshare", "freshness"],
)
def careshare_freshness():
    @task
    def due_report_dates(**context) -> list[str]:
        from careshare.freshness import due_dates

        params = context["params"]
        policy = FreshnessPolicy.from_env().overridden(params.get("deadline"), params.get("lookback_days"))
        as_of = context.get("logical_date") or context["dag_run"].run_after  # a manual run may have none
        return [day.isoformat() for day in due_dates(as_of, policy)]

    @task(map_index_template="{{ task.op_kwargs['report_date'] }}")
    def check_arrivals(report_date: str, **context) -> list[str]:
        from datetime import date

        from airflow.sdk.exceptions import AirflowFailException

        from careshare.freshness import expected_feeds, late_message, missing_feeds
        from careshare_airflow.runtime import platform

        day = date.fromisoformat(report_date)
        missing = missing_feeds(platform(), day)
        if missing:
            policy = FreshnessPolicy.from_env().overridden(context["params"].get("deadline"))
            raise AirflowFailException(late_message(day, missing, policy))
        return expected_feeds(day)

    check_arrivals.expand(report_date=due_report_dates())


careshare_freshness()
