"""The quarantine dataset on S3: the day's held-back rows, partitioned like the published data.

`quarantine/la_code=<ONS code>/report_date=<YYYY-MM-DD>/part-0.parquet` under the quality root,
beside the reports, so a grant on `quarantine/la_code=<code>/` can show a council the rows of its
own providers that were held back, and why. The council is the CQC directory's for the location the
merge tied the row to (placement.py), never the typed council name nor the typed CQC id alone: a row
that cannot be placed goes to `la_code=unknown`, readable only nationally. Each export replaces the
day: partitions that no longer have rows are deleted, so a row released by a corrected file or a
crosswalk entry disappears from here on rerun.
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

from careshare.publish.parallel import in_parallel
from careshare.quality.placement import council_codes, council_segment, directory_locations, located
from careshare.resources import Platform

log = logging.getLogger(__name__)

PREFIX = "quarantine"
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
    return f"{PREFIX}/{council_segment(la_code)}/report_date={report_date.isoformat()}/part-0.parquet"


def quarantined_rows(platform: Platform, report_date: date, directory: pd.DataFrame) -> pd.DataFrame:
    """The day's quarantined rows of each feed's current delivery, with their location and council."""
    rows = platform.warehouse.query_frame("quality/quarantine_rows", {"report_date": report_date})
    rows["location_id"] = located(rows, directory, report_date)
    rows["la_code"] = council_codes(rows["location_id"], directory)
    return rows


def export_quarantine(platform: Platform, report_date: date) -> QuarantineExport:
    rows = quarantined_rows(platform, report_date, directory_locations(platform, report_date))
    store = platform.quality
    export = QuarantineExport(report_date, len(rows))
    parts = [(partition_key(str(la_code), report_date), part) for la_code, part in rows.groupby("la_code", sort=True)]
    in_parallel(lambda item: store.put(item[0], _parquet(item[1])), parts)
    export.objects = {key: len(part) for key, part in parts}
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
