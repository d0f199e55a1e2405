"""Publish one report date: every dataset in datasets.DATASETS, each from its query
include/sql/publish/<dataset>.sql, as Parquet hive-partitioned with the council first.

`<dataset>/la_code=<ONS code>/report_date=<YYYY-MM-DD>/part-0.parquet`, or for a national dataset
`<dataset>/report_date=<YYYY-MM-DD>/part-0.parquet`; the partition columns live in the path only
(the hive convention). Objects are built deterministically (same rows, same bytes), uploaded in
parallel, and a manifest per dataset listing every object with its checksum is written last.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from careshare.datasets import DATASETS, Dataset
from careshare.platform import Platform
from careshare.reference import LA_CODE_PATTERN

log = logging.getLogger(__name__)

UPLOAD_THREADS = 8  # within boto3's default pool of 10 connections


@dataclass(frozen=True)
class PublishedObject:
    key: str
    la_code: str | None
    rows: int
    sha256: str
    bytes: int


@dataclass
class PublishResult:
    report_date: date
    dataset: str
    rows: int
    objects: list[PublishedObject] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    manifest_key: str = ""

    def as_dict(self) -> dict:
        return {
            "report_date": self.report_date.isoformat(),
            "dataset": self.dataset,
            "rows": self.rows,
            "objects": len(self.objects),
            "removed": self.removed,
            "manifest": self.manifest_key,
        }


def partition_prefix(dataset: str, la_code: str | None, report_date: date) -> str:
    """`la_code` None for a national dataset."""
    if la_code is None:
        return f"{dataset}/report_date={report_date.isoformat()}/"
    if not LA_CODE_PATTERN.match(la_code):
        raise ValueError(f"refusing to build an object key from {la_code!r}: not an ONS council code")
    return f"{dataset}/la_code={la_code}/report_date={report_date.isoformat()}/"


def to_arrow(frame: pd.DataFrame, dataset: Dataset) -> pa.Table:
    """Cast warehouse rows (SQLite or PostgreSQL types) to the published schema."""
    columns = {}
    for f in dataset.fields:
        values = frame[f.name]
        if f.type == "date":
            values = pd.to_datetime(values).dt.date
        elif f.type == "timestamp":
            values = pd.to_datetime(values, utc=True)
        elif f.type == "bool":
            values = values.astype("boolean")
        elif f.type == "int32":
            values = pd.to_numeric(values).astype("Int32")
        elif f.type == "float64":
            values = pd.to_numeric(values).astype("Float64")
        columns[f.name] = pa.array(values, type=f.arrow_type, from_pandas=True)
    return pa.table(columns, schema=dataset.arrow_schema())


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True, store_schema=True)
    return sink.getvalue()


def build_objects(table: pa.Table, dataset: Dataset, report_date: date) -> dict[str, tuple[str | None, bytes, int]]:
    """key -> (la_code, bytes, rows): one Parquet object per council (one in all for a national
    dataset), rows in key order."""
    objects: dict[str, tuple[str | None, bytes, int]] = {}
    sort_keys = [(column, "ascending") for column in dataset.sort_columns]
    if dataset.national:
        parts = [(None, table)]
    else:
        la_codes = sorted(set(table.column("la_code").to_pylist()))
        parts = [(la, table.filter(pa.compute.equal(table.column("la_code"), la))) for la in la_codes]
    for la_code, part in parts:
        if sort_keys:
            part = part.sort_by(sort_keys)
        part = part.drop_columns(list(dataset.partition_columns))
        key = partition_prefix(dataset.name, la_code, report_date) + "part-0.parquet"
        objects[key] = (la_code, parquet_bytes(part), part.num_rows)
    return objects


def publish_day(platform: Platform, report_date: date) -> list[PublishResult]:
    return [publish_dataset(platform, dataset, report_date) for dataset in DATASETS.values()]


def publish_dataset(platform: Platform, dataset: Dataset, report_date: date) -> PublishResult:
    frame = platform.warehouse.query_frame(f"publish/{dataset.name}", {"report_date": report_date})
    table = to_arrow(frame, dataset)
    objects = build_objects(table, dataset, report_date)
    store = platform.publication

    def upload(item: tuple[str, tuple[str | None, bytes, int]]) -> PublishedObject:
        key, (la_code, data, rows) = item
        store.put(key, data)
        return PublishedObject(key, la_code, rows, hashlib.sha256(data).hexdigest(), len(data))

    with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
        published = list(pool.map(upload, sorted(objects.items())))
    manifest_key = f"_manifests/{dataset.name}/report_date={report_date.isoformat()}/manifest.json"
    removed = _remove_vanished_objects(store, manifest_key, set(objects))
    manifest = {
        "dataset": dataset.name,
        "report_date": report_date.isoformat(),
        "rows": table.num_rows,
        "objects": [o.__dict__ for o in published],
        "removed": removed,
    }
    store.put(manifest_key, json.dumps(manifest, indent=2, sort_keys=True).encode())
    result = PublishResult(report_date, dataset.name, table.num_rows, published, removed, manifest_key)
    log.info("published %s %s: %d rows in %d objects", dataset.name, report_date, table.num_rows, len(published))
    return result


def _remove_vanished_objects(store, manifest_key: str, current: set[str]) -> list[str]:
    """A council with no rows any more (after a correction) must not keep its old file."""
    if not store.exists(manifest_key):
        return []
    previous = json.loads(store.get(manifest_key))
    stale = sorted(o["key"] for o in previous["objects"] if o["key"] not in current)
    store.delete(stale)
    return stale
