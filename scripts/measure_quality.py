"""Time the quality stages of one report date at a chosen scale and print the figures.

Runs the package (no Airflow) against a moto S3 server and the feed simulator, on SQLite in a
temporary folder (or the empty database given): ingest with the feed suites, merge, the
published-dataset suite, then each step of the quality publication (quarantine export, Data Docs,
report figures, charts, page).

    python scripts/measure_quality.py [--care-homes 15500] [--community 10000] [--date 2020-11-30]
                                      [--warehouse-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--care-homes", type=int, default=15_500)
    parser.add_argument("--community", type=int, default=10_000)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2020, 11, 30))
    parser.add_argument("--warehouse-url", help="an empty database (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "measure")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "measure")

    import boto3

    from careshare.config import Settings
    from careshare.councils import load_local_authorities
    from careshare.ingest import load_feed_day
    from careshare.merge import merge_day
    from careshare.pipeline import FeedEndpoint, fetch_feed_day
    from careshare.publish import publish_day
    from careshare.quality import charts, data_docs, downloads, quarantine, report_figures, report_page, runs
    from careshare.reference_load import load_directory, load_local_authority_reference
    from careshare.resources import Platform
    from careshare.sources.cqc_directory import DirectoryClient
    from careshare_dev.local_s3 import threaded_moto_server
    from careshare_sim import SimulatorServer, World

    server = threaded_moto_server()
    server.start()
    host, port = server.get_host_and_port()
    s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="eu-west-2")
    for bucket in ("raw", "published", "quality"):
        s3.create_bucket(Bucket=f"measure-{bucket}", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.from_env(
            {
                "CARESHARE_HOME": home,
                "CARESHARE_RAW_ARCHIVE_URI": "s3://measure-raw",
                "CARESHARE_PUBLISH_URI": "s3://measure-published",
                "CARESHARE_QUALITY_URI": "s3://measure-quality",
                **({"CARESHARE_WAREHOUSE_URL": args.warehouse_url} if args.warehouse_url else {}),
            }
        )
        platform = Platform.from_settings(settings, s3)
        platform.warehouse.migrate()
        world = World(
            7, args.care_homes, args.community, load_local_authorities(settings.reference_csv), date(2024, 6, 30)
        )
        day = args.date
        with SimulatorServer(world, "k", "d") as simulator:
            load_local_authority_reference(platform)
            load_directory(platform, DirectoryClient(simulator.base_url, "d"), datetime(2020, 11, 28, tzinfo=UTC))
            for feed in ("ct_care_homes", "ct_home_care", "cqc_update"):
                if (
                    fetch_feed_day(platform, feed, day, endpoint=FeedEndpoint(simulator.base_url, "k")).status
                    == "archived"
                ):
                    result = load_feed_day(platform, feed, day)
                    print(f"{feed}: {result.rows_delivered} rows, feed suite {result.timings['validate']:.2f}s")
        timed("merge (not a quality stage, for scale)", lambda: merge_day(platform, day))
        timed("location_daily suite (check_published_day)", lambda: runs.check_published_day(platform, day))
        publish_day(platform, day)
        timed("quarantine export", lambda: quarantine.export_quarantine(platform, day))
        timed("Data Docs build and upload", lambda: data_docs.build_data_docs(platform, day))
        numbers = timed("report figures (incl. 30-day trend)", lambda: report_figures.daily_figures(platform, day))
        images = timed("trend charts", lambda: charts.trend_charts(numbers["trend"]))
        files = timed("downloads (quarantined, warned rows)", lambda: downloads.write_downloads(platform, day))
        numbers = {**numbers, "downloads": files}
        html = timed("page", lambda: report_page.render_report(numbers, images, {"data_docs": "", "quarantine": None}))
        print(f"page: {len(html) / 1024:.0f} KiB, {len(numbers['completion']['by_council'])} councils")
    server.stop()


def timed(label: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = step()
    print(f"{label}: {time.perf_counter() - started:.2f}s")
    return result


if __name__ == "__main__":
    main()
