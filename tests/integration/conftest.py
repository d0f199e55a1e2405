"""Airflow for the integration suites: configured here, before anything imports Airflow, with its
metadata on SQLite in a temporary home; the DAGs run in-process with dag.test()."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from careshare_dev.embedded import (
    Endpoints,
    airflow_settings,
    connection_environment,
    migrate_airflow_db,
)
from careshare_sim import SimulatorServer, World, some_councils
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "plugins"))

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="careshare-airflow-"))
os.environ.update(airflow_settings(AIRFLOW_HOME))

from tests.conftest import REFERENCE_CSV, S3_REGION, create_buckets, migrate_warehouse  # noqa: E402

FEEDS_KEY = "feeds-test-key"
DIRECTORY_KEY = "directory-test-key"


@dataclass
class Stack:
    world: World
    simulator: SimulatorServer
    endpoints: Endpoints
    airflow_home: Path


# A small world's councils: one of each kind (unitary, metropolitan, London borough, county), names
# with punctuation, and councils formed since 2020 (North and West Northamptonshire in 2021,
# Cumberland and North Yorkshire in 2023) with the councils they replace. A publication then has a
# dozen council prefixes, not 150; national scale is the national suites' and the benchmark's.
SMALL_WORLD_COUNCILS = (
    "Hartlepool",
    "Bristol, City of",
    "Brighton and Hove",
    "Leeds",
    "St. Helens",
    "Westminster",
    "Kent",
    "North Northamptonshire",
    "West Northamptonshire",
    "Cumberland",
    "North Yorkshire",
)


@pytest.fixture(scope="session")
def councils(local_authorities):
    """The councils of the integration suites' small worlds (SMALL_WORLD_COUNCILS)."""
    return some_councils(local_authorities, *SMALL_WORLD_COUNCILS)


@pytest.fixture(scope="session")
def sources(s3_endpoint, councils) -> Iterator[tuple[World, SimulatorServer, Endpoints]]:
    """The feed simulator serving a small world, and every endpoint the DAGs' connections name."""
    yield from simulate(World(11, 600, 400, councils, date(2024, 6, 30)), s3_endpoint)


def simulate(world: World, s3_endpoint: str) -> Iterator[tuple[World, SimulatorServer, Endpoints]]:
    simulator = SimulatorServer(world, FEEDS_KEY, DIRECTORY_KEY)
    simulator.start()
    endpoints = Endpoints(
        s3_url=s3_endpoint,
        s3_region=S3_REGION,
        feeds_url=simulator.base_url,
        feeds_key=FEEDS_KEY,
        directory_url=simulator.base_url,
        directory_key=DIRECTORY_KEY,
    )
    yield world, simulator, endpoints
    simulator.stop()


@pytest.fixture(scope="session")
def stack(sources):
    world, simulator, endpoints = sources
    os.environ.update(connection_environment(endpoints))
    os.environ["CARESHARE_REFERENCE_CSV"] = str(REFERENCE_CSV)
    migrate_airflow_db(airflow_settings(AIRFLOW_HOME))
    return Stack(world, simulator, endpoints, AIRFLOW_HOME)


def point_tasks_at(warehouse_url: str, s3_client, home: Path) -> Iterator[dict[str, str]]:
    """Point the DAGs' tasks at `warehouse_url` and fresh buckets; yields the bucket names."""
    suffix = uuid.uuid4().hex[:8]
    names = {kind: f"careshare-it-{kind}-{suffix}" for kind in ("raw", "published", "quality")}
    create_buckets(s3_client, *names.values())
    migrate_warehouse(warehouse_url)  # a deployment's step (careshare db migrate); tasks never migrate
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARESHARE_HOME", str(home))
        patch.setenv("CARESHARE_WAREHOUSE_URL", warehouse_url)
        patch.setenv("CARESHARE_RAW_ARCHIVE_URI", f"s3://{names['raw']}")
        patch.setenv("CARESHARE_PUBLISH_URI", f"s3://{names['published']}")
        patch.setenv("CARESHARE_QUALITY_URI", f"s3://{names['quality']}")
        yield names


@pytest.fixture
def careshare_env(stack, warehouse_url, s3_client, tmp_path):
    """A fresh warehouse (each backend) and buckets for one test."""
    yield from point_tasks_at(warehouse_url, s3_client, tmp_path)


@pytest.fixture(scope="module")
def module_careshare_env(stack, module_warehouse_url, s3_client, tmp_path_factory):
    """A fresh warehouse (each backend) and buckets shared by one module's tests."""
    yield from point_tasks_at(module_warehouse_url, s3_client, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def runner(stack):
    from careshare_dev.embedded import DagRunner

    return DagRunner()


def xcom(run, task_id: str, key: str, map_index: int = -1):
    """An XCom of a finished dag.test run's task (None when it pushed none)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                key=key, run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, map_indexes=map_index
            ).with_only_columns(XComModel.value)
        ).first()
    return None if row is None else XComModel.deserialize_value(row)
