"""Run a few report dates through the real DAGs on the embedded default, then say where to look.

Starts a local S3 endpoint (moto's server) and the feed simulator, runs the reference, feed and
publish DAGs with dag.test() on SQLite (Airflow metadata and warehouse), then prints what was
published and copies the buckets to a local folder for browsing.

    python scripts/demo.py [--start 2020-11-28] [--end 2020-12-01] [--care-homes 1500] [--serve]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
import warnings
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "plugins"))

from careshare_airflow.embedded import (  # noqa: E402
    Endpoints,
    airflow_settings,
    connection_environment,
    date_range,
    migrate_airflow_db,
)

WORKDIR = REPO_ROOT / ".careshare-demo"
REGION = "eu-west-2"
BUCKETS = {"raw": "careshare-raw", "published": "careshare-published", "quality": "careshare-quality"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2020, 11, 28))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2020, 12, 1))
    parser.add_argument("--care-homes", type=int, default=1500)
    parser.add_argument("--community", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--serve", action="store_true", help="keep the S3 endpoint and simulator up afterwards")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    shutil.rmtree(WORKDIR, ignore_errors=True)
    (WORKDIR / "logs").mkdir(parents=True)
    os.environ.update(airflow_settings(WORKDIR / "airflow"))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "careshare-demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "careshare-demo-secret")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    _quiet_logs(WORKDIR / "logs" / "demo.log")

    print(f"careshare demo: report dates {args.start} .. {args.end}, working folder {WORKDIR}")
    s3_url, moto = _start_s3()
    simulator = _start_simulator(args)
    endpoints = Endpoints(s3_url, REGION, simulator.base_url, "demo-feeds-key", simulator.base_url, "demo-dir-key")
    os.environ.update(connection_environment(endpoints))
    os.environ.update(
        {
            "CARESHARE_HOME": str(WORKDIR),
            "CARESHARE_WAREHOUSE_URL": f"sqlite:///{WORKDIR / 'warehouse.db'}",
            "CARESHARE_RAW_ARCHIVE_URI": f"s3://{BUCKETS['raw']}",
            "CARESHARE_PUBLISH_URI": f"s3://{BUCKETS['published']}",
            "CARESHARE_QUALITY_URI": f"s3://{BUCKETS['quality']}",
        }
    )
    print("  migrating the Airflow metadata database (SQLite) ...")
    migrate_airflow_db(airflow_settings(WORKDIR / "airflow"))

    from careshare_airflow.embedded import DagRunner

    runner = DagRunner()
    started = time.perf_counter()
    failures = _run(runner, date_range(args.start, args.end))
    print(f"  DAG runs finished in {time.perf_counter() - started:.0f}s")
    _summarise(s3_url, args)
    if args.serve:
        print(f"\nServing S3 at {s3_url} and the simulator at {simulator.base_url}; Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    simulator.stop()
    moto.stop()
    return 1 if failures else 0


def _run(runner, days: list[date]) -> list[tuple[str, date, str]]:
    state = str(runner.reference(days[0]).state)
    print(f"  careshare_reference          {days[0]}  {state}")
    failures = [("careshare_reference", days[0], state)] if state != "success" else []
    for day in days:
        for dag_id, _day, state in runner.report_dates([day]):
            print(f"  {dag_id:<28} {day}  {state}")
            if state != "success":
                failures.append((dag_id, day, state))
    return failures


def _start_s3():
    from moto.server import ThreadedMotoServer

    from careshare.storage import open_store  # noqa: F401  (fail early if the package is missing)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
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
    from careshare.reference import load_local_authorities
    from careshare.simulator import SimulatorServer, World

    authorities = load_local_authorities(Settings.from_env().reference_csv)
    world = World(args.seed, args.care_homes, args.community, authorities, date(2024, 6, 30))
    server = SimulatorServer(world, "demo-feeds-key", "demo-dir-key")
    server.start()
    print(f"  feed simulator at {server.base_url} ({args.care_homes} care homes, {args.community} community services)")
    return server


def _summarise(s3_url: str, args) -> None:
    import pyarrow.dataset as ds
    import pyarrow.fs

    mirror = WORKDIR / "s3"
    client = _s3_client(s3_url)
    counts = {}
    for bucket in BUCKETS.values():
        keys = [
            o["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        ]
        counts[bucket] = len(keys)
        for key in keys:
            target = mirror / bucket / key
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, key, str(target))
    filesystem = pyarrow.fs.S3FileSystem(endpoint_override=s3_url.removeprefix("http://"), scheme="http", region=REGION)
    table = ds.dataset(
        f"{BUCKETS['published']}/location_daily", filesystem=filesystem, format="parquet", partitioning="hive"
    ).to_table()
    frame = table.to_pandas()
    summary = frame.groupby(["report_date", "source_feed"], observed=True).size().unstack(fill_value=0)
    print("\nPublished location_daily (rows per report date and source feed):")
    print(summary.to_string())
    print(f"\n{frame['la_code'].nunique()} councils; {len(frame)} rows; objects per bucket: {counts}")
    print("\nWhere to look:")
    print(f"  published data     {mirror / BUCKETS['published'] / 'location_daily'}  (la_code=/report_date=/…)")
    print(f"  release manifests  {mirror / BUCKETS['published'] / '_manifests'}")
    print(f"  raw archive        {mirror / BUCKETS['raw']}")
    print(f"  warehouse (SQLite) {WORKDIR / 'warehouse.db'}")
    print(f"  Airflow logs       {WORKDIR / 'logs' / 'demo.log'}")
    print(
        '  read it back:      python -c "import pyarrow.dataset as ds; '
        f"print(ds.dataset('{mirror / BUCKETS['published'] / 'location_daily'}', "
        "partitioning='hive').to_table().to_pandas().head())\""
    )


def _quiet_logs(path: Path) -> None:
    """Airflow's task logs go to a file; the console shows the demo's own progress."""
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    os.environ["PYTHONWARNINGS"] = "ignore"
    warnings.simplefilter("ignore")
    logging.basicConfig(filename=path, level=logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
