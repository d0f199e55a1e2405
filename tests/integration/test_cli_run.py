"""`careshare run day` as an operator runs it: a subprocess, no Airflow, settings from the
environment, against the feed simulator and a real S3 endpoint (moto's server); then
`careshare registry show` on what it received."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest

from careshare_sim import SimulatorServer, World
from tests.conftest import REFERENCE_CSV, S3_REGION, create_buckets

pytestmark = pytest.mark.slow
SUNDAY, MONDAY = date(2020, 11, 29), date(2020, 11, 30)  # CQC's form off at weekends; CT home care opens on 30 Nov
CARESHARE = str(Path(sys.executable).with_name("careshare"))


@pytest.fixture(scope="module")
def local_env(s3_endpoint, s3_client, councils, tmp_path_factory):
    home = tmp_path_factory.mktemp("cli")
    suffix = uuid.uuid4().hex[:8]
    buckets = {kind: f"careshare-cli-{kind}-{suffix}" for kind in ("raw", "published", "quality")}
    create_buckets(s3_client, *buckets.values())
    world = World(31, 120, 80, councils, date(2024, 6, 30))
    with SimulatorServer(world, "cli-feeds-key", "cli-directory-key") as simulator:
        yield {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": S3_REGION,
            "CARESHARE_HOME": str(home),
            "CARESHARE_WAREHOUSE_URL": f"sqlite:///{home / 'warehouse.db'}",
            "CARESHARE_RAW_ARCHIVE_URI": f"s3://{buckets['raw']}",
            "CARESHARE_PUBLISH_URI": f"s3://{buckets['published']}",
            "CARESHARE_QUALITY_URI": f"s3://{buckets['quality']}",
            "CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV),
            "CARESHARE_S3_ENDPOINT_URL": s3_endpoint,
            "CARESHARE_FEEDS_URL": simulator.base_url,
            "CARESHARE_FEEDS_KEY": "cli-feeds-key",
            "CARESHARE_DIRECTORY_URL": simulator.base_url,
            "CARESHARE_DIRECTORY_KEY": "cli-directory-key",
        } | {"_buckets": json.dumps(buckets)}


def careshare(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in env.items() if not k.startswith("_")}
    return subprocess.run([CARESHARE, *args], env=clean, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def day_run(local_env):
    migrated = careshare(local_env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    return careshare(local_env, "run", "day", "--from", SUNDAY.isoformat(), "--to", MONDAY.isoformat())


def test_run_day_publishes_each_date_with_one_progress_line_per_stage(day_run, local_env, s3_client):
    assert day_run.returncode == 0, day_run.stdout + day_run.stderr
    lines = day_run.stdout.splitlines()
    steps = {n: [line.split()[2] for line in lines if line.startswith(f"[{n}/2] ")] for n in (1, 2)}
    # the directory is loaded once, before the first date; each date ends with a "published in" line
    assert steps[1] == ["reference", "fetch", "load", "merge", "publish", "quality", "published"]
    assert steps[2] == ["fetch", "load", "merge", "publish", "quality", "published"]
    assert all(" ok " in line for line in lines if line.split()[2] in ("fetch", "load", "merge", "publish"))
    assert lines[-1].startswith("2 report dates: 2 published (0 with warnings), 0 stopped in")
    sunday_fetch = next(line for line in lines if line.startswith("[1/2] 2020-11-29 fetch"))
    assert "cqc_update absent (cqc_update is collected Monday to Friday only)" in sunday_fetch
    assert "ct_home_care absent (ct_home_care opens on 2020-11-30)" in sunday_fetch
    monday_merge = next(line for line in lines if line.startswith("[2/2] 2020-11-30 merge"))
    assert all(f"{feed} " in monday_merge for feed in ("ct_care_homes", "ct_home_care", "cqc_update"))
    published = json.loads(local_env["_buckets"])["published"]
    for day in (SUNDAY, MONDAY):
        for dataset in ("location_daily", "provider_daily", "la_daily_summary"):
            key = f"_manifests/{dataset}/report_date={day.isoformat()}/v0001.complete.json"
            s3_client.head_object(Bucket=published, Key=key)  # raises if the release was not committed


def test_registry_show_lists_every_delivery_received(day_run, local_env):
    shown = careshare(local_env, "registry", "show", "--date", MONDAY.isoformat())
    assert shown.returncode == 0, shown.stderr
    header, *rows = shown.stdout.splitlines()
    assert header.split() == [
        "report_date",
        "feed",
        "status",
        "sha256",
        "rows",
        "bytes",
        "route",
        "received_at",
        "superseded_by",
    ]
    assert sorted(row.split()[1] for row in rows) == ["cqc_update", "ct_care_homes", "ct_home_care"]
    assert all(row.split()[2] == "loaded" and row.split()[6] == "http" for row in rows)
    as_json = careshare(local_env, "registry", "show", "--feed", "ct_care_homes", "--json")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["report_date"][:10] for r in records] == ["2020-11-30", "2020-11-29"]
    assert all(len(r["sha256"]) == 64 and r["rows_delivered"] > 0 for r in records)
    receipts = careshare(local_env, "registry", "show", "--feed", "ct_care_homes", "--date", "2020-11-30", "--receipts")
    [receipt] = [json.loads(line) for line in receipts.stdout.splitlines()]
    assert (receipt["sha256"], receipt["route"]) == (records[0]["sha256"], "http")
    assert receipt["source"].endswith("/exports/ct_care_homes/2020-11-30")
    assert careshare(local_env, "registry", "show", "--receipts").returncode == 2
