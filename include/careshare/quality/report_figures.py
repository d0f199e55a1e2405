"""The figures of the daily quality report, from the warehouse, as plain JSON-ready values.

Per feed: rows delivered, valid, quarantined (by rule), superseded, published, held back; the rows
published despite a failed warning rule; the published datasets' checks; completion against the
CQC directory by council (those under the completion threshold first) and region; the rules that
caught most rows; and 30-day trends (completion, quarantine rate, stale share).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from careshare.datasets import DATASETS
from careshare.feeds import FEEDS
from careshare.quality.completion import (
    completion_by_council,
    completion_by_region,
    completion_threshold,
    expected_locations,
    national_completion,
    needing_action_first,
    published_locations,
)
from careshare.quality.warned import warned_rows, warned_summary
from careshare.resources import Platform
from careshare.status import NEEDS_ATTENTION, CheckOutcome, FeedDayStatus

TREND_DAYS = 30
TOP_RULES = 10
NOT_RECEIVED = "not received"
OUTCOME_ORDER = ("blocked the day", "quarantined", "reported")


def daily_figures(platform: Platform, report_date: date) -> dict[str, Any]:
    warehouse = platform.warehouse
    day = {"report_date": report_date}
    feed_days = warehouse.query_frame("registry/feed_days", day).set_index("feed")
    accounts = warehouse.query_frame("checks/row_accounting", day).set_index("feed").to_dict(orient="index")
    by_rule = warehouse.query_frame("quality/quarantine_by_rule", day)
    runs = warehouse.query_frame("quality/latest_runs", day)
    expected = expected_locations(platform, report_date)
    published = published_locations(platform, report_date)
    councils = completion_by_council(expected, published)
    threshold = completion_threshold()
    return {
        "report_date": report_date.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "feeds": [_feed(feed.value, feed_days, accounts, by_rule) for feed in FEEDS],
        "datasets": _datasets(runs),
        "completion": {
            "national": national_completion(expected, published),
            "expected": len(expected),
            "published": len(published),
            "stale": int(published["stale"].sum()),
            "threshold": threshold,
            "by_region": _records(completion_by_region(councils)),
            "by_council": _records(needing_action_first(councils, threshold)),
        },
        "warned": warned_summary(warned_rows(platform, report_date)),
        "rechecks": rechecks(platform, report_date),
        "top_rules": top_rules(by_rule, runs),
        "trend": trend(platform, report_date),
    }


def _feed(feed: str, feed_days: pd.DataFrame, accounts: dict[str, dict[str, Any]], by_rule: pd.DataFrame) -> dict:
    figures: dict[str, Any] = {
        "feed": feed,
        "status": NOT_RECEIVED,
        "rule": None,
        "message": None,
        "sha256": None,
        "quarantined_by_rule": {},
    }
    if feed not in feed_days.index:
        return figures
    row = feed_days.loc[feed]
    status = str(row["status"])
    rules = by_rule[by_rule["feed"] == feed]
    figures.update(
        status=status,
        rule=_text(row["rule"]),
        message=_text(row["message"]),
        sha256=_text(row["sha256"]),
        quarantined_by_rule={str(r.rule): int(r.rows_failing) for r in rules.itertuples(index=False)},
    )
    if status not in (FeedDayStatus.LOADED, FeedDayStatus.FAILED):
        return figures
    delivered = _int(row["rows_delivered"])
    account = accounts.get(feed, {})
    quarantined = int(account.get("quarantined", _int(row["rows_quarantined"])))
    superseded, published = int(account.get("superseded", 0)), int(account.get("published", 0))
    outcomes = quarantined + superseded + published
    return {
        **figures,
        "rows_delivered": delivered,
        "rows_valid": _int(row["rows_staged"]) if status == FeedDayStatus.LOADED else delivered - quarantined,
        "rows_quarantined": quarantined,
        "rows_superseded": superseded,
        "rows_published": published,
        "rows_held_back": delivered - quarantined if status == FeedDayStatus.FAILED else 0,
        "rows_awaiting_merge": delivered - outcomes if status == FeedDayStatus.LOADED else 0,
    }


def rechecks(platform: Platform, report_date: date) -> dict[str, Any]:
    """What the feed runs for the date found when they looked again at past dates: how many were
    unchanged, and each correction, late file, rejected file or source that could not be reached."""
    checks = platform.warehouse.query_frame("registry/source_checks", {"run_date": report_date})
    news = checks[checks["outcome"] != CheckOutcome.UNCHANGED]
    return {
        "checked": len(checks),
        "unchanged": len(checks) - len(news),
        "found": [
            {
                "feed": str(r.feed),
                "report_date": pd.Timestamp(r.report_date).date().isoformat(),
                "outcome": str(r.outcome),
                "needs_attention": str(r.outcome) in NEEDS_ATTENTION,
                "sha256": _text(r.sha256),
                "message": _text(r.message),
            }
            for r in news.itertuples(index=False)
        ],
    }


def _datasets(runs: pd.DataFrame) -> list[dict[str, Any]]:
    results = []
    for suite, rows in runs[runs["suite"].isin(list(DATASETS))].groupby("suite", sort=True):
        first = rows.iloc[0]
        failing = rows.dropna(subset=["rule"])
        results.append(
            {
                "dataset": suite,
                "passed": bool(first["success"]),
                "rows": int(first["rows_checked"]),
                "blocking": sorted(failing.loc[failing["blocking"].astype(bool), "rule"]),
                "warnings": sorted(failing.loc[failing["severity"] == "warning", "rule"]),
            }
        )
    return results


def top_rules(by_rule: pd.DataFrame, runs: pd.DataFrame) -> list[dict[str, Any]]:
    """Rules by rows caught: quarantined rows per feed and rule, then every other rule that failed
    in the latest runs (warnings, table-level rules, dataset checks), blocking ones first."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for r in by_rule.itertuples(index=False):
        entries[(str(r.feed), str(r.rule))] = {
            "suite": str(r.feed),
            "rule": str(r.rule),
            "severity": str(r.severity),
            "outcome": "quarantined",
            "rows": int(r.rows_failing),
            "message": str(r.example),
        }
    for r in runs.dropna(subset=["rule"]).itertuples(index=False):
        key = (str(r.suite), str(r.rule))
        blocking = bool(r.blocking)
        if key in entries and not blocking:
            continue
        entries[key] = {
            "suite": key[0],
            "rule": key[1],
            "severity": str(r.severity),
            "outcome": "blocked the day" if blocking else ("quarantined" if r.severity == "critical" else "reported"),
            "rows": None if pd.isna(r.rows_failing) else int(r.rows_failing),
            "message": str(r.message),
        }
    ranked = sorted(entries.values(), key=lambda e: (OUTCOME_ORDER.index(e["outcome"]), -(e["rows"] or 0), e["rule"]))
    return ranked[:TOP_RULES]


