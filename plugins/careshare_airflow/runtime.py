"""Task-time helpers shared by the careshare DAGs: connections, the report date, default arguments.

Everything here is imported at DAG parse time, so heavy modules are imported inside functions.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from careshare_airflow.alerts import CareshareAlerts

if TYPE_CHECKING:
    from careshare.pipeline import FeedEndpoint
    from careshare.resources import Platform
    from careshare.sources.cqc_directory import DirectoryClient

FEEDS_CONN_ID = "careshare_feeds"
DIRECTORY_CONN_ID = "careshare_cqc_directory"
S3_CONN_ID = "careshare_s3"
OWNER = "careshare-data-engineering"
UK = "Europe/London"


def default_args(**overrides: Any) -> dict[str, Any]:
    """Every careshare task: the owner, retries with backoff, and the failure alerts (off until
    their connections exist, see alerts.py)."""
    return {
        "owner": OWNER,
        "on_failure_callback": [CareshareAlerts()],
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        **overrides,
    }


def report_date(context: Any) -> date:
    """The report date a run is for: its logical date in UK time.

    A scheduled or backfill run of the daily London-midnight timetable has the interval start
    as its logical date; a manual run (or dag.test) is for the logical date it was given.
    """
    local = context["logical_date"].in_timezone(UK)
    return date(local.year, local.month, local.day)  # a plain date: DB drivers do not know pendulum's


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def _base_url(conn) -> str:
    host = conn.host or ""
    if "://" not in host:
        host = f"{conn.schema or 'https'}://{host}"
    return f"{host}:{conn.port}" if conn.port else host


def _allows_insecure_http(conn) -> bool:
    """The connection's extra `{"allow_insecure_http": true}`: its key may go over plain http."""
    return conn.extra_dejson.get("allow_insecure_http") is True


def platform() -> Platform:
    from careshare.config import Settings
    from careshare.resources import Platform

    built = Platform.from_settings(Settings.from_env(), s3_client())
    built.warehouse.require_migrated()
    return built


def s3_client() -> Any:
    """The S3 client of the `careshare_s3` connection, one per process while the connection is
    unchanged: a new botocore client loads its service model again (about 0.3 s), and a process that
    runs several tasks (`dag.test` runs them all in one) would pay that in every task."""
    return _s3_client_for(_connection(S3_CONN_ID).get_uri())


@functools.lru_cache(maxsize=4)
def _s3_client_for(_connection_uri: str) -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=S3_CONN_ID).get_conn()


def feed_endpoint() -> FeedEndpoint:
    from careshare.pipeline import FeedEndpoint

    conn = _connection(FEEDS_CONN_ID)
    return FeedEndpoint(_base_url(conn), conn.password or "", allow_insecure_http=_allows_insecure_http(conn))


def directory_client() -> DirectoryClient:
    from careshare.sources.cqc_directory import DirectoryClient

    conn = _connection(DIRECTORY_CONN_ID)
    return DirectoryClient(_base_url(conn), conn.password or "", allow_insecure_http=_allows_insecure_http(conn))
