"""Validation runs of one report date, with the platform around them: each feed file as it is
ingested, and each published dataset before it is published.

Every run is recorded: its outcome and failing rules in the warehouse (`quality_run`,
`quality_rule_failure`) for the daily report, and the full GX result as JSON under the quality
root (`validations/report_date=<D>/<suite>/<time>.json`) for the Data Docs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from careshare.conform.conform import SERVICE_GROUP
from careshare.conform.parse import SOURCE_ROW
from careshare.datasets import DATASETS, Dataset
from careshare.feeds import FeedSpec
from careshare.merge import directory_day
from careshare.platform import Platform
from careshare.quality.completion import expected_locations
from careshare.quality.report import ValidationReport, rule_outcomes
from careshare.quality.suites import SuiteError, dataset_parameters, load_suite, suite_parameters_for
from careshare.quality.validate import validate_frame

log = logging.getLogger(__name__)

RESULTS_PREFIX = "validations"
PREVIOUS_DAY_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class DatasetCheck:
    dataset: str
    report_date: date
    report: ValidationReport

    @property
    def passed(self) -> bool:
        return self.report.success

    def failure_message(self) -> str:
        first = self.report.blocking[0]
        return (
            f"{self.dataset} {self.report_date.isoformat()}: critical rule failed: {first.message} [rule {first.rule}]"
        )


def validate_feed_day(
    platform: Platform, frame: pd.DataFrame, spec: FeedSpec, report_date: date, sha256: str
) -> ValidationReport:
    """The feed's suite with the contract's parameters and the day's context; the run is recorded."""
    feed = spec.feed.value
    context = day_context(platform, feed, report_date, {SERVICE_GROUP[spec.feed]})
    parameters = {**suite_parameters_for(spec, report_date), **context}
    report = validate_frame(frame, platform.settings.expectations_dir / f"{feed}.json", parameters)
    record_validation(platform, report, report_date, sha256)
    return report


def dataset_suites(expectations_dir: Path) -> list[Dataset]:
    """The published datasets that have a suite (`expectations/<dataset>.json`)."""
    return [dataset for name, dataset in DATASETS.items() if (expectations_dir / f"{name}.json").exists()]


def check_published_day(platform: Platform, report_date: date) -> list[DatasetCheck]:
    """Every dataset suite on the rows about to be published for the date; each run is recorded."""
    councils = platform.local_authorities.valid_on(report_date)
    base = dataset_parameters(report_date, [c.code for c in councils], [c.region_code for c in councils])
    checks = []
    for dataset in dataset_suites(platform.settings.expectations_dir):
        suite_path = platform.settings.expectations_dir / f"{dataset.name}.json"
        row_key = load_suite(suite_path).document.get("meta", {}).get("row_key", SOURCE_ROW)
        context = day_context(platform, dataset.name, report_date, {"care_home", "community"})
        frame = dataset_frame(platform, dataset, report_date)
        if row_key not in frame:
            raise SuiteError(f"{suite_path}: meta.row_key {row_key!r} is not a column of {dataset.name}")
        report = validate_frame(frame, suite_path, {**base, **context}, row_key=row_key)
        record_validation(platform, report, report_date, None)
        checks.append(DatasetCheck(dataset.name, report_date, report))
        log.info("%s %s: %s", dataset.name, report_date, "passed" if report.success else "blocked")
    return checks


def dataset_frame(platform: Platform, dataset: Dataset, report_date: date) -> pd.DataFrame:
    """The rows publish writes (`sql/publish/<dataset>.sql`), typed as published."""
    from careshare.publish.formats import to_arrow

    rows = platform.warehouse.query_frame(f"publish/{dataset.name}", directory_day(platform.warehouse, report_date))
    frame = to_arrow(rows, dataset).to_pandas()
    for field in dataset.fields:
        if field.type == "date":
            frame[field.name] = pd.to_datetime(frame[field.name])
    return frame


def day_context(platform: Platform, suite: str, report_date: date, service_groups: set[str]) -> dict[str, Any]:
    """`previous_day_rows`: rows the suite checked on the closest earlier date (within a week);
    `expected_locations`: locations of these service groups the directory expects to answer."""
    previous = platform.warehouse.query_frame(
        "quality/previous_rows",
        {"suite": suite, "report_date": report_date, "since": report_date - PREVIOUS_DAY_LOOKBACK},
    )
    expected = expected_locations(platform, report_date)
    in_groups = int(expected["service_group"].isin(service_groups).sum())
    return {
        "previous_day_rows": int(previous.at[0, "rows_checked"]) if not previous.empty else None,
        "expected_locations": in_groups or None,
    }


def run_stamp(validated_at: datetime) -> str:
    """The run's time as it names the run's files (its GX result, its Data Docs page)."""
    return validated_at.strftime("%Y%m%dT%H%M%S%fZ")


def run_name(suite: str, report_date: date, sha256: str | None, validated_at: datetime) -> str:
    """`<feed> <date> <sha256 prefix>` for a feed file; a published dataset's run is told by its time."""
    told_by = sha256[:12] if sha256 else validated_at.strftime("%Y%m%dT%H%M%SZ")
    return f"{suite} {report_date.isoformat()} {told_by}"


def record_validation(platform: Platform, report: ValidationReport, report_date: date, sha256: str | None) -> str:
    """Keeps the run (warehouse rows and GX result JSON, with the run's name); returns its run id."""
    validated_at = datetime.now(UTC).replace(tzinfo=None)
    stamp = run_stamp(validated_at)
    run_id = f"{report.suite}:{report_date.isoformat()}:{stamp}"
    key = f"{RESULTS_PREFIX}/report_date={report_date.isoformat()}/{report.suite}/{stamp}.json"
    name = run_name(report.suite, report_date, sha256, validated_at)
    run_id_of_gx = {"run_name": name, "run_time": f"{validated_at.isoformat()}Z"}
    document = {**report.gx_result, "meta": {**report.gx_result["meta"], "run_id": run_id_of_gx}}
    platform.quality.put(key, json.dumps(document).encode())
    run = {
        "run_id": run_id,
        "suite": report.suite,
        "report_date": report_date,
        "source_sha256": sha256,
        "validated_at": validated_at,
        "success": report.success,
        "rows_checked": report.statistics.rows,
        "rows_quarantined": report.statistics.rows_quarantined,
        "expectations_evaluated": report.statistics.evaluated,
        "expectations_failed": report.statistics.unsuccessful,
        "result_key": key,
    }
    failures = pd.DataFrame(
        [{"run_id": run_id, **outcome.__dict__} for outcome in rule_outcomes(report)],
        columns=["run_id", "rule", "severity", "blocking", "rows_failing", "percent_failing", "message"],
    )
    failures["rows_failing"] = failures["rows_failing"].astype("Int64")
    failures["message"] = failures["message"].str.slice(0, 2000)
    with platform.warehouse.transaction() as connection:
        platform.warehouse.insert_frame(connection, "quality_run", pd.DataFrame([run]))
        platform.warehouse.insert_frame(connection, "quality_rule_failure", failures)
    return run_id
