"""The daily quality report in Airflow: an extra link on the tasks that build or enforce it,
and `quality_report_link(report_date)`, the report's URL for alerts and notifiers.

`@quality_task` is `@task` whose operator carries the "Quality report" link. Airflow 3 resolves an
operator's links in the worker when the task ends (success or failure) and keeps them as XComs, so
the task announces the URL first (`announce_report`) and the link reads it back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk import BaseOperatorLink
from airflow.sdk.bases.decorator import task_decorator_factory

REPORT_URL_XCOM = "quality_report_url"


class QualityReportLink(BaseOperatorLink):
    name = "Quality report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        url = ti_key.xcom_pull(task_ids=ti_key.task_id, key=REPORT_URL_XCOM, map_indexes=ti_key.map_index)
        return url or ""


class QualityReportOperator(_PythonDecoratedOperator):
    operator_extra_links = (QualityReportLink(),)
    custom_operator_name = "@quality_task"


def quality_task(python_callable: Any = None, **kwargs: Any) -> Any:
    """`@task` with the "Quality report" extra link."""
    return task_decorator_factory(
        python_callable=python_callable, decorated_operator_class=QualityReportOperator, **kwargs
    )


def announce_report(context: Any, url: str) -> None:
    context["ti"].xcom_push(REPORT_URL_XCOM, url)
    print(f"Quality report: {url}")


def quality_report_link(report_date: date) -> str:
    """The URL of the daily quality report of `report_date` (for alert callbacks and notifiers).

    Uses `CARESHARE_QUALITY_BASE_URL` when set; otherwise the quality root's S3 address, with the
    endpoint and region of the `careshare_s3` connection.
    """
    from careshare.config import Settings
    from careshare.quality.links import quality_report_url

    settings = Settings.from_env()
    if settings.quality_base_url or not settings.quality_uri.startswith("s3://"):
        return quality_report_url(settings, report_date)
    from airflow.sdk import BaseHook

    from careshare_airflow.runtime import S3_CONN_ID

    extra = BaseHook.get_connection(S3_CONN_ID).extra_dejson
    return quality_report_url(
        settings, report_date, endpoint_url=extra.get("endpoint_url"), region=extra.get("region_name")
    )
