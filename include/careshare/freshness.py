"""Has every file that should have arrived by now arrived?

A report date's files are due by a deadline on the next day (UK time): the feed DAGs start
fetching at 06:00 the day after the report date, so `CARESHARE_FRESHNESS_DEADLINE` (HH:MM,
default 12:00) is when a missing file becomes worth a person's attention. Report dates whose
deadline has passed, within `CARESHARE_FRESHNESS_LOOKBACK_DAYS` (default 3), are checked against
the delivery registry; a feed not collected on a date (CQC weekends, a feed outside its dates) is
never missing. Any delivery counts, even one later rejected: a rejected file is the quality
gate's alert, not this one.

Imported by the freshness DAG at parse time (for its schedule): no pandas or warehouse import at
module level.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from careshare.feeds import FEEDS

if TYPE_CHECKING:
    from careshare.resources import Platform

UK = ZoneInfo("Europe/London")
DEADLINE_ENV = "CARESHARE_FRESHNESS_DEADLINE"
LOOKBACK_ENV = "CARESHARE_FRESHNESS_LOOKBACK_DAYS"
HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_deadline(text: str) -> time:
    match = HH_MM.match(text.strip())
    if not match:
        raise ValueError(f"freshness deadline {text!r} is not HH:MM (UK time on the day after the report date)")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class FreshnessPolicy:
    deadline: time = time(12, 0)
    lookback_days: int = 3

    def __post_init__(self) -> None:
        if self.lookback_days < 1:
            raise ValueError(f"freshness lookback must be at least one day, not {self.lookback_days}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FreshnessPolicy:
        env = os.environ if env is None else env
        return cls(
            deadline=parse_deadline(env.get(DEADLINE_ENV, "12:00")),
            lookback_days=int(env.get(LOOKBACK_ENV, "3")),
        )

    def overridden(self, deadline: str | None = None, lookback_days: int | None = None) -> FreshnessPolicy:
        """This policy with a run's own settings (DAG params, command options) where given."""
        return FreshnessPolicy(
            parse_deadline(deadline) if deadline else self.deadline,
            self.lookback_days if lookback_days is None else lookback_days,
        )

    def due_at(self, report_date: date) -> datetime:
        return datetime.combine(report_date + timedelta(days=1), self.deadline, tzinfo=UK)

    def cron(self) -> str:
        """A daily schedule at the deadline (minute hour, UK time)."""
        return f"{self.deadline.minute} {self.deadline.hour} * * *"


def due_dates(as_of: datetime, policy: FreshnessPolicy) -> list[date]:
    """The report dates, newest `lookback_days` only, whose files were due by `as_of` (aware)."""
    today = as_of.astimezone(UK).date()
    candidates = [today - timedelta(days=back) for back in range(1, policy.lookback_days + 2)]
    return sorted(day for day in candidates if policy.due_at(day) <= as_of)[-policy.lookback_days :]


def expected_feeds(report_date: date) -> list[str]:
    return [feed.value for feed, spec in FEEDS.items() if spec.expected_on(report_date)]


def missing_feeds(platform: Platform, report_date: date) -> list[str]:
    """The feeds due on `report_date` of which no file at all has been received."""
    missing = []
    for feed in expected_feeds(report_date):
        received = platform.warehouse.query_frame(
            "registry/deliveries_between", {"feed": feed, "first": report_date, "last": report_date}
        )
        if received.empty:
            missing.append(feed)
    return missing


def late_message(report_date: date, missing: list[str], policy: FreshnessPolicy) -> str:
    due = policy.due_at(report_date)
    return (
        f"no file received for report date {report_date.isoformat()} from {', '.join(missing)} "
        f"(due by {due:%Y-%m-%d %H:%M} UK time)"
    )
