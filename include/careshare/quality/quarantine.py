"""The quarantine dataset on S3: the day's held-back rows, partitioned like the published data.

`quarantine/la_code=<ONS code>/report_date=<YYYY-MM-DD>/part-0.parquet` under the quality root,
beside the reports, so a grant on `quarantine/la_code=<code>/` can show a council the rows of its
own providers that were held back, and why. The council comes from the CQC directory (the location the merge
matched, else the row's own CQC id or ODS code), never from the provider's typed council name,
which is not trusted: a row that cannot be placed goes to `la_code=unknown`, readable only
nationally. Each export replaces the day: partitions that no longer have rows are deleted, so
a row released by a corrected file or a crosswalk entry disappears from here on rerun.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from careshare.conform.normalise import normalise_location_id, normalise_ods_code
from careshare.feeds import Kind, feed_spec
from careshare.merge import directory_day
from careshare.platform import Platform
from careshare.reference import LA_CODE_PATTERN

log = logging.getLogger(__name__)

PREFIX = "quarantine"
UNKNOWN_COUNCIL = "unknown"
SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("source_sha256", pa.string()),
        ("source_row", pa.int32()),
        ("stage", pa.string()),
        ("rule", pa.string()),
        ("column_name", pa.string()),
        ("severity", pa.string()),
        ("value", pa.string()),
        ("message", pa.string()),
        ("raw_record", pa.string()),
        ("location_id", pa.string()),
    ]
)


@dataclass
class QuarantineExport:
    report_date: date
    rows: int
    objects: dict[str, int] = field(default_factory=dict)  # key -> rows
    removed: list[str] = field(default_factory=list)
    manifest_key: str = ""


def manifest_key(report_date: date) -> str:
    return f"{PREFIX}/_manifests/report_date={report_date.isoformat()}/manifest.json"


def partition_key(la_code: str, report_date: date) -> str:
    if la_code != UNKNOWN_COUNCIL and not LA_CODE_PATTERN.match(la_code):
        raise ValueError(f"refusing to build an object key from {la_code!r}: not an ONS council code")
    return f"{PREFIX}/la_code={la_code}/report_date={report_date.isoformat()}/part-0.parquet"


def export_quarantine(platform: Platform, report_date: date) -> QuarantineExport:
    rows = platform.warehouse.query_frame("quality/quarantine_rows", {"report_date": report_date})
    councils = platform.warehouse.query_frame(
        "quality/location_councils", directory_day(platform.warehouse, report_date)
    )
    rows["location_id"] = located(rows, councils)
    council_of = dict(zip(councils["location_id"], councils["la_code"], strict=True))
    rows["la_code"] = rows["location_id"].map(council_of).fillna(UNKNOWN_COUNCIL)
    store = platform.quality
    export = QuarantineExport(report_date, len(rows))
    for la_code, part in rows.groupby("la_code", sort=True):
        key = partition_key(str(la_code), report_date)
        store.put(key, _parquet(part))
        export.objects[key] = len(part)
    manifest = manifest_key(report_date)
    if store.exists(manifest):
        previous = json.loads(store.get(manifest))["objects"]
        export.removed = sorted(set(previous) - set(export.objects))
        store.delete(export.removed)
    body = {"report_date": report_date.isoformat(), "rows": export.rows, "objects": export.objects}
    store.put(manifest, json.dumps(body, indent=2, sort_keys=True).encode())
    export.manifest_key = manifest
    log.info(
        "quarantine %s: %d rows in %d partitions, %d removed",
        report_date,
        len(rows),
        len(export.objects),
        len(export.removed),
    )
    return export


def _parquet(rows: pd.DataFrame) -> bytes:
    """The partition columns are in the path only (the hive convention)."""
    sink = io.BytesIO()
    pq.write_table(
        pa.Table.from_pandas(rows[SCHEMA.names], schema=SCHEMA, preserve_index=False), sink, compression="zstd"
    )
    return sink.getvalue()


def located(rows: pd.DataFrame, councils: pd.DataFrame) -> pd.Series:
    """The CQC location of each quarantined row: the merge's match, else the row's own CQC id
    when the directory has it, else its ODS code when exactly one location carries it."""
    known = set(councils["location_id"])
    ods = councils.dropna(subset=["ods_code"]).drop_duplicates("ods_code", keep=False)
    by_ods = dict(zip(ods["ods_code"], ods["location_id"], strict=True))
    records = [json.loads(r) if isinstance(r, str) else {} for r in rows["raw_record"]]
    ids = normalise_location_id(_cells(records, rows["feed"], Kind.LOCATION_ID))
    codes = normalise_ods_code(_cells(records, rows["feed"], Kind.ODS_CODE))
    own = ids.where(ids.isin(known))
    matched = rows["location_id"].where(rows["location_id"].notna(), own.values)
    return matched.where(matched.notna(), codes.map(by_ods).values)


def _cells(records: list[dict], feeds: pd.Series, kind: Kind) -> pd.Series:
    """The raw text of the feed's first column of this kind, per record."""
    values = []
    for record, feed in zip(records, feeds, strict=True):
        column = next((c.name for c in feed_spec(feed).columns if c.kind is kind), None)
        value = record.get(column) if column else None
        values.append(value if isinstance(value, str) else None)
    return pd.Series(values, dtype="str")
