"""Worker processes killed at every stage boundary, and two workers on the same date at once.

Each run is a real `careshare run day` process (tests/integration/day_process.py, forked from a
server that has imported the command line and GX once) fetching from the HTTP simulator, writing to
the moto S3 endpoint and a warehouse file or database. After a crash, what a reader can
see holds no partial day; a rerun then leaves the publication, the warehouse and the registry equal
to those of a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from careshare.storage import open_store
from careshare_sim import MessRates, SimulatorServer, World
from tests.conftest import (
    BACKENDS,
    REFERENCE_CSV,
    REPO_ROOT,
    S3_REGION,
    create_buckets,
    drop_postgres_database,
    new_postgres_database,
)
from tests.integration.day_process import CRASH_POINTS
from tests.integration.merge_support import load_reference, local_platform, reader_objects

pytestmark = pytest.mark.slow

DAY = date(2020, 12, 1)  # the overlap: all three feeds
FEEDS_KEY = "crash-feeds-key"
RUN_TIMEOUT = 600  # seconds a request's workers may take
# what differs between two runs of the same inputs by nature: clocks and run tokens
VOLATILE_COLUMNS = re.compile(r"(_at|_seconds|run_id|received|duration)$")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")  # in texts: a release reason's "received ..."
WAREHOUSE_TABLES = (
    "raw_delivery",
    "feed_day",
    "stg_submission",
    "quarantine_row",
    "superseded_row",
    "location_daily",
    "daily_rollup",
    "publish_release",
)


@pytest.fixture(scope="module")
def world(councils) -> World:
    return World(21, 120, 80, councils, date(2024, 6, 30), mess=MessRates())


@pytest.fixture(scope="module")
def simulator(world):
    with SimulatorServer(world, FEEDS_KEY, "unused-directory-key") as server:
        yield server


class Workers:
    """The day-process server: `run` forks one worker process per request, all at once, and
    returns each one's exit code and output once all have ended."""

    def __init__(self, outputs: Path) -> None:
        self.outputs = outputs
        self.server = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.day_process", "serve"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, *runs: tuple[dict[str, str], str | None]) -> list[tuple[int, str]]:
        files = [self.outputs / f"run-{uuid.uuid4().hex[:8]}.log" for _ in runs]
        request = [
            {"day": DAY.isoformat(), "crash": crash, "env": env, "output": str(file)}
            for (env, crash), file in zip(runs, files, strict=True)
        ]
        assert self.server.stdin and self.server.stdout
        self.server.stdin.write(json.dumps({"runs": request}) + "\n")
        self.server.stdin.flush()
        ready, _, _ = select.select([self.server.stdout], [], [], RUN_TIMEOUT)
        if not ready:
            self.server.kill()
            raise AssertionError(f"no answer from the day-process server in {RUN_TIMEOUT} s: {files}")
        answer = self.server.stdout.readline()
        if not answer:
            raise AssertionError(f"the day-process server ended (exit {self.server.wait(timeout=10)})")
        codes = json.loads(answer)["returncodes"]
        return [(code, file.read_text(errors="replace")) for code, file in zip(codes, files, strict=True)]

    def stop(self) -> None:
        assert self.server.stdin
        self.server.stdin.close()
        self.server.wait(timeout=60)


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    server = Workers(tmp_path_factory.mktemp("day-processes"))
    yield server
    server.stop()


class Deployment:
    """A warehouse and three buckets of their own, with the councils and the directory loaded."""

    def __init__(self, workers: Workers, warehouse_url: str, s3_client, s3_endpoint: str, simulator, world, home: Path):
        suffix = uuid.uuid4().hex[:10]
        self.buckets = {kind: f"careshare-crash-{kind}-{suffix}" for kind in ("raw", "published", "quality")}
        create_buckets(s3_client, *self.buckets.values())
        self.workers, self.s3_client, self.warehouse_url = workers, s3_client, warehouse_url
        self.environment = {
            **os.environ,
            "CARESHARE_HOME": str(home),
            "CARESHARE_WAREHOUSE_URL": warehouse_url,
            "CARESHARE_RAW_ARCHIVE_URI": f"s3://{self.buckets['raw']}",
            "CARESHARE_PUBLISH_URI": f"s3://{self.buckets['published']}",
            "CARESHARE_QUALITY_URI": f"s3://{self.buckets['quality']}",
            "CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV),
            "CARESHARE_S3_ENDPOINT_URL": s3_endpoint,
            "AWS_DEFAULT_REGION": S3_REGION,
            "CARESHARE_FEEDS_URL": simulator.base_url,
            "CARESHARE_FEEDS_KEY": FEEDS_KEY,
        }
        reference = local_platform(warehouse_url, home)
        load_reference(reference, world)
        reference.warehouse.engine.dispose()

    def run(self, crash: str | None = None) -> int:
        [(code, output)] = self.workers.run((self.environment, crash))
        if code not in (0, -signal.SIGKILL):
            raise AssertionError(output[-3000:])
        return code

    def run_together(self, count: int) -> list[tuple[int, str]]:
        """`count` workers on the day at the same time."""
        return self.workers.run(*[(self.environment, None)] * count)

    def published(self) -> dict[str, bytes]:
        return reader_objects(open_store(f"s3://{self.buckets['published']}", self.s3_client))

    def warehouse(self) -> dict[str, pd.DataFrame]:
        engine = sa.create_engine(self.warehouse_url)
        try:
            with engine.connect() as connection:
                tables = {}
                for name in WAREHOUSE_TABLES:
                    frame = pd.read_sql_query(sa.text(f"SELECT * FROM {name}"), connection)
                    kept = [c for c in frame.columns if not VOLATILE_COLUMNS.search(c)]
                    frame = (
                        frame[kept]
                        .astype("str")
                        .apply(lambda column: column.str.replace(INSTANT, "<instant>", regex=True))
                    )
                    for kind, bucket in self.buckets.items():
                        frame = frame.apply(lambda column, b=bucket, k=kind: column.str.replace(b, f"<{k}>"))
                    tables[name] = frame.sort_values(kept, ignore_index=True)
                return tables
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    """Each crash runs on SQLite (the embedded default) and PostgreSQL (production)."""
    return request.param


