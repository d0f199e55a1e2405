"""Run the real DAGs in-process (`dag.test`) on the embedded default: the demo and the
integration tests share this, so what the tests prove is what the demo runs.

Apply `airflow_settings(...)` to os.environ before Airflow is first imported; connections
(`connection_environment`) are read when a task asks for them, so they may come later.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FEED_DAGS = ("careshare_ct_care_homes", "careshare_ct_home_care", "careshare_cqc_update")


@dataclass(frozen=True)
class Endpoints:
    s3_url: str
    s3_region: str
    feeds_url: str
    feeds_key: str
    directory_url: str
    directory_key: str


def airflow_settings(airflow_home: Path) -> dict[str, str]:
    """Airflow on SQLite in `airflow_home`, running the project's DAGs and plugins."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
    }


def connection_environment(endpoints: Endpoints) -> dict[str, str]:
    """The platform's three connections as AIRFLOW_CONN_* variables."""
    s3 = {
        "conn_type": "aws",
        "login": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "password": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "extra": {"endpoint_url": endpoints.s3_url, "region_name": endpoints.s3_region},
    }
    return {
        "AIRFLOW_CONN_CARESHARE_S3": json.dumps(s3),
        "AIRFLOW_CONN_CARESHARE_FEEDS": json.dumps(
            {"conn_type": "http", "host": endpoints.feeds_url, "password": endpoints.feeds_key}
        ),
        "AIRFLOW_CONN_CARESHARE_CQC_DIRECTORY": json.dumps(
            {"conn_type": "http", "host": endpoints.directory_url, "password": endpoints.directory_key}
        ),
    }


def migrate_airflow_db(env: dict[str, str]) -> None:
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


class DagRunner:
    """dag.test() for the project's DAGs; raises nothing, returns the finished runs."""

    def __init__(self) -> None:
        from airflow.dag_processing.dagbag import DagBag

        if str(REPO_ROOT / "plugins") not in sys.path:
            sys.path.insert(0, str(REPO_ROOT / "plugins"))
        self._bag = DagBag(dag_folder=str(REPO_ROOT / "dags"), bundle_path=REPO_ROOT / "dags")
        if self._bag.import_errors:
            raise RuntimeError(f"DAG import errors: {self._bag.import_errors}")

    def dag(self, dag_id: str):
        return self._bag.get_dag(dag_id)

    def run(self, dag_id: str, day: date, conf: dict[str, Any] | None = None):
        import pendulum

        dag = self.dag(dag_id)
        logical = pendulum.datetime(day.year, day.month, day.day, tz="Europe/London")
        return dag.test(logical_date=logical, run_conf=conf)

    def reference(self, day: date):
        return self.run("careshare_reference", day)

    def report_dates(self, days: Iterable[date]) -> list[tuple[str, date, str]]:
        """Every feed DAG, then the publish DAG, for each date; (dag_id, date, state) per run."""
        states = []
        for day in days:
            for dag_id in FEED_DAGS:
                states.append((dag_id, day, str(self.run(dag_id, day).state)))
            publish = self.run("careshare_publish", day, {"report_date": day.isoformat()})
            states.append(("careshare_publish", day, str(publish.state)))
        return states


def date_range(first: date, last: date) -> list[date]:
    return [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)]
