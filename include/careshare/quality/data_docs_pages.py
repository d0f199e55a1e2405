"""The pages of the Data Docs site, rendered from recorded validation runs: the index of every run,
a page per report date, a page per run. Plain HTML with inline styles (and, on the index, a small
inline script to filter the runs) and links relative to each page, so the site reads the same
offline, from a bucket or from a folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from careshare.datasets import DATASETS
from careshare.quality.gx_result import (
    BLOCKED,
    FAILED,
    PASSED,
    PASSED_WITH_WARNINGS,
    QUARANTINED,
    REPORTED,
    exception_messages,
    outcome_name,
    row_labels,
    run_status,
)
from careshare.quality.links import DATA_DOCS_INDEX, data_docs_key, data_docs_prefix, relative_link, report_key
from careshare.quality.runs import run_name, run_stamp
from careshare.quality.templating import environment

ROWS_SHOWN = 50  # failing row labels listed per expectation; the GX result has them all
OBSERVED_CHARACTERS = 200
PASSED_RULE = "passed"
OUTCOME_ORDER = (BLOCKED, QUARANTINED, REPORTED, PASSED_RULE)
STATUS_CSS = {FAILED: "failed", PASSED_WITH_WARNINGS: "warnings", PASSED: "passed"}


@dataclass(frozen=True)
class RecordedRun:
    """A validation run as `quality_run` holds it; `rules_caught`: its rows in `quality_rule_failure`."""

    run_id: str
    suite: str
    report_date: date
    source_sha256: str | None
    validated_at: datetime
    success: bool
    rows_checked: int
    rows_quarantined: int
    rules_caught: int
    result_key: str

    @property
    def name(self) -> str:
        return run_name(self.suite, self.report_date, self.source_sha256, self.validated_at)

    @property
    def data_asset(self) -> str:
        return self.suite  # a suite is named after its feed or published dataset

    @property
    def kind(self) -> str:
        return "published dataset" if self.suite in DATASETS else "feed file"

    @property
    def status(self) -> str:
        return run_status(self.success, self.rules_caught)

    @property
    def status_css(self) -> str:
        return STATUS_CSS[self.status]

    @property
    def page_key(self) -> str:
        return f"{data_docs_prefix(self.report_date)}{self.suite}/{run_stamp(self.validated_at)}.html"


@dataclass(frozen=True)
class ExpectationView:
    """One expectation of a run's GX result, with what the run recorded of the rule."""

    rule: str
    severity: str
    description: str
    expectation: str
    arguments: str
    outcome: str
    message: str | None
    found: list[tuple[str, str]]
    rows: list[str]
    more_rows: int


@dataclass(frozen=True)
class DateSummary:
    report_date: date
    runs: int
    failed: int
    with_warnings: int


def render_index(runs: list[RecordedRun], dates: list[date]) -> str:
    """`runs` newest first; `dates`: every date with a page, newest first."""
    summaries = [_summary(day, [r for r in runs if r.report_date == day]) for day in dates]
    return _render(
        "data_docs_index.html",
        DATA_DOCS_INDEX,
        runs=runs,
        dates=summaries,
        suites=sorted({r.suite for r in runs}),
    )


def render_date(report_date: date, runs: list[RecordedRun]) -> str:
    return _render("data_docs_date.html", data_docs_key(report_date), report_date=report_date, runs=runs)


def render_run(run: RecordedRun, gx_result: dict[str, Any], outcomes: dict[str, dict[str, Any]]) -> str:
    """`outcomes`: the run's `quality_rule_failure` rows by rule."""
    expectations = [
        _expectation(result, outcomes.get(result["expectation_config"]["meta"]["rule"]))
        for result in gx_result["results"]
    ]
    expectations.sort(key=lambda e: OUTCOME_ORDER.index(e.outcome))
    return _render(
        "data_docs_run.html", run.page_key, run=run, expectations=expectations, statistics=gx_result["statistics"]
    )


def _summary(report_date: date, runs: list[RecordedRun]) -> DateSummary:
    statuses = [r.status for r in runs]
    return DateSummary(report_date, len(runs), statuses.count(FAILED), statuses.count(PASSED_WITH_WARNINGS))


def _expectation(result: dict[str, Any], outcome: dict[str, Any] | None) -> ExpectationView:
    configuration = result["expectation_config"]
    meta = configuration["meta"]
    arguments = {k: v for k, v in configuration["kwargs"].items() if k != "batch_id"}
    labels = [str(label) for label in row_labels(result)]
    return ExpectationView(
        rule=meta["rule"],
        severity=meta["severity"],
        description=meta["description"],
        expectation=configuration["type"],
        arguments=json.dumps(arguments, default=str),
        outcome=outcome_name(outcome["severity"], bool(outcome["blocking"])) if outcome else PASSED_RULE,
        message=outcome["message"] if outcome else None,
        found=_found(result),
        rows=labels[:ROWS_SHOWN],
        more_rows=max(len(labels) - ROWS_SHOWN, 0),
    )


def _found(result: dict[str, Any]) -> list[tuple[str, str]]:
    """What GX observed: an error, the observed value, or the values that did not meet it."""
    outcome = result.get("result") or {}
    found = [("could not be checked", m) for m in exception_messages(result.get("exception_info") or {})]
    if outcome.get("observed_value") is not None:
        observed = json.dumps(outcome["observed_value"], default=str)
        cut = observed[:OBSERVED_CHARACTERS] + ("…" if len(observed) > OBSERVED_CHARACTERS else "")
        found.append(("observed", cut))
    if "unexpected_count" in outcome:
        found.append(("unexpected", _unexpected(outcome)))
    if outcome.get("missing_count"):
        found.append(("missing", f"{outcome['missing_count']:,}"))
    return found


def _unexpected(outcome: dict[str, Any]) -> str:
    """The values that did not meet the expectation, of those checked where GX counts them."""
    count = f"{outcome['unexpected_count']:,}"
    if "element_count" not in outcome:
        return count
    return f"{count} of {outcome['element_count']:,} ({outcome.get('unexpected_percent') or 0:.1f}%)"


def _render(name: str, page: str, **values: Any) -> str:
    """The template `name` as the page at key `page`: `href(key)` links to another key from there."""
    template = environment().get_template(name)
    return template.render(
        href=partial(relative_link, page),
        index_key=DATA_DOCS_INDEX,
        data_docs_key=data_docs_key,
        report_key=report_key,
        **values,
    )
