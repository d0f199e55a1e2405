"""A report date published with a failed or missing feed says so, in every manifest and index of
every dataset and in la_daily_summary's columns (SQLite and PostgreSQL, to a real S3 endpoint);
read back with boto3, json, pyarrow and csv, the way a consumer reads them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from careshare.datasets import DATASETS, LOCATION_DAILY
from careshare.publish import publish_day
from careshare.publish.completeness import feed_completeness
from careshare.reference_load import load_local_authority_reference
from tests.unit.publish.synthetic import synthetic_table

TUESDAY, WEDNESDAY, SATURDAY = date(2020, 12, 1), date(2020, 12, 2), date(2020, 12, 5)
COUNCILS = {"E06000001": 2, "E08000035": 3}
PROVIDERS = ("1-101010101", "1-202020202")
RAW_RECORD = "1-1000000001,Rose Court Care Home,LS1 4AP"
LOADED = {"status": "loaded", "rule": None, "reason": None}
TRUNCATED = {"status": "failed", "rule": "file.truncated", "reason": "the delivered file could not be used"}
EXPIRED = {"status": "missing", "rule": None, "reason": "no file appeared while the fetch waited for it"}
INCOMPLETE = {
    "complete": False,
    "feeds": {"ct_care_homes": LOADED, "ct_home_care": TRUNCATED, "cqc_update": EXPIRED},
    "not_collected": {},
}
COMPLETE = {
    "complete": True,
    "feeds": dict.fromkeys(("ct_care_homes", "ct_home_care", "cqc_update"), LOADED),
    "not_collected": {},
}


@pytest.fixture
def bucket(platform, buckets):
    load_local_authority_reference(platform)
    return buckets["published"]


def record_feed_day(platform, day: date, feed: str, status: str, rule: str | None = None) -> None:
    message = {
        "failed": f"{feed}/report_date={day}/0a1b.csv (landing): cut short at line 7: {RAW_RECORD}",
        "expired": "no file within 18 hours",
        "absent": f"{feed} is collected Monday to Friday only",
    }.get(status)
    row = {
        "feed": feed,
        "report_date": day,
        "status": status,
        "sha256": None if status in ("expired", "absent") else "a" * 64,
        "rule": rule,
        "message": message,
        "updated_at": datetime.now(UTC).replace(tzinfo=None),
    }
    with platform.warehouse.transaction() as connection:
        connection.execute(sa.text("DELETE FROM feed_day WHERE feed = :feed AND report_date = :report_date"), row)
        connection.execute(
            sa.text(
                "INSERT INTO feed_day (feed, report_date, status, sha256, rule, message, updated_at) "
                "VALUES (:feed, :report_date, :status, :sha256, :rule, :message, :updated_at)"
            ),
            row,
        )


def merged_day(platform, day: date, **feeds: str | tuple[str, str]) -> None:
    """The date's merged rows (locations, council and provider roll-ups) and its feed states."""
    rollups = pd.DataFrame(
        [("la", code, 10, 8, 2 * rows) for code, rows in COUNCILS.items()]
        + [("provider", provider, 4, 4, 3) for provider in PROVIDERS],
        columns=["scope", "scope_id", "locations_registered", "locations_expected", "locations_reporting"],
    ).assign(report_date=day)
    with platform.warehouse.transaction() as connection:
        platform.warehouse.insert_frame(
            connection, "location_daily", synthetic_table(LOCATION_DAILY, day, COUNCILS).to_pandas()
        )
        platform.warehouse.insert_frame(connection, "daily_rollup", rollups)
    for feed, state in feeds.items():
        status, rule = state if isinstance(state, tuple) else (state, None)
        record_feed_day(platform, day, feed, status, rule)


def get(s3_client, bucket: str, key: str) -> bytes:
    return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()


def document(s3_client, bucket: str, key: str) -> dict:
    return json.loads(get(s3_client, bucket, key))


def index_key(dataset: str, label: str) -> str:
    return f"{dataset}/_index.json" if label == "national" else f"{dataset}/la_code={label}/_index.json"


