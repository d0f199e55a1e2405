"""Benchmark: a national-scale report date through the package path, its floor, a backfill, and
the same day through Airflow. Prints figures; asserts nothing about time.

    python scripts/bench.py [--day 2020-12-01] [--backfill-days 30] [--warehouse sqlite|postgresql]
                            [--skip-backfill] [--skip-airflow]

Stages (wall time and peak RSS, sampled every 10 ms): fetch (HTTP from the simulator, archive to
S3, registry), load (parse, conform, validate with GX, stage), merge (+ accounting check),
publish (Parquet per council to S3 + manifest). The floor reads the same files with pyarrow and
writes as many Parquet objects as the publication holds, the same rows split across them, to the
same endpoint, no logic. The S3 endpoint is moto's server in a process of its own.
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
from contextlib import contextmanager
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
        if not args.skip_backfill:
            backfill(env, args.backfill_start, args.backfill_days)
        if not args.skip_airflow:
            through_airflow(env, args.day, workdir, package_path)
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

    def platform(self):
        """A fresh warehouse and fresh buckets, migrated, with the directory loaded."""
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
            warehouse_url=self._warehouse_url(suffix),
            raw_archive_uri=f"s3://bench-raw-{suffix}",
            publish_uri=f"s3://bench-published-{suffix}",
            quality_uri=f"s3://bench-quality-{suffix}",
            reference_csv=settings.reference_csv,
            expectations_dir=EXPECTATIONS_DIR,
        )
        platform = Platform.from_settings(settings, client)
        platform.warehouse.migrate()
        load_local_authority_reference(platform)
        load_directory(platform, DirectoryClient(self.simulator.base_url, "bench-directory-key"), datetime.now(UTC))
        return platform

    def _warehouse_url(self, suffix: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir / f'warehouse-{suffix}.db'}"
        import sqlalchemy as sa

        name = f"careshare_bench_{suffix.replace('-', '_')}"
        admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return sa.engine.make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)

    def warm(self, days: list[date]) -> None:
        """Render the simulator's files beforehand: the source system's cost is not ours."""
        for day in days:
            for feed in FEEDS:
                self.world.rendered(feed, day)

    def stop(self) -> None:
        self.simulator.stop()
        self.moto.terminate()
        self.moto.wait(10)


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


def national_day(env: Environment, day: date) -> float:
    """The day through the package path; returns its wall time, the GX import included."""
    env.warm([day])
    platform = env.platform()
    timer = Timer()
    with timer.stage("import GX (once per worker process)"):
        import great_expectations  # noqa: F401
    run_day(env, platform, day, timer)
    timer.print(f"National day {day} through the package path")
    objects = len(platform.publication.keys(""))
    print(f"  publish: {timer.requests} S3 requests ({dict(env.requests)}); the publication holds {objects} objects")
    print(f"  S3 requests per object written: {timer.requests / objects:.2f} (target at most 1.25)")
    rows = {feed: len(env.world.ground_truth(feed, day)) for feed in FEEDS}
    published = platform.warehouse.query_frame("checks/row_accounting", {"report_date": day})
    print(f"  rows delivered {rows}; published {int(published['published'].sum())} locations")
    pipeline = timer.total() - timer.stages[0].seconds
    floor = floor_for(env, platform, day)
    floor.print("Floor: same files read with pyarrow, same objects and rows written as Parquet, no logic")
    print(
        f"\n  pipeline (excluding the one-off GX import) {pipeline:.2f}s / floor {floor.total():.2f}s"
        f" = ratio {pipeline / floor.total():.2f} (target at most 1.5)"
    )
    return timer.total()


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


def backfill(env: Environment, start: date, days: int) -> None:
    dates = [start + timedelta(days=k) for k in range(days)]
    env.warm(dates)
    platform = env.platform()
    per_day = []
    for day in dates:
        timer = Timer()
        run_day(env, platform, day, timer)
        per_day.append((day, timer.total()))
        stages = ", ".join(f"{s.name} {s.seconds:.1f}" for s in timer.stages)
        print(f"  backfill {day}: {timer.total():.2f}s ({stages}; publish {timer.requests} S3 requests)", flush=True)
    first, last = per_day[:5], per_day[-5:]
    print(f"\nBackfill of {days} report dates {dates[0]} .. {dates[-1]}: total {sum(s for _, s in per_day):.1f}s")
    print("  first five: " + ", ".join(f"{d:%m-%d} {s:.2f}s" for d, s in first))
    print("  last five:  " + ", ".join(f"{d:%m-%d} {s:.2f}s" for d, s in last))
    mean_first = sum(s for _, s in first) / len(first)
    mean_last = sum(s for _, s in last) / len(last)
    print(f"  mean of last five / mean of first five = {mean_last / mean_first:.2f}")


def through_airflow(env: Environment, day: date, workdir: Path, package_path: float) -> None:
    """The same day through the DAGs; `package_path`: its wall time on the package path, this run."""
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
        state = runner.run("careshare_publish", day, {"report_date": day.isoformat()}).state
    print(f"  careshare_publish: {state}")
    timer.print(f"National day {day} through Airflow (dag.test, in-process, sequential tasks)")
    print(
        f"\n  through Airflow {timer.total():.2f}s / package path {package_path:.2f}s (GX import in both)"
        f" = ratio {timer.total() / package_path:.2f} (target at most 1.3)"
    )


if __name__ == "__main__":
    sys.exit(main())
