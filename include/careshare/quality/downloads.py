"""Every quarantined and every warned row of a report date as CSV, one file per council, beside the
daily report: `reports/report_date=<D>/quarantined/la_code=<code>.csv` and `.../warned/la_code=<code>.csv`.

Rows are placed like the quarantine dataset (placement.py), so a council's file holds rows of its
own locations only and `la_code=unknown` those that cannot be placed. The files are Excel-safe like
the published CSV: UTF-8 with a byte order mark, CRLF line ends, and text a spreadsheet would run
as a formula prefixed with `'`. Each report replaces the date's files: a file whose council has no
rows left is deleted.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pandas as pd

from careshare.conform.parse import SOURCE_ROW
from careshare.publish.formats import CSV_ENCODING, neutralise
from careshare.publish.parallel import in_parallel
from careshare.quality.links import relative_link, report_key, report_prefix
from careshare.quality.placement import council_codes, council_segment, directory_locations
from careshare.quality.quarantine import SCHEMA, manifest_key, partition_key, quarantined_rows
from careshare.quality.warned import warned_rows
from careshare.resources import Platform

QUARANTINED, WARNED = "quarantined", "warned"
COLUMNS = {
    QUARANTINED: SCHEMA.names,
    WARNED: ["feed", "source_sha256", SOURCE_ROW, "outcome", "location_id", "rule", "column_name", "value", "message"],
}


def download_key(report_date: date, kind: str, la_code: str) -> str:
    return f"{report_prefix(report_date)}{kind}/{council_segment(la_code)}.csv"


def write_downloads(platform: Platform, report_date: date) -> dict[str, list[dict[str, Any]]]:
    """Writes the date's files; returns, per kind, each council's rows and the report's links to
    its CSV and (quarantined rows, once exported) its quarantine Parquet."""
    directory = directory_locations(platform, report_date)
    warned = warned_rows(platform, report_date)
    frames = {
        QUARANTINED: quarantined_rows(platform, report_date, directory),
        WARNED: warned.assign(la_code=council_codes(warned["location_id"], directory)),
    }
    exported = _exported_partitions(platform, report_date)
    return {kind: _write_kind(platform, report_date, kind, rows, exported) for kind, rows in frames.items()}


def _write_kind(
    platform: Platform, report_date: date, kind: str, rows: pd.DataFrame, exported: set[str]
) -> list[dict[str, Any]]:
    page = report_key(report_date)
    files = [
        (str(la_code), download_key(report_date, kind, str(la_code)), part)
        for la_code, part in rows.groupby("la_code", sort=True)
    ]
    in_parallel(lambda file: platform.quality.put(file[1], csv_bytes(file[2][COLUMNS[kind]])), files)
    entries = []
    for la_code, key, part in files:
        parquet = partition_key(la_code, report_date)
        entries.append(
            {
                "la_code": la_code,
                "rows": len(part.drop_duplicates(["feed", SOURCE_ROW])),
                "csv": relative_link(page, key),
                "parquet": relative_link(page, parquet) if parquet in exported and kind == QUARANTINED else None,
            }
        )
    stale = set(platform.quality.keys(f"{report_prefix(report_date)}{kind}/")) - {key for _, key, _ in files}
    platform.quality.delete(sorted(stale))
    return entries


def csv_bytes(rows: pd.DataFrame) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(rows.columns)
    writer.writerows([_cell(value) for value in record] for record in rows.itertuples(index=False))
    return buffer.getvalue().encode(CSV_ENCODING)


def _cell(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    return neutralise(value) if isinstance(value, str) else str(value)


def _exported_partitions(platform: Platform, report_date: date) -> set[str]:
    manifest = manifest_key(report_date)
    if not platform.quality.exists(manifest):
        return set()
    return set(json.loads(platform.quality.get(manifest))["objects"])
