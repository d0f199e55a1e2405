"""One report date, stage by stage, outside Airflow: what `careshare run` does.

Each stage calls the same package functions as the DAG task that does it (pipeline.py, merge.py,
publish, quality) and sums the outcome up in one line. A stage's status says whether the day
can go on: `ok`; `warn` (something to look at, the day goes on: a feed's file failed and the day
is published without it, as the DAGs do); `failed` (the day stops here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from careshare.cli.environment import LocalEnvironment, NotConfigured
from careshare.feeds import FEEDS
from careshare.status import StageStatus

if TYPE_CHECKING:
    from careshare.resources import Platform

OK, WARN, FAILED = StageStatus.OK, StageStatus.WARN, StageStatus.FAILED
DAY_STAGES = ("fetch", "load", "merge", "publish", "quality")
FIRST_DAY_STAGES = ("reference", *DAY_STAGES)
STAGES = (*FIRST_DAY_STAGES, "recheck")


@dataclass(frozen=True)
class StageReport:
    stage: str
    report_date: date
    status: StageStatus
    summary: str
    seconds: float = 0.0


@dataclass
class LocalRun:
    """`repin_directory`: the merge stage moves its dates to the newest directory load; `note`: the
    publish stage's word on why, stated by each new release."""

    environment: LocalEnvironment
    platform: Platform
    repin_directory: bool = False
    note: str | None = None

    @classmethod
    def from_env(cls) -> LocalRun:
        environment = LocalEnvironment.from_env()
        return cls(environment, environment.platform())

    def stage(self, stage: str, day: date) -> StageReport:
        started = time.perf_counter()
        try:
            status, summary = STAGE_RUNNERS[stage](self, day)
        except NotConfigured as missing:
            status, summary = FAILED, str(missing)
        return StageReport(stage, day, status, summary, time.perf_counter() - started)

    def day(self, day: date) -> Iterator[StageReport]:
        """Every stage of the date in order, stopping at the first that fails. The CQC directory is
        loaded first only if it never has been (the merge needs it); reload it with the reference stage."""
        from careshare.readiness import readiness

        stages = DAY_STAGES if readiness(self.platform, day).directory_loaded else FIRST_DAY_STAGES
        for stage in stages:
            report = self.stage(stage, day)
            yield report
            if report.status == FAILED:
                return


def _reference(run: LocalRun, day: date) -> tuple[StageStatus, str]:
    from careshare.reference_load import load_directory, load_local_authority_reference

    councils = load_local_authority_reference(run.platform)
    loaded = load_directory(run.platform, run.environment.directory_client(), datetime.now(UTC))
    return OK, (
        f"{councils} councils; directory {loaded['mode']} load: {loaded['locations_fetched']} locations, "
        f"{loaded['versions_added']} new versions"
    )


def _fetch(run: LocalRun, day: date) -> tuple[StageStatus, str]:
    from careshare.pipeline import fetch_feed_day
    from careshare.status import FetchStatus

    endpoint, landing = run.environment.feed_sources(run.platform)
    outcomes = [fetch_feed_day(run.platform, feed, day, endpoint=endpoint, landing=landing) for feed in FEEDS]
    parts = [
        f"{o.feed} {o.status} {(o.sha256 or '')[:12]}"
        if o.status == FetchStatus.ARCHIVED
        else f"{o.feed} {o.status} ({o.message})"
        for o in outcomes
    ]
    return (FAILED if any(o.status == FetchStatus.WAITING for o in outcomes) else OK), "; ".join(parts)


