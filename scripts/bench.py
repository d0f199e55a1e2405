"""Benchmark: a national-scale report date through the package path, its floor, a backfill, the
same day through Airflow, then on the production topology the latency from a file appearing to its
date published and a backfill through `airflow backfill create`. Prints figures, each with its
target; asserts nothing about time.

    python scripts/bench.py [--day 2020-12-01] [--backfill-days 30] [--warehouse sqlite|postgresql]
                            [--skip-backfill] [--skip-airflow] [--skip-latency]
                            [--celery-backfill-days 60]

Stages (wall time and peak RSS, sampled every 10 ms): fetch (HTTP from the simulator, archive to
S3, registry), load (parse, conform, validate with GX, stage), merge (+ accounting check),
publish (Parquet per council to S3 + manifest), then what the DAGs (and `careshare run day`) also
run: the merge checks again, the published datasets' suites and the quality report. The floor
reads the same files with pyarrow and writes as many Parquet objects as the publication holds, the
same rows split across them, to the same endpoint, no logic, against fetch to publish. The same
day through Airflow is set against every stage. The S3 endpoint is moto's server in a process of
its own.

The production topology is the Celery stack of the Celery suite (careshare_dev.airflow_cluster:
api-server, scheduler, dag-processor, two Celery workers, metadata and warehouse on PostgreSQL,
Redis). Latency: the day's three feed runs are triggered with the care-homes file held back by the
simulator; once its fetch has gone back to waiting and the other feeds have settled, the file
appears (T0), and the figure is the time until every dataset of the date has a committed manifest,
against the fetch's polling interval plus 1.5 times the package path's time for the day. Then
every feed DAG is backfilled over the next `--celery-backfill-days` dates at once; each date's cost
is the time between its publication and the previous one's, against the package path's mean per
date over every stage (the package-path backfill's, or the national day's without the GX import
when that is skipped).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil

FEEDS = ("ct_care_homes", "ct_home_care", "cqc_update")
REGION = "eu-west-2"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    peak_rss_mib: float = 0.0


@dataclass
class Timer:
    stages: list[Stage] = field(default_factory=list)
    requests: int = 0  # S3 requests of the last publish stage

    @contextmanager
    def stage(self, name: str):
        process = psutil.Process()
        peak = [process.memory_info().rss]
        done = threading.Event()

        def sample():
            while not done.wait(0.01):
                peak[0] = max(peak[0], process.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            done.set()
            sampler.join()
            peak[0] = max(peak[0], process.memory_info().rss)
            self.stages.append(Stage(name, elapsed, peak[0] / 2**20))

    def total(self, prefix: str = "") -> float:
        return sum(s.seconds for s in self.stages if s.name.startswith(prefix))

    def print(self, title: str) -> None:
        print(f"\n{title}")
        print(f"  {'stage':<34} {'wall s':>8} {'peak RSS MiB':>13}")
        for s in self.stages:
            print(f"  {s.name:<34} {s.seconds:>8.2f} {s.peak_rss_mib:>13.0f}")
        print(f"  {'total':<34} {self.total():>8.2f} {max(s.peak_rss_mib for s in self.stages):>13.0f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2020, 12, 1))
    parser.add_argument("--backfill-days", type=int, default=30)
    parser.add_argument("--backfill-start", type=date.fromisoformat, default=date(2020, 11, 16))
    parser.add_argument("--warehouse", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--skip-airflow", action="store_true")
    parser.add_argument("--skip-latency", action="store_true", help="and the backfill through Celery")
    parser.add_argument(
        "--celery-backfill-days", type=int, default=60, help="report dates backfilled on the Celery stack (0: none)"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "careshare-bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "careshare-bench-secret")
    workdir = Path(tempfile.mkdtemp(prefix="careshare-bench-"))
    env = Environment.start(workdir, args.warehouse)
    try:
        print(f"careshare benchmark on {os.cpu_count()} cores; warehouse {args.warehouse}; working folder {workdir}")
        print(f"national world: {env.world_size()}")
        package_path = national_day(env, args.day)
        per_day = package_path.per_day
        if not args.skip_backfill:
            per_day = backfill(env, args.backfill_start, args.backfill_days)
        if not args.skip_airflow:
            through_airflow(env, args.day, workdir, package_path)
        if not args.skip_latency:
            celery_stack(env, args.day, workdir, package_path.publication, args.celery_backfill_days, per_day)
    finally:
        env.stop()
    return 0


class Environment:
    """A national simulator world served over HTTP, a moto S3 endpoint and a warehouse."""

    def __init__(self, workdir: Path, backend: str):
        from careshare.config import Settings
        from careshare.councils import load_local_authorities
        from careshare_sim import SimulatorServer, World

        self.workdir = workdir
        self.backend = backend
        self.moto, self.s3_url = start_s3_endpoint()
        authorities = load_local_authorities(Settings.from_env().reference_csv)
        self.world = World.national(2020, authorities, date(2024, 6, 30))
        self.simulator = SimulatorServer(self.world, "bench-feeds-key", "bench-directory-key")
        self.simulator.start()
        self._platforms = 0
        self.requests: Counter[str] = Counter()  # S3 requests by operation, from every client made here

    @classmethod
    def start(cls, workdir: Path, backend: str) -> Environment:
        return cls(workdir, backend)

    def world_size(self) -> str:
        truth = self.world.directory_truth()
        homes = sum(1 for d in truth if d["careHome"] == "Y")
        return f"{homes} care homes, {len(truth) - homes} other directory locations"

    def s3_client(self):
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3_url, region_name=REGION)
        client.meta.events.register("before-call.s3", lambda model, **_: self.requests.update([model.name]))
        return client

    def platform(self, backend: str | None = None, directory: bool = True):
        """A fresh warehouse (on `backend`, default the run's) and fresh buckets, migrated, with the
        councils and (unless `directory` is false) the CQC directory loaded."""
        from careshare.config import EXPECTATIONS_DIR, Settings
        from careshare.reference_load import load_directory, load_local_authority_reference
        from careshare.resources import Platform
        from careshare.sources.cqc_directory import DirectoryClient

        self._platforms += 1
        suffix = f"{os.getpid()}-{self._platforms}"
        client = self.s3_client()
        for kind in ("raw", "published", "quality"):
            client.create_bucket(
                Bucket=f"bench-{kind}-{suffix}", CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        settings = Settings.from_env()
        settings = Settings(
            home=self.workdir,
            warehouse_url=self._warehouse_url(suffix, backend or self.backend),
            raw_archive_uri=f"s3://bench-raw-{suffix}",
            publish_uri=f"s3://bench-published-{suffix}",
            quality_uri=f"s3://bench-quality-{suffix}",
            reference_csv=settings.reference_csv,
            expectations_dir=EXPECTATIONS_DIR,
        )
        platform = Platform.from_settings(settings, client)
        platform.warehouse.migrate()
        load_local_authority_reference(platform)
        if directory:
            client = DirectoryClient(self.simulator.base_url, "bench-directory-key")
            load_directory(platform, client, datetime.now(UTC))
        return platform

    def _warehouse_url(self, suffix: str, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.workdir / f'warehouse-{suffix}.db'}"
        return postgres_database(f"careshare_bench_{suffix.replace('-', '_')}")

    def warm(self, days: list[date]) -> None:
        """Render the simulator's files beforehand: the source system's cost is not ours."""
        for day in days:
            for feed in FEEDS:
                self.world.rendered(feed, day)

    def stop(self) -> None:
        self.simulator.stop()
        self.moto.terminate()
        try:
            self.moto.wait(10)
        except subprocess.TimeoutExpired:  # busy answering after a long run
            self.moto.kill()
            self.moto.wait(10)


def postgres_database(name: str) -> str:
    """A fresh, empty PostgreSQL database; its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)


