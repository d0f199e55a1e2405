"""Rows published despite a failed warning rule: a warning never holds a row back, so the rows that
failed one are kept (warehouse `warned_row`) when their file is staged, and the daily report lists
them with what the merge made of them and the council they are placed in (placement.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from careshare.conform.parse import SOURCE_ROW
from careshare.quality.validate import ValidationReport
from careshare.resources import Platform
from careshare.warehouse import Warehouse

WARNING = "warning"
PUBLISHED = "published"


def store_warned_rows(
    warehouse: Warehouse, connection: Connection, delivery: dict[str, Any], report: ValidationReport, held: set[int]
) -> None:
    """Replace the feed day's warned rows with the staged rows of `delivery` (feed, report_date,
    sha256) that failed a warning rule in `report`; rows `held` in quarantine are not staged."""
    day = {"feed": delivery["feed"], "report_date": delivery["report_date"]}
    warehouse.execute(connection, "quality/delete_warned_rows", day)
    records = [
        (f.source_row, f.rule, f.column, f.value, f.message)
        for f in report.row_failures
        if f.severity == WARNING and f.source_row not in held
    ]
    frame = pd.DataFrame.from_records(records, columns=[SOURCE_ROW, "rule", "column_name", "value", "message"])
    frame = frame.drop_duplicates([SOURCE_ROW, "rule", "column_name"])
    frame["report_date"] = pd.Timestamp(delivery["report_date"])
    frame["feed"] = delivery["feed"]
    frame["source_sha256"] = delivery["sha256"]
    warehouse.insert_frame(connection, "warned_row", warehouse.fit_text("warned_row", frame))


def warned_rows(platform: Platform, report_date: date) -> pd.DataFrame:
    """The day's warned rows of each feed's loaded delivery, with their location and outcome."""
    return platform.warehouse.query_frame("quality/warned_rows", {"report_date": report_date})


def warned_summary(rows: pd.DataFrame) -> dict[str, Any]:
    """How many rows failed a warning rule and how many of them are published, in all and per feed and rule."""
    per_rule = rows.drop_duplicates(["feed", SOURCE_ROW, "rule"])
    by_rule = (
        per_rule.assign(published=per_rule["outcome"] == PUBLISHED)
        .groupby(["feed", "rule"], as_index=False)
        .agg(rows=(SOURCE_ROW, "size"), published=("published", "sum"), example=("message", "first"))
        .sort_values(["rows", "feed", "rule"], ascending=[False, True, True])
    )
    distinct = rows.drop_duplicates(["feed", SOURCE_ROW])
    return {
        "rows": len(distinct),
        "published": int((distinct["outcome"] == PUBLISHED).sum()),
        "by_rule": [
            {"feed": r.feed, "rule": r.rule, "rows": int(r.rows), "published": int(r.published), "example": r.example}
            for r in by_rule.itertuples(index=False)
        ],
    }