def _load(run: LocalRun, day: date) -> tuple[StageStatus, str]:
    from careshare.pipeline import absence_reason, settle_feed_day
    from careshare.readiness import feed_settled
    from careshare.status import FeedDayStatus, FetchStatus

    warehouse = run.platform.warehouse
    settled = warehouse.query_frame("registry/feed_days", {"report_date": day}).set_index("feed")
    status, parts = OK, []
    for feed in FEEDS:
        received = not warehouse.query_frame("registry/current_delivery", {"feed": feed, "report_date": day}).empty
        recorded = str(settled.at[feed, "status"]) if feed in settled.index else None
        fetched: str = FetchStatus.ARCHIVED
        reason = None
        if not received and not feed_settled(feed, day, recorded):
            status = FAILED
            parts.append(f"{feed}: no file received (fetch it first)")
            continue
        if not received and recorded:
            fetched, reason = recorded, str(settled.at[feed, "message"])
        elif not received:
            fetched, reason = FetchStatus.ABSENT, absence_reason(feed, day)
        result = settle_feed_day(run.platform, feed, day, fetched, reason)
        if result.status == FeedDayStatus.FAILED:
            status = WARN if status == OK else status
            parts.append(f"{feed} failed: {result.message}")
        elif received:
            parts.append(f"{feed} {result.rows_staged} rows staged, {result.rows_quarantined} quarantined")
        else:
            parts.append(f"{feed} {result.status}")
    return status, "; ".join(parts)


def _recheck(run: LocalRun, day: date) -> tuple[StageStatus, str]:
    """The feed runs' look at past dates (corrections, late files), as of report date `day`."""
    from careshare.pipeline import recheck_past_days
    from careshare.status import NEEDS_ATTENTION, CheckOutcome

    endpoint, landing = run.environment.feed_sources(run.platform)
    checks = [c for f in FEEDS for c in recheck_past_days(run.platform, f, day, endpoint=endpoint, landing=landing)]
    news = [
        f"{c.feed} {c.report_date} {c.status}" + (f" ({c.message})" if c.message else "")
        for c in checks
        if c.status != CheckOutcome.UNCHANGED
    ]
    status = WARN if any(c.status in NEEDS_ATTENTION for c in checks) else OK
    return status, f"{len(checks)} past dates checked" + (f": {'; '.join(news)}" if news else ", nothing new")


def _merge(run: LocalRun, day: date) -> tuple[StageStatus, str]:
    from careshare.matching import CrosswalkError
    from careshare.merge import MergeCheckFailed, merge_day, validate_day
    from careshare.pipeline import hand_over, merge_failure
    from careshare.readiness import ready_dates

    ready, waiting = ready_dates(run.platform, {day})
    if not ready:
        return FAILED, waiting[0]
    hand_over(run.platform, ready)
    try:
        merged = merge_day(run.platform, day, repin_directory=run.repin_directory)
        accounts = validate_day(run.platform, day)
    except (MergeCheckFailed, CrosswalkError) as failed:
        return FAILED, str(merge_failure(run.platform, day, failed).failure)
    kept = ", ".join(
        f"{a.feed} {a.delivered} = {a.published} published + {a.superseded} superseded + {a.quarantined} quarantined"
        for a in accounts
    )
    return OK, f"{merged.locations} locations; {kept}"


def _publish(run: LocalRun, day: date) -> tuple[StageStatus, str]:
    from careshare.pipeline import check_publication
    from careshare.publish import publish_day

    check = check_publication(run.platform, day)
    if check.failure:
        return FAILED, check.failure
    result = publish_day(run.platform, day, note=run.note)
    releases = ", ".join(
        f"{r.dataset} v{r.version}{'' if r.new else ' (unchanged)'} {r.rows} rows" for r in result.releases
    )
    reasons = sorted({r.reason["text"] for r in result.releases if r.new and r.version > 1 and r.reason})
    said = [f"reason: {text}" for text in reasons]
    if run.note and not any(r.new for r in result.releases):
        said.append("nothing changed, so no release states the note")
    return OK, "; ".join([releases, *said])


def _quality(run: LocalRun, day: date) -> tuple[StageStatus, str]:
    from careshare.quality.publication import publish_quality

    return OK, f"report {publish_quality(run.platform, day, quarantine=True).report_url}"


STAGE_RUNNERS: dict[str, Callable[[LocalRun, date], tuple[StageStatus, str]]] = {
    "reference": _reference,
    "fetch": _fetch,
    "load": _load,
    "merge": _merge,
    "publish": _publish,
    "quality": _quality,
    "recheck": _recheck,
}
