"""A real multi-process Airflow on this machine: CeleryExecutor, metadata on PostgreSQL, Redis as
broker, and api-server, scheduler, dag-processor and Celery workers as separate process groups.

Configuration is the environment only (AIRFLOW__SECTION__KEY), the same names the
docker-compose stack sets, so this is the production topology on one host. The Celery suite
(tests/integration/test_celery_backfill.py) and the benchmark's latency figure run it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
import sqlalchemy as sa

from careshare_dev.embedded import REPO_ROOT

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
WORKER_NAME_ENV = "CARESHARE_TEST_CELERY_WORKER"


def worker_hostname() -> str:
    """`[core] hostname_callable` for the workers: both run on one host, so each task instance
    records the name of the worker that ran it instead of the (shared) machine name."""
    return os.environ[WORKER_NAME_ENV]


def feed_logical_date(day: date) -> str:
    """The feed DAGs' logical date for a report date: 06:00 UK time (UTC in winter)."""
    return datetime(day.year, day.month, day.day, 6, tzinfo=ZoneInfo("Europe/London")).isoformat()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class AirflowCluster:
    home: Path
    metadata_url: str  # SQLAlchemy URL of a fresh, empty PostgreSQL database
    broker_url: str
    extra_env: dict[str, str]
    api_port: int = field(default_factory=free_port)
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # shared by every component
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def environment(self) -> dict[str, str]:
        metadata = sa.engine.make_url(self.metadata_url).render_as_string(hide_password=False)
        return {
            **os.environ,
            **self.extra_env,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata,  # psycopg 3 is async too; no asyncpg
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "careshare_airflow.celery_config.CELERY_CONFIG",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }

    def airflow(self, *args: str, timeout: float = 120) -> str:
        """Run one Airflow CLI command against the cluster and return its output."""
        done = subprocess.run(
            [AIRFLOW, *args], env=self.environment(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        log = (self.home / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            [AIRFLOW, *args],
            env={**self.environment(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its children too
        )
        log.close()

    def start_components(self, workers: int, concurrency: int) -> None:
        self.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1")
        self.start("scheduler", "scheduler")
        self.start("dag-processor", "dag-processor")
        for number in range(1, workers + 1):
            name = f"worker{number}"
            self.start(
                name,
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@%h",
                "--concurrency",
                str(concurrency),
                "--skip-serve-logs",  # two workers on one host would both want the log port
                "--without-gossip",
                "--without-mingle",
                env={
                    WORKER_NAME_ENV: name,
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
                },
            )

    def check_running(self) -> None:
        exited = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if exited:
            raise RuntimeError(f"Airflow processes exited: {exited}\n{self.log_tails()}")

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float, every: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_running()
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tails()}")

    def api_ready(self) -> bool:
        try:
            return requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).ok
        except requests.RequestException:  # not listening yet, or still starting
            return False

    def dags_parsed(self, dag_ids: Iterable[str]) -> bool:
        rows = self.query("SELECT dag_id FROM serialized_dag")
        return set(dag_ids) <= {row.dag_id for row in rows}

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = sa.create_engine(self.metadata_url, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            rows = connection.execute(sa.text(sql), params).fetchall()
        engine.dispose()
        return list(rows)

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL whatever is left after a grace period."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)
            process.wait()

    def log_tails(self, lines: int = 25) -> str:
        tails = []
        for name in self.processes:
            text = (self.home / f"{name}.log").read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(tails)


def _signal_group(process: subprocess.Popen, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, number)
