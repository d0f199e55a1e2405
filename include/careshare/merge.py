"""Merge one report date: every staged row to one CQC location, one row per location, and the
provider and council roll-ups.

The whole day is rebuilt in one transaction: match (crosswalk, CQC id, ODS code, name within the
postcode), rank (system of record, then latest submission), publishable rows, superseded rows,
quarantine, roll-ups, then the checks. A day whose checks fail is never left merged, and the
publish DAG runs the same checks again before it publishes.

The directory is read as it was known for the report date, so a rerun gives the same result after
later directory loads: the first merge of a date pins it to the latest completed directory load
(`directory_pin.directory_as_of`), and every later merge of the date reads, for each location and
provider, the version in force at the pin (`valid_from <= directory_as_of` and `valid_to` empty or
after it). The checks, the published datasets and the quality figures of the date read the same
snapshot; a date never merged reads the latest load, which is today's directory. Re-pinning a date
to the newest load is an operator's decision (`repin_directory`, `careshare run stage merge
--repin-directory`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from careshare.datasets import STALE_AFTER_DAYS
from careshare.feeds import CQC_EXTENDED_SERVICES_FROM, CQC_UPDATE, CT_CARE_HOMES, CT_HOME_CARE, TRANSITION, Feed
from careshare.matching import (
    NAME_POSTCODE,
    UNMATCHED,
    CrosswalkError,
    crosswalk_frame,
    read_crosswalk,
    resolve_by_name,
)
from careshare.resources import Platform
from careshare.warehouse import Warehouse, sql

log = logging.getLogger(__name__)

DIRECTORY_STEPS = ("merge/insert_directory_day", "merge/analyze_directory_day")
IDENTIFIER_STEPS = ("merge/match_by_crosswalk", "merge/match_by_location_id", "merge/match_by_ods_code")
RESOLVE_STEPS = (
    "merge/rank_candidates",
    "merge/analyze_candidates",
    "merge/insert_location_daily",
    "merge/insert_superseded",
    "merge/quarantine_unknown_council",
    "merge/insert_rollups",
    "merge/insert_idle_councils",
)


class MergeCheckFailed(RuntimeError):
    """A merged day breaks an invariant (rows lost or doubled, a location twice, a dangling
    reference, roll-ups that do not add up): publication of the day must stop."""

    def __init__(self, report_date: date, failures: list[tuple[str, str]]):
        self.report_date = report_date
        self.rules = [rule for rule, _ in failures]
        details = "; ".join(f"{problem} [rule {rule}]" for rule, problem in failures)
        super().__init__(f"{report_date.isoformat()}: merged day failed its checks: {details}")


@dataclass
class FeedAccount:
    feed: str
    delivered: int
    quarantined: int
    superseded: int
    published: int

    @property
    def balanced(self) -> bool:
        return self.delivered == self.quarantined + self.superseded + self.published


@dataclass
class MergeResult:
    report_date: date
    locations: int
    accounts: list[FeedAccount] = field(default_factory=list)
    matches: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    directory_as_of: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_date": self.report_date.isoformat(),
            "locations": self.locations,
            "accounts": [a.__dict__ for a in self.accounts],
            "matches": self.matches,
            "seconds": round(self.seconds, 3),
            "directory_as_of": self.directory_as_of.isoformat() if self.directory_as_of else None,
        }


def day_parameters(report_date: date) -> dict[str, Any]:
    """What the feed calendars say about the day: whose answers count, and who was asked."""
    cqc_open = CQC_UPDATE.expected_on(report_date)
    ct_home_care_open = CT_HOME_CARE.expected_on(report_date)
    return {
        "report_date": report_date,
        "stale_after_days": STALE_AFTER_DAYS,
        "community_record_feed": (Feed.CT_HOME_CARE if report_date >= TRANSITION else Feed.CQC_UPDATE).value,
        "care_homes_asked": CT_CARE_HOMES.expected_on(report_date),
        "homecare_asked": ct_home_care_open or cqc_open,
        "housing_services_asked": ct_home_care_open or (cqc_open and report_date >= CQC_EXTENDED_SERVICES_FROM),
    }


def merge_day(
    platform: Platform, report_date: date, crosswalk_csv: Path | None = None, *, repin_directory: bool = False
) -> MergeResult:
    """`repin_directory`: read the newest directory load from now on instead of the date's pin."""
    started = time.perf_counter()
    crosswalk_file = crosswalk_csv or platform.settings.crosswalk_csv
    crosswalk = read_crosswalk(crosswalk_file)
    warehouse = platform.warehouse
    with warehouse.transaction() as connection:
        warehouse.lock(connection, "merge", report_date)
        directory = pin_directory(warehouse, connection, report_date, repin=repin_directory)
        params = {**day_parameters(report_date), "directory_as_of": directory}
        warehouse.execute_script(connection, "merge/delete_day", params)
        warehouse.insert_frame(connection, "merge_crosswalk", crosswalk_frame(crosswalk, report_date))
        _refuse_unknown_crosswalk_locations(connection, crosswalk_file, params)
        for step in (*DIRECTORY_STEPS, *IDENTIFIER_STEPS):
            warehouse.execute(connection, step, params)
        _match_the_rest(warehouse, connection, params)
        for step in RESOLVE_STEPS:
            warehouse.execute(connection, step, params)
        accounts = check_day(connection, report_date)
        matches = {method: int(n) for method, n in connection.execute(sql("merge/match_counts"), params)}
        warehouse.execute_script(connection, "merge/clear_work_tables", params)
    seconds = time.perf_counter() - started
    result = MergeResult(report_date, sum(a.published for a in accounts), accounts, matches, seconds, directory)
    log.info("merged %s in %.2fs: %s", report_date, result.seconds, result.as_dict())
    return result