def listing(s3_client, bucket: str) -> list[dict]:
    return [
        item for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket) for item in page["Contents"]
    ]


def summary_of(completeness: dict) -> dict:
    feeds = completeness["feeds"]
    return {
        "complete": completeness["complete"],
        "failed": sorted(f for f, s in feeds.items() if s["status"] == "failed"),
        "missing": sorted(f for f, s in feeds.items() if s["status"] == "missing"),
        "not_collected": sorted(completeness["not_collected"]),
    }


def assert_every_manifest_says(s3_client, bucket: str, day: date, version: int, completeness: dict) -> None:
    for dataset in DATASETS:
        release = document(s3_client, bucket, f"_manifests/{dataset}/report_date={day}/v{version:04d}.json")
        assert release["completeness"] == completeness, dataset
        latest = document(s3_client, bucket, f"_manifests/{dataset}/latest.json")
        assert (latest["version"], latest["completeness"]) == (version, summary_of(completeness)), dataset
        for label, part in release["parts"].items():
            assert document(s3_client, bucket, part["manifest"])["completeness"] == completeness, (dataset, label)
            index = document(s3_client, bucket, index_key(dataset, label))
            versions = index["report_dates"][day.isoformat()]["versions"]
            assert (versions[-1]["version"], versions[-1]["completeness"]) == (version, summary_of(completeness))


def council_summaries(s3_client, bucket: str, day: date, version: int) -> tuple[list[dict], list[dict]]:
    """Every council's la_daily_summary rows of the version: from its Parquet file, from its CSV file."""
    release = document(s3_client, bucket, f"_manifests/la_daily_summary/report_date={day}/v{version:04d}.json")
    parquet_rows, csv_rows = [], []
    for part in release["parts"].values():
        parquet = get(s3_client, bucket, part["files"]["parquet"]["key"])
        parquet_rows += pq.read_table(io.BytesIO(parquet)).to_pylist()
        text = get(s3_client, bucket, part["files"]["csv"]["key"]).decode("utf-8-sig")
        csv_rows += list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(parquet_rows) == len(csv_rows) == len(COUNCILS)
    return parquet_rows, csv_rows


def feed_columns(row: dict) -> tuple:
    return tuple(
        row[name]
        for name in (
            "ct_care_homes_status",
            "ct_home_care_status",
            "cqc_update_status",
            "feeds_missing_or_failed",
            "feed_problems",
        )
    )


def test_a_date_with_a_failed_and_an_expired_feed_says_which_and_why(platform, bucket, s3_client):
    merged_day(
        platform, TUESDAY, ct_care_homes="loaded", ct_home_care=("failed", "file.truncated"), cqc_update="expired"
    )

    result = publish_day(platform, TUESDAY)

    assert [(r.version, r.complete) for r in result.releases] == [(1, False)] * len(DATASETS)
    assert_every_manifest_says(s3_client, bucket, TUESDAY, 1, INCOMPLETE)
    parquet_rows, csv_rows = council_summaries(s3_client, bucket, TUESDAY, 1)
    problems = "ct_home_care failed: file.truncated; cqc_update missing"
    assert {feed_columns(row) for row in parquet_rows} == {("loaded", "failed", "missing", 2, problems)}
    assert {feed_columns(row) for row in csv_rows} == {("loaded", "failed", "missing", "2", problems)}
    assert {row["completion_rate"] for row in parquet_rows} == {0.5, 0.75}, "a low rate, with its cause beside it"
    published = [get(s3_client, bucket, item["Key"]) for item in listing(s3_client, bucket)]
    assert not any(b"Rose Court" in data or b"0a1b.csv" in data for data in published), "no operator message"