def start_s3_endpoint() -> tuple[subprocess.Popen, str]:
    """moto's S3 server in a process of its own, like a remote endpoint: in this process it would
    take the interpreter lock from the pipeline it serves."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "careshare_dev.local_s3", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return server, url
        except OSError:
            time.sleep(0.05)
    server.terminate()
    raise RuntimeError(f"moto's S3 server did not start on port {port}")


def run_day(env: Environment, platform, day: date, timer: Timer, prefix: str = "") -> None:
    """The publication path: fetch, load, merge, publish."""
    from careshare.ingest import load_feed_day
    from careshare.merge import merge_day
    from careshare.pipeline import FeedEndpoint, fetch_feed_day
    from careshare.publish import publish_day
    from careshare.status import FetchStatus

    endpoint = FeedEndpoint(env.simulator.base_url, "bench-feeds-key")
    archived = []
    with timer.stage(f"{prefix}fetch + archive (3 feeds)"):
        for feed in FEEDS:
            if fetch_feed_day(platform, feed, day, endpoint=endpoint).status == FetchStatus.ARCHIVED:
                archived.append(feed)
    for feed in archived:
        with timer.stage(f"{prefix}load {feed}"):
            load_feed_day(platform, feed, day)
    with timer.stage(f"{prefix}merge + accounting"):
        merge_day(platform, day)
    env.requests.clear()
    with timer.stage(f"{prefix}publish"):
        publish_day(platform, day)
    timer.requests = sum(env.requests.values())


CHECK_STAGES = ("validate (merge checks again)", "check_published (dataset suites)", "quality report")


def run_checks(platform, day: date, timer: Timer) -> None:
    """What the DAGs (and `careshare run day`) do besides the publication path: the merge checks
    again, the published datasets' suites, the quality report with its Data Docs and quarantine."""
    from careshare.merge import validate_day
    from careshare.pipeline import check_publication
    from careshare.quality.publication import publish_quality

    validate, suites, report = CHECK_STAGES
    with timer.stage(validate):
        validate_day(platform, day)
    with timer.stage(suites):
        check_publication(platform, day)
    with timer.stage(report):
        publish_quality(platform, day, quarantine=True)


