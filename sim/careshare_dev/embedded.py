"""Run the real DAGs in-process (`dag.test`) on the embedded default: the demo and the
integration tests share this, so what the tests prove is what the demo runs.

Apply `airflow_settings(...)` to os.environ before Airflow is first imported; connections
(`connection_environment`) are read when a task asks for them, so they may come later.

`dag.test()` runs each task in this process and writes no task log file: what the tasks log and
print goes to sys.stdout. `TaskLogFiles` files it as Airflow's task log handler would, one file per
task attempt under `[logging] base_log_folder` in the `log_filename_template` layout.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import pluggy

REPO_ROOT = Path(__file__).resolve().parents[2]
FEED_DAGS = ("careshare_ct_care_homes", "careshare_ct_home_care", "careshare_cqc_update")
airflow_listener = pluggy.HookimplMarker("airflow")  # airflow.listeners.hookimpl, without importing Airflow yet


@dataclass(frozen=True)
class Endpoints:
    s3_url: str
    s3_region: str
    feeds_url: str
    feeds_key: str
    directory_url: str
    directory_key: str


def airflow_settings(airflow_home: Path, log_folder: Path | None = None) -> dict[str, str]:
    """Airflow on SQLite in `airflow_home`, running the project's DAGs and plugins; task logs in
    `log_folder` (default: Airflow's, `airflow_home`/logs)."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(log_folder or airflow_home / "logs"),
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


class TaskLogFiles(io.TextIOBase):
    """sys.stdout for dag.test(), and an Airflow listener: while a task runs, what is written goes to
    that task attempt's log file; otherwise to `other` (Airflow's own lines between tasks).

    Make it sys.stdout before Airflow is first imported (Airflow's log handlers keep the stream they
    find), and hand it to DagRunner, which registers it for the task hooks. Threads (the endpoints,
    the runner's own) write too, so a lock keeps a line from landing in a file being closed.
    """

    encoding = "utf-8"

    def __init__(self, other: Path) -> None:
        other.parent.mkdir(parents=True, exist_ok=True)
        self.other = other
        self._other = other.open("a", encoding="utf-8", buffering=1)
        self._task: TextIO | None = None
        self._lock = threading.Lock()
        self.files: set[Path] = set()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            return (self._task or self._other).write(text)

    def flush(self) -> None:
        with self._lock:
            (self._task or self._other).flush()

    def close(self) -> None:
        super().close()  # flushes first
        self._end_task()
        self._other.close()

    @airflow_listener
    def on_task_instance_running(self, task_instance: Any) -> None:
        path = task_log_path(task_instance)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._end_task()
        with self._lock:
            self._task = path.open("a", encoding="utf-8", buffering=1)
        self.files.add(path)

    @airflow_listener
    def on_task_instance_success(self) -> None:
        self._end_task()

    @airflow_listener
    def on_task_instance_failed(self) -> None:
        self._end_task()

    @airflow_listener
    def on_task_instance_skipped(self) -> None:
        self._end_task()

    def _end_task(self) -> None:
        with self._lock:
            if self._task:
                self._task.close()
                self._task = None


def task_log_path(task_instance: Any) -> Path:
    """Where Airflow's file task handler keeps the log of this attempt."""
    from airflow.configuration import conf
    from jinja2 import Template

    template = Template(conf.get("logging", "log_filename_template"))
    name = template.render(ti=task_instance, try_number=task_instance.try_number)
    return Path(conf.get("logging", "base_log_folder")) / name


@dataclass(frozen=True)
class FinishedRun:
    dag_id: str
    day: date
    run_id: str
    state: str
    seconds: float


class DagRunner:
    """dag.test() for the project's DAGs; raises nothing, returns the finished runs."""

    def __init__(self, task_logs: TaskLogFiles | None = None) -> None:
        from airflow.dag_processing.dagbag import DagBag
        from airflow.sdk.listener import get_listener_manager

        if task_logs:
            get_listener_manager().add_listener(task_logs)

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

    def timed(self, dag_id: str, day: date, conf: dict[str, Any] | None = None) -> FinishedRun:
        started = time.perf_counter()
        run = self.run(dag_id, day, conf)
        return FinishedRun(dag_id, day, run.run_id, str(run.state), time.perf_counter() - started)

    def reference(self, day: date):
        return self.run("careshare_reference", day)

    def report_date_runs(self, days: Iterable[date]) -> Iterator[FinishedRun]:
        """Every feed DAG, then the publish DAG, for each date, each run as it finishes."""
        for day in days:
            for dag_id in FEED_DAGS:
                yield self.timed(dag_id, day)
            yield self.timed("careshare_publish", day, {"report_date": day.isoformat()})

    def report_dates(self, days: Iterable[date]) -> list[tuple[str, date, str]]:
        """(dag_id, date, state) of every run of `report_date_runs`."""
        return [(run.dag_id, run.day, run.state) for run in self.report_date_runs(days)]


def date_range(first: date, last: date) -> list[date]:
    return [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)]