def test_a_complete_date_says_complete(platform, bucket, s3_client):
    merged_day(platform, WEDNESDAY, ct_care_homes="loaded", ct_home_care="loaded", cqc_update="loaded")

    publish_day(platform, WEDNESDAY)

    assert_every_manifest_says(s3_client, bucket, WEDNESDAY, 1, COMPLETE)
    parquet_rows, csv_rows = council_summaries(s3_client, bucket, WEDNESDAY, 1)
    assert {feed_columns(row) for row in parquet_rows} == {("loaded", "loaded", "loaded", 0, None)}
    assert {feed_columns(row) for row in csv_rows} == {("loaded", "loaded", "loaded", "0", "")}


def test_a_cqc_saturday_is_complete_and_lists_the_expected_absence(platform, bucket, s3_client):
    merged_day(platform, SATURDAY, ct_care_homes="loaded", ct_home_care="loaded", cqc_update="absent")

    publish_day(platform, SATURDAY)

    saturday = {
        "complete": True,
        "feeds": {"ct_care_homes": LOADED, "ct_home_care": LOADED},
        "not_collected": {"cqc_update": "the contract does not collect the feed on this date"},
    }
    assert_every_manifest_says(s3_client, bucket, SATURDAY, 1, saturday)
    parquet_rows, _ = council_summaries(s3_client, bucket, SATURDAY, 1)
    assert {feed_columns(row) for row in parquet_rows} == {("loaded", "loaded", "not_collected", 0, None)}


def test_a_republished_date_whose_feeds_loaded_since_says_complete(platform, bucket, s3_client):
    merged_day(
        platform, TUESDAY, ct_care_homes="loaded", ct_home_care=("failed", "file.truncated"), cqc_update="expired"
    )
    publish_day(platform, TUESDAY)
    record_feed_day(platform, TUESDAY, "ct_home_care", "loaded")  # a corrected file
    record_feed_day(platform, TUESDAY, "cqc_update", "loaded")  # a late one

    result = publish_day(platform, TUESDAY)

    assert [(r.version, r.new, r.complete) for r in result.releases] == [(2, True, True)] * len(DATASETS)
    assert_every_manifest_says(s3_client, bucket, TUESDAY, 2, COMPLETE)
    parquet_rows, csv_rows = council_summaries(s3_client, bucket, TUESDAY, 2)
    assert {feed_columns(row) for row in parquet_rows} == {("loaded", "loaded", "loaded", 0, None)}
    assert {feed_columns(row) for row in csv_rows} == {("loaded", "loaded", "loaded", "0", "")}
    first = document(s3_client, bucket, f"_manifests/location_daily/report_date={TUESDAY}/v0001.json")
    assert first["completeness"] == INCOMPLETE, "the first version still says what it was published with"
    again = document(s3_client, bucket, f"_manifests/location_daily/report_date={TUESDAY}/v0002.json")
    assert not any(part["files_changed"] for part in again["parts"].values()), "its rows did not change"


@pytest.mark.parametrize(
    "recorded",
    [
        {"ct_care_homes": ("loaded", None), "ct_home_care": ("failed", "ppe.masks.allowed")},
        {"ct_care_homes": ("failed", "delivery.missing"), "ct_home_care": ("expired", None)},
        {"ct_care_homes": ("failed", None), "ct_home_care": ("absent", None), "cqc_update": ("absent", None)},
    ],
    ids=["failed-rule", "no-delivery-expired", "failed-without-rule-absences"],
)
def test_the_summary_columns_state_what_the_manifest_states(platform, bucket, recorded):
    """The statuses are mapped in SQL for the dataset and in Python for the manifests."""
    merged_day(platform, SATURDAY, **recorded)

    stated = feed_completeness(platform.warehouse, SATURDAY).document()
    rows = platform.warehouse.query_frame("publish/la_daily_summary", {"report_date": SATURDAY})

    statuses = {
        **{f: s["status"] for f, s in stated["feeds"].items()},
        **dict.fromkeys(stated["not_collected"], "not_collected"),
    }
    assert {feed: set(rows[f"{feed}_status"]) for feed in statuses} == {f: {s} for f, s in statuses.items()}
    problems = [f for f, s in stated["feeds"].items() if s["status"] in ("failed", "missing")]
    assert set(rows["feeds_missing_or_failed"]) == {len(problems)}