@dataclass(frozen=True)
class PackagePath:
    """The national day's wall times on the package path: `publication` (fetch to publish) and
    `every_stage` (what the DAGs and `careshare run day` run: the checks and the quality report
    too), each with the one-off GX import; `per_day`: every stage without it, a backfill's date."""

    publication: float
    every_stage: float
    per_day: float


def national_day(env: Environment, day: date) -> PackagePath:
    env.warm([day])
    platform = env.platform()
    timer = Timer()
    with timer.stage("import GX (once per worker process)"):
        import great_expectations  # noqa: F401
    run_day(env, platform, day, timer)
    publication = timer.total()
    run_checks(platform, day, timer)
    timer.print(f"National day {day} through the package path (the last {len(CHECK_STAGES)}: the DAGs' checks)")
    objects = len(platform.publication.keys(""))
    print(f"  publish: {timer.requests} S3 requests ({dict(env.requests)}); the publication holds {objects} objects")
    print(f"  S3 requests per object written: {timer.requests / objects:.2f} (target at most 1.25)")
    rows = {feed: len(env.world.ground_truth(feed, day)) for feed in FEEDS}
    published = platform.warehouse.query_frame("checks/row_accounting", {"report_date": day})
    print(f"  rows delivered {rows}; published {int(published['published'].sum())} locations")
    pipeline = publication - timer.stages[0].seconds
    floor = floor_for(env, platform, day)
    floor.print("Floor: same files read with pyarrow, same objects and rows written as Parquet, no logic")
    print(
        f"\n  fetch to publish (excluding the one-off GX import) {pipeline:.2f}s / floor {floor.total():.2f}s"
        f" = ratio {pipeline / floor.total():.2f} (target at most 1.5)"
    )
    return PackagePath(publication, timer.total(), timer.total() - timer.stages[0].seconds)


