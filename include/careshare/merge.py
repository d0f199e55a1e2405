"""Merge one report date: every staged row to one CQC location, one row per location.

The whole day is rebuilt in one transaction. The accounting check runs inside the same
transaction, so a day whose rows do not add up is never left merged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Connection

from careshare.platform import Platform
from careshare.warehouse import sql

log = logging.getLogger(__name__)

STALE_AFTER_DAYS = 7
MERGE_STEPS = (
    "merge/match_by_location_id",
    "merge/match_by_ods_code",
    "merge/record_unmatched",
    "merge/resolve_la_codes",
    "merge/rank_candidates",
    "merge/insert_location_daily",
    "merge/insert_superseded",
    "merge/quarantine_unmatched",
)


class AccountingError(RuntimeError):
    """Rows were lost or counted twice: publication of the day must stop."""


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

    def as_dict(self) -> dict:
        return {
            "report_date": self.report_date.isoformat(),
            "locations": self.locations,
            "accounts": [a.__dict__ for a in self.accounts],
        }


def merge_day(platform: Platform, report_date: date) -> MergeResult:
    params = {"report_date": report_date, "stale_after_days": STALE_AFTER_DAYS}
    warehouse = platform.warehouse
    with warehouse.transaction() as connection:
        warehouse.execute_script(connection, "merge/delete_day", params)
        for step in MERGE_STEPS:
            warehouse.execute(connection, step, params)
        accounts = check_accounting(connection, report_date)
        locations = sum(a.published for a in accounts)
    result = MergeResult(report_date, locations, accounts)
    log.info("merged %s: %d locations; %s", report_date, locations, [a.__dict__ for a in accounts])
    return result


def check_accounting(connection: Connection, report_date: date) -> list[FeedAccount]:
    rows = connection.execute(sql("checks/row_accounting"), {"report_date": report_date}).fetchall()
    accounts = [FeedAccount(*row) for row in rows]
    unbalanced = [a for a in accounts if not a.balanced]
    doubled = connection.execute(sql("checks/rows_with_two_outcomes"), {"report_date": report_date}).fetchall()
    if unbalanced or doubled:
        details = "; ".join(
            f"{a.feed}: {a.delivered} delivered but {a.quarantined} quarantined + {a.superseded} superseded"
            f" + {a.published} published"
            for a in unbalanced
        )
        if doubled:
            details += f"; {len(doubled)} rows with two outcomes, e.g. {tuple(doubled[0])}"
        raise AccountingError(f"{report_date.isoformat()}: row accounting failed [rule merge.accounting]: {details}")
    return accounts
