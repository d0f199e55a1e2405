"""Figures for one national-scale release of location_daily against a local S3 endpoint (moto's
server in this process, like the tests): first release, an unchanged rerun, a one-council
correction. Prints seconds and S3 requests; asserts nothing.

    PYTHONPATH=include python scripts/bench_publish.py [--rows-per-council 170]
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections import Counter
from datetime import date

import boto3
import pyarrow as pa

from careshare.config import Settings
from careshare.councils import load_local_authorities
from careshare.datasets import LOCATION_DAILY
from careshare.publish.dictionary import schema_reference
from careshare.publish.release import publish_release
from careshare.storage import open_store
from careshare_dev.local_s3 import threaded_moto_server

DAY = date(2020, 12, 1)


def synthetic(rows_per_council: int, councils: list[str], edition: int = 0) -> pa.Table:
    columns: dict[str, list] = {f.name: [] for f in LOCATION_DAILY.fields}
    defaults = {"string": "x", "int32": 1, "float64": 1.0, "bool": False, "date": DAY, "timestamp": None}
    for code in councils:
        for i in range(rows_per_council):
            for f in LOCATION_DAILY.fields:
                value = f.values[0] if f.values else defaults[f.type]
                if f.name == "la_code":
                    value = code
                elif f.name == "location_id":
                    value = f"1-{code[1:]}{i:04d}"
                elif f.name == "beds_total":
                    value = i + edition
                columns[f.name].append(value)
    return pa.table(columns, schema=LOCATION_DAILY.arrow_schema())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows-per-council", type=int, default=170)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = threaded_moto_server()
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="eu-west-2")
    client.create_bucket(Bucket="bench-published", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    requests: Counter[str] = Counter()
    client.meta.events.register(
        "before-call.s3.*", lambda event_name, **_: requests.update([event_name.split(".")[-1]])
    )
    store = open_store("s3://bench-published", client)
    reference = load_local_authorities(Settings.from_env().reference_csv)
    councils = sorted(la.code for la in reference.valid_on(DAY))
    table = synthetic(args.rows_per_council, councils)
    corrected = pa.concat_tables(
        [synthetic(args.rows_per_council, councils[:1], edition=1), table.slice(args.rows_per_council)]
    )
    print(f"{table.num_rows} rows, {len(councils)} councils")
    for label, rows in (("first release", table), ("unchanged rerun", table), ("one-council correction", corrected)):
        requests.clear()
        start = time.perf_counter()
        outcome = publish_release(store, LOCATION_DAILY, DAY, rows, reference, schema=schema_reference(LOCATION_DAILY))
        seconds = time.perf_counter() - start
        print(
            f"{label:24} {seconds:6.2f} s  version {outcome.version} new={outcome.new}  "
            f"{sum(requests.values())} S3 requests {dict(sorted(requests.items()))}"
        )
    server.stop()


if __name__ == "__main__":
    main()