def floor_for(env: Environment, platform, day: date) -> Timer:
    """Read the same files with pyarrow; write as many Parquet objects as the publication holds
    (data files, views, manifests, indexes), the input rows split across them, to the same
    endpoint, with no logic in between."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    import requests

    timer = Timer()
    with timer.stage("floor: GET + read CSV with pyarrow"):
        tables = []
        for feed in FEEDS:
            response = requests.get(
                f"{env.simulator.base_url}/exports/{feed}/{day.isoformat()}",
                headers={"X-API-Key": "bench-feeds-key"},
                timeout=60,
            )
            if response.status_code == 200:
                tables.append(pacsv.read_csv(io.BytesIO(response.content)))
    objects = len(platform.publication.keys(""))
    bucket = f"bench-floor-{os.getpid()}"
    client = env.s3_client()
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    with timer.stage(f"floor: write {objects} Parquet objects"):
        rows = pa.concat_tables(tables, promote_options="permissive")
        size = -(-rows.num_rows // objects)

        def put(index: int) -> None:
            sink = io.BytesIO()
            pq.write_table(rows.slice(index * size, size), sink, compression="zstd")
            client.put_object(Bucket=bucket, Key=f"floor/{index}.parquet", Body=sink.getvalue())

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(put, range(objects)))
    return timer


def backfill(env: Environment, start: date, days: int) -> float:
    """The dates one after another on the package path, every stage the DAGs run; returns the mean
    seconds per date."""
    dates = [start + timedelta(days=k) for k in range(days)]
    env.warm(dates)
    platform = env.platform()
    per_day = []
    for day in dates:
        timer = Timer()
        run_day(env, platform, day, timer)
        requests = timer.requests
        run_checks(platform, day, timer)
        per_day.append((day, timer.total()))
        stages = ", ".join(f"{s.name} {s.seconds:.1f}" for s in timer.stages)
        print(f"  backfill {day}: {timer.total():.2f}s ({stages}; publish {requests} S3 requests)", flush=True)
    first, last = per_day[:5], per_day[-5:]
    print(f"\nBackfill of {days} report dates {dates[0]} .. {dates[-1]}: total {sum(s for _, s in per_day):.1f}s")
    print("  first five: " + ", ".join(f"{d:%m-%d} {s:.2f}s" for d, s in first))
    print("  last five:  " + ", ".join(f"{d:%m-%d} {s:.2f}s" for d, s in last))
    mean_first = sum(s for _, s in first) / len(first)
    mean_last = sum(s for _, s in last) / len(last)
    print(f"  mean of last five / mean of first five = {mean_last / mean_first:.2f}")
    return sum(s for _, s in per_day) / len(per_day)


def through_airflow(env: Environment, day: date, workdir: Path, package_path: PackagePath) -> None:
    """The same day through the DAGs, against its wall times on the package path in this run."""
    from careshare_dev.embedded import (
        Endpoints,
        airflow_settings,
        connection_environment,
        migrate_airflow_db,
    )

    airflow_home = workdir / "airflow"
    os.environ.update(airflow_settings(airflow_home))
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    platform = env.platform()
    settings = platform.settings
    os.environ.update(
        {
            "CARESHARE_HOME": str(settings.home),
            "CARESHARE_WAREHOUSE_URL": settings.warehouse_url,
            "CARESHARE_RAW_ARCHIVE_URI": settings.raw_archive_uri,
            "CARESHARE_PUBLISH_URI": settings.publish_uri,
            "CARESHARE_QUALITY_URI": settings.quality_uri,
        }
    )
    endpoints = Endpoints(
        env.s3_url, REGION, env.simulator.base_url, "bench-feeds-key", env.simulator.base_url, "bench-directory-key"
    )
    os.environ.update(connection_environment(endpoints))
    migrate_airflow_db(airflow_settings(airflow_home))
    from careshare_dev.embedded import DagRunner

    runner = DagRunner()
    timer = Timer()
    for dag_id in ("careshare_ct_care_homes", "careshare_ct_home_care", "careshare_cqc_update"):
        with timer.stage(f"dag.test {dag_id}"):
            state = runner.run(dag_id, day).state
        print(f"  {dag_id}: {state}")
    with timer.stage("dag.test careshare_publish"):
        run = runner.run("careshare_publish", day, {"report_date": day.isoformat()})
    print(f"  careshare_publish: {run.state}")
    print_task_durations(run)
    timer.print(f"National day {day} through Airflow (dag.test, in-process, sequential tasks)")
    airflow = timer.total()
    print(
        f"\n  through Airflow {airflow:.2f}s / package path, the same stages {package_path.every_stage:.2f}s"
        f" (GX import in both) = ratio {airflow / package_path.every_stage:.2f} (target at most 1.3)"
    )
    print(
        f"  through Airflow / package path, fetch to publish only ({package_path.publication:.2f}s)"
        f" = {airflow / package_path.publication:.2f}"
    )


def print_task_durations(run) -> None:
    """Each task instance of a finished dag.test run: how long it ran."""
    from airflow.utils.session import create_session

    with create_session() as session:
        tasks = run.get_task_instances(session=session)
        for ti in sorted(tasks, key=lambda ti: (ti.start_date is None, ti.start_date or 0)):
            print(f"    {ti.task_id:<20} {ti.duration or 0:7.2f}s  ({ti.state})")


LATENCY_BROKER = "redis://127.0.0.1:6379/12"  # a database number of its own: emptied before and after
HELD_FEED = "ct_care_homes"
POLL_SECONDS = 60  # the fetch sensor's poke interval (dags/careshare_feeds.py)


def celery_stack(
    env: Environment, day: date, workdir: Path, package_path: float, backfill_days: int, package_per_day: float
) -> None:
    """On the Celery stack: the latency of `day`, then a backfill of the `backfill_days` dates after it."""
    import redis

    from careshare_dev.airflow_cluster import AirflowCluster, feed_logical_date
    from careshare_dev.embedded import FEED_DAGS, Endpoints, connection_environment
    from careshare_sim import FaultPlan

    # The production warehouse, whatever --warehouse says; the cluster's own careshare_reference run
    # loads the directory (unpaused with catchup off, the scheduler starts its latest interval).
    platform = env.platform(backend="postgresql", directory=False)
    settings = platform.settings
    endpoints = Endpoints(
        env.s3_url, REGION, env.simulator.base_url, "bench-feeds-key", env.simulator.base_url, "bench-directory-key"
    )
    careshare = {
        "CARESHARE_HOME": str(workdir / "latency"),
        "CARESHARE_WAREHOUSE_URL": settings.warehouse_url,
        "CARESHARE_RAW_ARCHIVE_URI": settings.raw_archive_uri,
        "CARESHARE_PUBLISH_URI": settings.publish_uri,
        "CARESHARE_QUALITY_URI": settings.quality_uri,
        # The sweep every minute, as an operator sets it for a backfill (15 minutes in production):
        # it takes the dates of Asset events Airflow folded away while a publish run was active.
        "CARESHARE_PUBLISH_SWEEP": "* * * * *",
    }
    broker = redis.Redis.from_url(LATENCY_BROKER)
    broker.flushdb()
    metadata_url = postgres_database(f"careshare_bench_airflow_{os.getpid()}")
    home = workdir / "latency-airflow"
    home.mkdir()
    cluster = AirflowCluster(home, metadata_url, LATENCY_BROKER, {**connection_environment(endpoints), **careshare})
    plan = FaultPlan()
    env.simulator.faults = plan
    plan.add(kind="not_published", feed=HELD_FEED, report_date=day)
    memory = WorkerMemory(cluster)
    try:
        cluster.airflow("db", "migrate", timeout=300)
        cluster.start_components(workers=2, concurrency=2)
        cluster.wait_for(cluster.api_ready, "the api-server", timeout=120)
        cluster.wait_for(lambda: cluster.dags_parsed(FEED_DAGS), "the DAGs to be parsed", timeout=120)
        memory.start()
        cluster.wait_for(lambda: reference_loaded(cluster), "the careshare_reference run", timeout=900, every=2)
        for dag_id in FEED_DAGS:
            cluster.airflow("dags", "trigger", dag_id, "--logical-date", feed_logical_date(day))
        cluster.wait_for(
            lambda: held_and_others_settled(cluster, day),
            f"{HELD_FEED}'s fetch to wait and the other feeds to settle",
            timeout=900,
            every=1,
        )
        released, released_at = time.monotonic(), datetime.now(UTC)
        plan.clear()  # T0: the file appears on the export API
        cluster.wait_for(lambda: date_published(platform, day), f"{day} to be published", timeout=1800, every=0.5)
        seconds = time.monotonic() - released
        print_latency(day, seconds, released_at, tasks_since(cluster, released_at), package_path)
        if backfill_days:
            dates = [day + timedelta(days=k) for k in range(1, backfill_days + 1)]
            env.warm(dates)
            celery_backfill(cluster, platform, dates, package_per_day)
    finally:
        memory.stop()
        cluster.stop()
        broker.flushdb()
        broker.close()
    for name, (pss, rss) in sorted(memory.peaks.items()):
        print(
            f"  {name}: peak {pss / 2**20:.0f} MiB (PSS of the worker and its task processes; target under 1536),"
            f" largest process {rss / 2**20:.0f} MiB RSS"
        )


def print_latency(day: date, seconds: float, released_at: datetime, steps: list, package_path: float) -> None:
    bound = POLL_SECONDS + 1.5 * package_path
    print(f"\nLatency through the Celery stack (2 workers, PostgreSQL), {HELD_FEED} file of {day} held back:")
    print(f"  file appears -> every dataset of {day} committed: {seconds:.1f}s")
    print(
        f"  bound: polling interval {POLL_SECONDS}s + 1.5 x package path {package_path:.1f}s = {bound:.1f}s"
        f" ({'within' if seconds <= bound else 'over'} it)"
    )
    taken = next((s.start_date for s in steps if s.dag_id == f"careshare_{HELD_FEED}" and s.task_id == "fetch"), None)
    if taken is not None:
        waited = (taken - released_at).total_seconds()
        worst = POLL_SECONDS + seconds - waited
        print(
            f"  the poke that took the file started {waited:.1f}s after it appeared; from that poke to"
            f" committed {seconds - waited:.1f}s; a file appearing just after a poke: {worst:.1f}s"
            f" ({'within' if worst <= bound else 'over'} the bound)"
        )
    print("  where the time went (task start and end, seconds after the file appeared):")
    for step in steps:
        start = (step.start_date - released_at).total_seconds()
        end = f"{(step.end_date - released_at).total_seconds():6.1f}" if step.end_date else "   ..."
        print(f"    {step.dag_id:<24} {step.task_id:<20} {start:6.1f} -> {end}  ({step.state})")


def celery_backfill(cluster, platform, dates: list[date], package_per_day: float) -> None:
    """`airflow backfill create` for every feed DAG over `dates` at once; the feed Assets and the
    sweep publish them. A date's cost is the time between its publication and the one before
    (the backfill's start for the first): what each date adds to the whole while dates run in
    parallel across the workers."""
    from careshare_dev.airflow_cluster import feed_logical_date
    from careshare_dev.embedded import FEED_DAGS

    started, started_at = time.monotonic(), datetime.now(UTC)
    for dag_id in FEED_DAGS:
        cluster.airflow(
            "backfill", "create", "--dag-id", dag_id,
            "--from-date", feed_logical_date(dates[0]), "--to-date", feed_logical_date(dates[-1]),
            "--max-active-runs", "4",
        )  # fmt: skip
    progress = BackfillProgress(platform, dates, started)
    cluster.wait_for(
        progress.all_published,
        f"{len(dates)} backfilled dates to be published",
        timeout=max(3600, 120 * len(dates)),
        every=5,
    )
    total = time.monotonic() - started
    finished = sorted(release_times(platform, dates).items(), key=lambda item: item[1])
    moments = [started_at, *(moment for _, moment in finished)]
    per_date = [(d, (moments[k + 1] - moments[k]).total_seconds()) for k, (d, _) in enumerate(finished)]
    print(f"\nBackfill of {len(dates)} report dates {dates[0]} .. {dates[-1]} on the Celery stack: {total:.0f}s")
    head, tail = per_date[:10], per_date[-10:]
    print("  first ten (in the order published): " + ", ".join(f"{d:%m-%d} {s:.1f}s" for d, s in head))
    print("  last ten:                           " + ", ".join(f"{d:%m-%d} {s:.1f}s" for d, s in tail))
    mean_head, mean_tail = (sum(s for _, s in part) / len(part) for part in (head, tail))
    print(f"  mean of the last ten / the first ten = {mean_tail / mean_head:.2f} (target within 0.90 .. 1.10)")
    mean = total / len(dates)
    print(
        f"  per date {mean:.1f}s / package path {package_per_day:.1f}s = ratio {mean / package_per_day:.2f}"
        " (target at most 1.3)"
    )
    print(f"  two years (730 report dates) at this rate: {730 * mean / 3600:.1f} h (aim under 2 h; moonshot 1 h)")


@dataclass
class BackfillProgress:
    """Prints how many dates are published each time the count grows, so a long backfill shows its
    pace while it runs."""

    platform: object
    dates: list[date]
    started: float
    published: int = 0

    def all_published(self) -> bool:
        count = len(release_times(self.platform, self.dates))
        if count > self.published:
            self.published = count
            print(
                f"  {count}/{len(self.dates)} dates published after {time.monotonic() - self.started:.0f}s", flush=True
            )
        return count == len(self.dates) and all(date_published(self.platform, d) for d in self.dates)


def release_times(platform, dates: list[date]) -> dict[date, datetime]:
    """When each date's last first release was recorded (every dataset published)."""
    import sqlalchemy as sa

    with platform.warehouse.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT report_date, MAX(published_at) AS at FROM publish_release"
                " WHERE version = 1 GROUP BY report_date"
            )
        ).fetchall()
    wanted = set(dates)
    return {
        row.report_date: (row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC))
        for row in rows
        if row.report_date in wanted
    }