def trend(platform: Platform, report_date: date) -> dict[str, list]:
    """Per day of the last 30: national completion, quarantined share of delivered rows, stale
    share of published rows (None where the day has no data)."""
    first = report_date - timedelta(days=TREND_DAYS - 1)
    window = {"first_date": first, "report_date": report_date}
    delivered = _by_date(platform.warehouse.query_frame("quality/delivered_trend", window))
    published = _by_date(platform.warehouse.query_frame("quality/published_trend", window))
    dates = [first + timedelta(days=n) for n in range(TREND_DAYS)]
    series: dict[str, list] = {
        "dates": [d.isoformat() for d in dates],
        "completion": [],
        "quarantine_rate": [],
        "stale_share": [],
    }
    for day in dates:
        row = delivered.get(day)
        series["quarantine_rate"].append(_share(row, "quarantined", "delivered"))
        out = published.get(day)
        series["stale_share"].append(_share(out, "stale", "published"))
        series["completion"].append(
            national_completion(expected_locations(platform, day), published_locations(platform, day)) if out else None
        )
    return series


def _by_date(frame: pd.DataFrame) -> dict[date, dict[str, Any]]:
    return {pd.Timestamp(r["report_date"]).date(): r for r in frame.to_dict(orient="records")}


def _share(row: dict[str, Any] | None, part: str, whole: str) -> float | None:
    if not row or not row[whole]:
        return None
    return float(row[part] or 0) / float(row[whole])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in record.items()} for record in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)