def pin_directory(
    warehouse: Warehouse, connection: Connection, report_date: date, *, repin: bool = False
) -> datetime | None:
    """The directory load the date's merge reads, under the merge's day lock: the date's pin, made
    now from the latest completed load if the date has none (or `repin`). None before any load."""
    if repin:
        warehouse.execute(connection, "merge/unpin_directory", {"report_date": report_date})
    pinned_at = datetime.now(UTC).replace(tzinfo=None)
    warehouse.execute(connection, "merge/pin_directory", {"report_date": report_date, "pinned_at": pinned_at})
    return directory_as_of(connection, report_date)


def directory_as_of(connection: Connection, report_date: date) -> datetime | None:
    """The directory load a report date reads: its pin, or for a date never merged the latest load."""
    value = connection.execute(sql("merge/directory_as_of"), {"report_date": report_date}).scalar()
    return None if value is None else pd.Timestamp(value).to_pydatetime()


def directory_day(warehouse: Warehouse, report_date: date) -> dict[str, Any]:
    """The parameters of a query that reads the directory for a report date (report_date, directory_as_of)."""
    with warehouse.engine.connect() as connection:
        return {"report_date": report_date, "directory_as_of": directory_as_of(connection, report_date)}


def validate_day(platform: Platform, report_date: date) -> list[FeedAccount]:
    """The merge's checks again, read-only, on what is about to be published."""
    with platform.warehouse.engine.connect() as connection:
        return check_day(connection, report_date)


def _refuse_unknown_crosswalk_locations(connection: Connection, path: Path, params: dict[str, Any]) -> None:
    unknown = connection.execute(sql("checks/crosswalk_unknown_locations"), params).fetchall()
    if unknown:
        lines = "; ".join(
            f"line {line}: {feed} record {record_id} -> {location_id} is not in the CQC directory"
            for line, feed, record_id, location_id in unknown
        )
        raise CrosswalkError(f"{path}: {lines} [rule crosswalk.unknown_location]")


def _match_the_rest(warehouse: Warehouse, connection: Connection, params: dict[str, Any]) -> None:
    """Name within the postcode for what no identifier matched; the rest quarantined as unmatched."""
    report_date = params["report_date"]
    rows = warehouse.query_frame("merge/unmatched_rows", params, connection)
    resolutions = resolve_by_name(rows, report_date)
    matches = pd.DataFrame(
        {
            "report_date": [report_date] * len(resolutions),
            "feed": [r.feed for r in resolutions],
            "source_row": [r.source_row for r in resolutions],
            "location_id": [r.location_id for r in resolutions],
            "match_method": [NAME_POSTCODE if r.location_id else UNMATCHED for r in resolutions],
            "match_score": [r.score for r in resolutions],
        }
    )
    warehouse.insert_frame(connection, "stg_match", matches)
    quarantined = [r.quarantine for r in resolutions if r.quarantine]
    warehouse.insert_frame(connection, "quarantine_row", pd.DataFrame.from_records(quarantined))


def check_day(connection: Connection, report_date: date) -> list[FeedAccount]:
    """Raise MergeCheckFailed naming every broken invariant of the merged day; else the accounts."""
    params = {"report_date": report_date, "directory_as_of": directory_as_of(connection, report_date)}

    def rows(name: str) -> list[Any]:
        return list(connection.execute(sql(name), params).fetchall())

    accounts = [FeedAccount(*row) for row in rows("checks/row_accounting")]
    failures = [
        (
            "merge.accounting",
            f"{a.feed}: {a.delivered} delivered but {a.quarantined} quarantined + {a.superseded} superseded"
            f" + {a.published} published",
        )
        for a in accounts
        if not a.balanced
    ]
    doubled = rows("checks/rows_with_two_outcomes")
    if doubled:
        failures.append(("merge.accounting", f"{len(doubled)} rows with two outcomes, e.g. {tuple(doubled[0])}"))
    duplicates = rows("checks/duplicate_locations")
    if duplicates:
        failures.append(
            ("merge.unique_location", f"{len(duplicates)} locations published twice, e.g. {duplicates[0][0]}")
        )
    dangling = rows("checks/unknown_references")
    if dangling:
        failures.append(
            (
                "merge.reference",
                f"{len(dangling)} published rows with a location or council code unknown on the day, "
                f"e.g. {tuple(dangling[0])}",
            )
        )
    failures += [
        (
            "merge.rollup_totals",
            f"the {scope} roll-up counts {rolled_up} published rows, location_daily has {published}",
        )
        for scope, rolled_up, published in rows("checks/rollup_totals")
        if int(rolled_up) != int(published)
    ]
    if failures:
        raise MergeCheckFailed(report_date, failures)
    return accounts
