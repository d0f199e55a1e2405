"""A GX validation result turned into plain dataclasses: failed rows, blocking rules, warnings.

Row-level rules name each failing row by `source_row`; a critical rule that fails as a whole
(table-level, or row-level past its `mostly`) blocks the feed-day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from careshare.conform.parse import SOURCE_ROW
from careshare.quality.suites import Suite

_COLUMN_KWARGS = ("column", "column_A", "column_B")
ROW_LABEL = "row_label"  # the column (and index) naming each validated row


@dataclass(frozen=True)
class RowFailure:
    source_row: int | str  # the file's row number; for a published dataset, its key (location_id)
    rule: str
    severity: str
    column: str  # the rule's column(s), comma-separated for a rule across columns
    value: str | None  # the offending cell(s) as text, `column=value` pairs when several
    message: str


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    severity: str
    message: str
    unexpected_count: int | None = None  # None for table-level rules
    unexpected_percent: float | None = None  # of the non-null values checked


@dataclass(frozen=True)
class Statistics:
    evaluated: int
    successful: int
    unsuccessful: int
    rows: int
    rows_quarantined: int


@dataclass
class ValidationReport:
    suite: str
    success: bool  # False when any critical rule failed as a whole: the feed-day is blocked
    row_failures: list[RowFailure]
    blocking: list[RuleFailure]
    warnings: list[RuleFailure]
    statistics: Statistics
    gx_result: dict[str, Any] = field(repr=False)

    @property
    def quarantined_rows(self) -> list[int | str]:
        """Rows that fail at least one critical row-level rule."""
        return sorted({f.source_row for f in self.row_failures if f.severity == "critical"})


def build_report(
    suite: Suite, gx_result: dict[str, Any], frame: pd.DataFrame, row_key: str = SOURCE_ROW
) -> ValidationReport:
    """`frame` is the validated frame, indexed by its row labels (for the offending values)."""
    order = {e["meta"]["rule"]: n for n, e in enumerate(suite.expectations)}
    row_failures: list[RowFailure] = []
    blocking: list[RuleFailure] = []
    warnings: list[RuleFailure] = []
    for result in gx_result["results"]:
        configuration = result["expectation_config"]
        rule, severity = configuration["meta"]["rule"], configuration["meta"]["severity"]
        description = configuration["meta"]["description"]
        columns = _columns(configuration["kwargs"])
        row_failures.extend(_row_failures(result, rule, severity, description, columns, frame, row_key))
        if not result["success"]:
            failure = _rule_failure(result, rule, severity, description)
            (blocking if severity == "critical" else warnings).append(failure)
    row_failures.sort(key=lambda f: (f.source_row, order[f.rule]))
    blocking.sort(key=lambda f: order[f.rule])
    warnings.sort(key=lambda f: order[f.rule])
    statistics = gx_result["statistics"]
    quarantined = {f.source_row for f in row_failures if f.severity == "critical"}
    return ValidationReport(
        suite=suite.name,
        success=not blocking,
        row_failures=row_failures,
        blocking=blocking,
        warnings=warnings,
        statistics=Statistics(
            evaluated=statistics["evaluated_expectations"],
            successful=statistics["successful_expectations"],
            unsuccessful=statistics["unsuccessful_expectations"],
            rows=len(frame),
            rows_quarantined=len(quarantined),
        ),
        gx_result=gx_result,
    )


def _columns(kwargs: dict[str, Any]) -> list[str]:
    return [kwargs[k] for k in _COLUMN_KWARGS if k in kwargs] + list(kwargs.get("column_list", []))


def row_labels(result: dict[str, Any]) -> list[Any]:
    """The labels of the rows an expectation found, in both shapes GX uses: one dict of lists
    (exclude_unexpected_values) or a dict per row."""
    labels: list[Any] = []
    for entry in result.get("result", {}).get("unexpected_index_list") or []:
        labels.extend(entry[ROW_LABEL] if isinstance(entry[ROW_LABEL], list) else [entry[ROW_LABEL]])
    return labels


def _source_rows(result: dict[str, Any], row_key: str) -> list[int | str]:
    return [int(v) if row_key == SOURCE_ROW else str(v) for v in row_labels(result)]


def _row_failures(
    result: dict[str, Any],
    rule: str,
    severity: str,
    description: str,
    columns: list[str],
    frame: pd.DataFrame,
    row_key: str,
) -> list[RowFailure]:
    rows = _source_rows(result, row_key)
    if not rows:
        return []
    cells = frame.loc[rows, columns].itertuples(index=False)
    values = [_cells_text(columns, record) for record in cells]
    return [
        RowFailure(row, rule, severity, ", ".join(columns), value, f"{description} Found {found}.")
        for row, (value, found) in zip(rows, values, strict=True)
    ]


def _cells_text(columns: list[str], record: tuple[Any, ...]) -> tuple[str | None, str]:
    """The cell value(s) alone, and `column = value` pairs for the message."""
    texts = [None if pd.isna(v) else str(v) for v in record]
    pairs = ", ".join(f"{c} = {t if t is not None else 'blank'}" for c, t in zip(columns, texts, strict=True))
    if len(columns) == 1:
        return texts[0], pairs
    return pairs, pairs


def _rule_failure(result: dict[str, Any], rule: str, severity: str, description: str) -> RuleFailure:
    errors = exception_messages(result.get("exception_info") or {})
    if errors:
        return RuleFailure(rule, severity, f"{description} Could not be checked: {'; '.join(errors)}")
    outcome = result.get("result") or {}
    if "unexpected_count" not in outcome:
        missing = outcome.get("details", {}).get("mismatched", {}).get("missing")
        observed = f"missing column(s) {', '.join(missing)}" if missing else outcome.get("observed_value")
        return RuleFailure(rule, severity, f"{description} Observed: {observed}.")
    count, percent = outcome["unexpected_count"], outcome.get("unexpected_percent")
    mostly = result["expectation_config"]["kwargs"].get("mostly", 1)
    limit = f"; up to {100 * (1 - mostly):g}% may fail" if mostly < 1 else ""
    return RuleFailure(
        rule,
        severity,
        f"{description} {count} row(s) fail ({percent or 0:.1f}% of values checked{limit}).",
        unexpected_count=count,
        unexpected_percent=percent,
    )


def exception_messages(info: dict[str, Any]) -> list[str]:
    """GX reports one exception flat, or several keyed by the metric that raised them."""
    if "raised_exception" in info:
        return [str(info["exception_message"])] if info["raised_exception"] else []
    return sorted({str(e.get("exception_message")) for e in info.values() if isinstance(e, dict)})


@dataclass(frozen=True)
class RuleOutcome:
    """A rule that caught something in a run: failed as a whole, or failed rows within its `mostly`."""

    rule: str
    severity: str
    blocking: bool
    rows_failing: int | None  # None for table-level rules
    percent_failing: float | None
    message: str


def rule_outcomes(report: ValidationReport) -> list[RuleOutcome]:
    failed = {f.rule: f for f in [*report.blocking, *report.warnings]}
    rows: dict[str, set[int | str]] = {}
    for failure in report.row_failures:
        rows.setdefault(failure.rule, set()).add(failure.source_row)
    outcomes = []
    for result in report.gx_result["results"]:
        meta = result["expectation_config"]["meta"]
        rule, severity = meta["rule"], meta["severity"]
        if rule not in failed and rule not in rows:
            continue
        caught = len(rows[rule]) if rule in rows else None
        if rule in failed:
            message = failed[rule].message
        else:
            message = f"{meta['description']} {caught} row(s) fail, within the rule's tolerance."
        percent = 100 * caught / report.statistics.rows if caught is not None and report.statistics.rows else None
        outcomes.append(
            RuleOutcome(rule, severity, severity == "critical" and rule in failed, caught, percent, message)
        )
    return outcomes


BLOCKED, QUARANTINED, REPORTED = "blocked the day", "quarantined", "reported"
FAILED, PASSED_WITH_WARNINGS, PASSED = "Failed", "Passed with warnings", "Passed"


def outcome_name(severity: str, blocking: bool) -> str:
    """What a rule that caught something did, in the daily report's words."""
    if blocking:
        return BLOCKED
    return QUARANTINED if severity == "critical" else REPORTED


def run_status(success: bool, rules_caught: int) -> str:
    """A run failed only when a critical rule failed as a whole (`ValidationReport.success`, what
    blocks the day); rules that caught something without blocking (warnings, rows quarantined within
    a rule's `mostly`) leave it passed with warnings. GX's own `success` fails it on any of these."""
    if not success:
        return FAILED
    return PASSED_WITH_WARNINGS if rules_caught else PASSED