@pytest.fixture(scope="module")
def databases(request):
    """Warehouse URLs on `backend`, each a fresh database, dropped when the module ends."""
    made: list[str] = []

    def make(backend: str, home: Path) -> str:
        if backend == "sqlite":
            return f"sqlite:///{home / 'warehouse.db'}"
        made.append(new_postgres_database(request.getfixturevalue("postgres_admin")))
        return made[-1]

    yield make
    for url in made:
        drop_postgres_database(request.getfixturevalue("postgres_admin"), url)


@pytest.fixture
def deploy(workers, backend, databases, tmp_path, s3_client, s3_endpoint, simulator, world):
    def make() -> Deployment:
        home = tmp_path / f"home-{uuid.uuid4().hex[:6]}"
        home.mkdir()
        return Deployment(workers, databases(backend, home), s3_client, s3_endpoint, simulator, world, home)

    return make


@pytest.fixture(scope="module")
def uninterrupted(workers, backend, databases, tmp_path_factory, s3_client, s3_endpoint, simulator, world):
    """The state a run that was never interrupted leaves, on the backend under test."""
    home = tmp_path_factory.mktemp(f"uninterrupted-{backend}")
    deployment = Deployment(workers, databases(backend, home), s3_client, s3_endpoint, simulator, world, home)
    assert deployment.run() == 0
    return deployment.published(), deployment.warehouse()


def day_manifests(published: dict[str, bytes]) -> list[str]:
    return sorted(
        key for key in published if key.startswith("_manifests/") and re.search(rf"report_date={DAY}/v\d+\.json$", key)
    )


def day_in_reader_view(published: dict[str, bytes]) -> list[str]:
    """Files a hive reader discovers for the day (readers skip `_`-prefixed paths: release files
    are uploaded under `_releases/` before the commit that names them)."""
    return [
        key
        for key in published
        if f"report_date={DAY}" in key and not any(part.startswith("_") for part in key.split("/"))
    ]


def assert_same_state(deployment: Deployment, expected) -> None:
    published, warehouse = expected
    after = deployment.published()
    assert sorted(after) == sorted(published)
    assert {k: v for k, v in after.items() if v != published[k]} == {}
    for name, frame in deployment.warehouse().items():
        pd.testing.assert_frame_equal(frame, warehouse[name], obj=name)


@pytest.mark.parametrize("crash", list(CRASH_POINTS))
def test_a_worker_killed_at_a_stage_boundary_leaves_no_partial_day_and_a_rerun_completes_it(
    deploy, uninterrupted, crash
):
    deployment = deploy()

    assert deployment.run(crash) == -signal.SIGKILL, "the worker died where it was told to"
    seen = deployment.published()
    if crash == "after manifest":
        committed = day_manifests(seen)
        assert committed == ["_manifests/location_daily/report_date=2020-12-01/v0001.json"]
        assert all(key in seen for key in referenced_files(seen[committed[0]])), "a commit names only written files"
    else:
        assert day_manifests(seen) == [] and day_in_reader_view(seen) == [], "nothing visible before the commit"

    assert deployment.run() == 0
    assert_same_state(deployment, uninterrupted)


def referenced_files(manifest: bytes) -> list[str]:
    return re.findall(r'"key": "([^"]+)"', manifest.decode())


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_workers_on_the_same_date_commit_one_release_and_no_duplicate_rows(deploy, uninterrupted):
    deployment = deploy()

    runs = deployment.run_together(2)
    assert [code for code, _ in runs] == [0, 0], [output for _, output in runs]

    published, warehouse = deployment.published(), deployment.warehouse()
    assert [key.rsplit("/", 1)[1] for key in day_manifests(published)] == ["v0001.json"] * 3
    assert published == uninterrupted[0]
    assert not warehouse["location_daily"].duplicated(["report_date", "location_id"]).any()
    assert not warehouse["stg_submission"].duplicated(["feed", "report_date", "source_row"]).any()
    assert {name: len(frame) for name, frame in warehouse.items()} == {
        name: len(frame) for name, frame in uninterrupted[1].items()
    }