def tasks_since(cluster, moment: datetime) -> list:
    """Task attempts running or ended since `moment`, by start."""
    return cluster.query(
        "SELECT dag_id, task_id, state, start_date, end_date FROM task_instance"
        " WHERE start_date IS NOT NULL AND (end_date IS NULL OR end_date > :moment) ORDER BY start_date",
        moment=moment,
    )


def reference_loaded(cluster) -> bool:
    rows = cluster.query("SELECT state FROM dag_run WHERE dag_id = 'careshare_reference'")
    if any(row.state == "failed" for row in rows):
        raise RuntimeError(f"careshare_reference failed\n{cluster.log_tails()}")
    return any(row.state == "success" for row in rows)


def held_and_others_settled(cluster, day: date) -> bool:
    """The held feed's fetch is waiting for its next poke; the other feeds' runs have succeeded;
    no publish run is active (the date waits for the held feed)."""
    rows = cluster.query(
        "SELECT dr.dag_id, dr.state AS run_state, ti.state AS fetch_state FROM dag_run AS dr"
        " JOIN task_instance AS ti ON ti.dag_id = dr.dag_id AND ti.run_id = dr.run_id AND ti.task_id = 'fetch'"
        " WHERE dr.run_type = 'manual' AND dr.logical_date = :logical",
        logical=datetime(day.year, day.month, day.day, 6, tzinfo=UTC),
    )
    states = {row.dag_id: (row.run_state, row.fetch_state) for row in rows}
    held = states.get(f"careshare_{HELD_FEED}", (None, None))[1] == "up_for_reschedule"
    others = [state for dag_id, state in states.items() if dag_id != f"careshare_{HELD_FEED}"]
    publishing = cluster.query(
        "SELECT COUNT(*) AS n FROM dag_run WHERE dag_id = 'careshare_publish' AND state IN ('queued', 'running')"
    )[0].n
    return held and len(others) == 2 and all(run == "success" for run, _ in others) and not publishing


def date_published(platform, day: date) -> bool:
    from careshare.datasets import DATASETS

    return all(platform.publication.keys(f"_manifests/{name}/report_date={day.isoformat()}/") for name in DATASETS)


class WorkerMemory:
    """Peak memory of each Celery worker with its task processes, sampled every 0.5 s: the sum of
    their proportional set sizes (PSS: pages shared by the forked processes counted once, in
    shares), and the largest single process's RSS."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.peaks: dict[str, tuple[int, int]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.5):
            for name, process in self.cluster.processes.items():
                if name.startswith("worker"):
                    pss, rss = tree_memory(process.pid)
                    before = self.peaks.get(name, (0, 0))
                    self.peaks[name] = (max(before[0], pss), max(before[1], rss))


def tree_memory(pid: int) -> tuple[int, int]:
    """(sum of PSS, largest RSS) over the process and its descendants."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    pss, rss = 0, 0
    for member in members:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = member.memory_full_info()
            pss += info.pss
            rss = max(rss, info.rss)
    return pss, rss


if __name__ == "__main__":
    sys.exit(main())
