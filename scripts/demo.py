"""Run a few report dates through the real DAGs on the embedded default, then say where to look.

Starts a local S3 endpoint (moto's server) and the feed simulator, runs the reference, feed and
publish DAGs with dag.test() on SQLite (Airflow metadata and warehouse), one line per DAG run, then
copies the buckets to a local folder for browsing and prints what was published. Every task's log
is a file under .careshare-demo/logs/ (or --workdir), as Airflow's task log handler lays them out.

    python scripts/demo.py [--start 2020-11-28] [--end 2020-12-01] [--care-homes 1500] [--serve]
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import functools
import itertools
import logging
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from careshare.warehouse import Warehouse
from careshare_dev.embedded import (
    Endpoints,
    FinishedRun,
    TaskLogFiles,
    airflow_settings,
    connection_environment,
    date_range,
    migrate_airflow_db,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-west-2"
BUCKETS = {"raw": "careshare-raw", "published": "careshare-published", "quality": "careshare-quality"}
FEED_COLUMNS = ["ct_care_homes", "ct_home_care", "cqc_update"]


@dataclass(frozen=True)
class Workdir:
    """The demo's folder: Airflow's home, the warehouse, the logs and the copy of the buckets."""

    root: Path

    @property
    def airflow(self) -> Path:
        return self.root / "airflow"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def mirror(self) -> Path:
        return self.root / "s3"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2020, 11, 28), help="first report date")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2020, 12, 1), help="last report date, inclusive")
    parser.add_argument("--care-homes", type=int, default=1500, help="care homes in the simulated world")
    parser.add_argument("--community", type=int, default=1000, help="homecare, extra care and supported living")
    parser.add_argument("--seed", type=int, default=2020, help="seed of the simulated world")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="afterwards, serve the copy of the buckets (reports, Data Docs, data) over HTTP until Ctrl-C",
    )
    parser.add_argument("--port", type=int, default=8000, help="port of --serve (0: any free port)")
    parser.add_argument(
        "--workdir", type=Path, default=REPO_ROOT / ".careshare-demo", help="working folder, emptied first"
    )
    return parser.parse_args()


def main() -> int:
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: every thread's stack on stderr
    args = parse_args()
    work = Workdir(args.workdir.resolve())
    shutil.rmtree(work.root, ignore_errors=True)
    server = _mirror_server(work, args.port) if args.serve else None
    task_logs = TaskLogFiles(work.logs / "demo.log")
    os.environ.update(airflow_settings(work.airflow, work.logs))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "careshare-demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "careshare-demo-secret")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    logging.basicConfig(stream=task_logs, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's and the simulator's every request

    print(f"careshare demo: report dates {args.start} .. {args.end}, working folder {work.root}")
    s3_url, moto = _start_s3()
    simulator = _start_simulator(args)
    endpoints = Endpoints(s3_url, REGION, simulator.base_url, "demo-feeds-key", simulator.base_url, "demo-dir-key")
    os.environ.update(connection_environment(endpoints))
    os.environ.update(
        {
            "CARESHARE_HOME": str(work.root),
            "CARESHARE_WAREHOUSE_URL": f"sqlite:///{work.warehouse}",
            "CARESHARE_RAW_ARCHIVE_URI": f"s3://{BUCKETS['raw']}",
            "CARESHARE_PUBLISH_URI": f"s3://{BUCKETS['published']}",
            "CARESHARE_QUALITY_URI": f"s3://{BUCKETS['quality']}",
        }
    )
    print("  migrating the Airflow metadata database and the warehouse (SQLite) ...", flush=True)
    migrate_airflow_db(airflow_settings(work.airflow, work.logs))
    Warehouse(f"sqlite:///{work.warehouse}").migrate()  # as `careshare db migrate` does in a deployment

    days = date_range(args.start, args.end)
    started = time.perf_counter()
    runs = _run(days, task_logs)
    failed = [run for run in runs if run.state != "success"]
    print(f"  {len(runs)} DAG runs in {time.perf_counter() - started:.0f}s, {len(runs) - len(failed)} succeeded")
    _mirror(s3_url, work.mirror)
    _summarise(s3_url, work, days, failed, task_logs)
    if server:
        _serve(server, work, days[-1])
    simulator.stop()
    moto.stop()
    task_logs.close()
    return 1 if failed else 0


def _run(days: list[date], task_logs: TaskLogFiles) -> list[FinishedRun]:
    """The DAG runs, one console line each; meanwhile Airflow and the tasks write to the log files only."""
    say = functools.partial(print, file=sys.stdout, flush=True)
    with contextlib.redirect_stdout(task_logs):
        from careshare_dev.embedded import DagRunner

        runner = DagRunner(task_logs)
        reference = runner.timed("careshare_reference", days[0])
        runs = []
        for run in itertools.chain([reference], runner.report_date_runs(days)):
            say(f"  {run.dag_id:<28} {run.day}  {run.state:<8} {run.seconds:6.1f}s")
            runs.append(run)
    return runs


def _start_s3():
    from careshare.storage import open_store  # noqa: F401  (fail early if the package is missing)
    from careshare_dev.local_s3 import threaded_moto_server

    server = threaded_moto_server()
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = _s3_client(url)
    for bucket in BUCKETS.values():
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    print(f"  local S3 endpoint (moto) at {url}")
    return url, server


def _s3_client(url: str):
    import boto3

    return boto3.client("s3", endpoint_url=url, region_name=REGION)


def _start_simulator(args):
    from careshare.config import Settings
    from careshare.councils import load_local_authorities
    from careshare_sim import SimulatorServer, World

    authorities = load_local_authorities(Settings.from_env().reference_csv)
    world = World(args.seed, args.care_homes, args.community, authorities, date(2024, 6, 30))
    server = SimulatorServer(world, "demo-feeds-key", "demo-dir-key")
    server.start()
    print(f"  feed simulator at {server.base_url} ({args.care_homes} care homes, {args.community} community services)")
    return server


def _mirror(s3_url: str, mirror: Path) -> None:
    """Copy every bucket to `mirror`, for browsing."""
    from careshare.publish.parallel import in_parallel

    client = _s3_client(s3_url)
    objects = [
        (bucket, o["Key"])
        for bucket in BUCKETS.values()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]

    def download(item: tuple[str, str]) -> None:
        bucket, key = item
        target = mirror / bucket / key
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(target))

    in_parallel(download, objects)


def _summarise(
    s3_url: str, work: Workdir, days: list[date], failed: list[FinishedRun], task_logs: TaskLogFiles
) -> None:
    import pyarrow.dataset as ds
    import pyarrow.fs

    from careshare.quality.links import data_docs_key, report_key

    filesystem = pyarrow.fs.S3FileSystem(endpoint_override=s3_url.removeprefix("http://"), scheme="http", region=REGION)
    frame = (
        ds.dataset(
            f"{BUCKETS['published']}/location_daily", filesystem=filesystem, format="parquet", partitioning="hive"
        )
        .to_table(columns=["report_date", "source_feed", "la_code"])
        .to_pandas()
    )
    rows = frame.groupby(["report_date", "source_feed"], observed=True).size().unstack(fill_value=0)
    rows = rows.reindex(columns=FEED_COLUMNS, fill_value=0).assign(total=lambda table: table.sum(axis=1))
    print("\nPublished location_daily, rows per report date and source feed:")
    print(rows.rename_axis(index=None, columns=None).to_string())
    print(f"{len(frame)} rows over {frame['la_code'].nunique()} councils")
    for run in failed:
        print(
            f"FAILED {run.dag_id} {run.day}: task logs in {work.logs / f'dag_id={run.dag_id}' / f'run_id={run.run_id}'}"
        )
    mirror = work.mirror
    quality = mirror / BUCKETS["quality"]
    print(f"\nWhere to look (the buckets are copied to {mirror}):")
    print(f"  quality report     {quality / report_key(days[-1])}  (one per report date)")
    print(f"  Data Docs          {quality / data_docs_key(days[-1])}")
    print(f"  published data     {mirror / BUCKETS['published'] / 'location_daily'}  (la_code=/report_date=/…)")
    print(f"  release manifests  {mirror / BUCKETS['published'] / '_manifests'}")
    print(f"  raw archive        {mirror / BUCKETS['raw']}")
    print(f"  warehouse (SQLite) {work.warehouse}")
    print(f"  task logs          {work.logs}/dag_id=…/run_id=…/task_id=…/attempt=1.log  ({len(task_logs.files)} files)")
    print(f"  Airflow's log      {task_logs.other}  (between tasks)")
    print(
        '  read it back:      python -c "import pyarrow as pa, pyarrow.dataset as ds; '
        "p = ds.partitioning(pa.schema([('la_code', pa.string()), ('report_date', pa.date32())]), flavor='hive'); "
        f"print(ds.dataset('{mirror / BUCKETS['published'] / 'location_daily'}', "
        'partitioning=p).to_table().to_pandas().head())"'
    )


def _mirror_server(work: Workdir, port: int) -> ThreadingHTTPServer:
    handler = functools.partial(_MirrorRequests, directory=str(work.mirror))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise SystemExit(f"demo: cannot serve on port {port} ({error.strerror}): choose another with --port") from None
    server.daemon_threads = True  # Ctrl-C stops serving without waiting for a client's open connection
    return server


class _MirrorRequests(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        logging.getLogger("careshare.demo.serve").info(format, *args)


def _serve(server: ThreadingHTTPServer, work: Workdir, last: date) -> None:
    from careshare.quality.links import data_docs_key, report_key

    base = f"http://127.0.0.1:{server.server_address[1]}"
    quality = f"{base}/{BUCKETS['quality']}"
    print(f"\nServing {work.mirror} at {base}/ until Ctrl-C:")
    print(f"  quality report     {quality}/{report_key(last)}")
    print(f"  Data Docs          {quality}/{data_docs_key(last)}")
    print(f"  published data     {base}/{BUCKETS['published']}/location_daily/", flush=True)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
