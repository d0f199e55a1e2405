"""The protocol's JSON shapes, in its parquet response format: the `protocol` and `metaData` lines,
one line per file (a query's `file`; the change feed's `add`, `remove` and `cdf`), and a dataset's
schema as Spark's struct JSON (the `schemaString`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from careshare.datasets import Dataset, Field
from careshare.share.tables import CDF, Change, FileAt, ReleaseFile

MIN_READER_VERSION = 1
CAPABILITIES_HEADER = "delta-sharing-capabilities"
VERSION_HEADER = "Delta-Table-Version"
RESPONSE_FORMAT = "responseformat=parquet"  # what the client 1.4 asks about; we answer parquet only
NDJSON = "application/x-ndjson; charset=utf-8"
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/careshare/delta-sharing")
SPARK_TYPES = {  # careshare.datasets types -> Spark SQL's
    "string": "string",
    "category": "string",  # an ordered dictionary in the file; Spark and pandas read its text
    "int32": "integer",
    "float64": "double",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",  # UTC instants
}

Presign = Callable[[str], str]  # an object key -> a URL readable until the expiry


def stable_id(*names: str) -> str:
    """The same share, table or file keeps its id across requests and servers."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(names)))


def schema_string(dataset: Dataset) -> str:
    return json.dumps({"type": "struct", "fields": [_field(f) for f in dataset.fields]}, separators=(",", ":"))


def _field(field: Field) -> dict[str, Any]:
    return {
        "name": field.name,
        "type": SPARK_TYPES[field.type],
        "nullable": field.nullable,
        "metadata": {"comment": field.description},
    }


def protocol_line() -> dict[str, Any]:
    return {"protocol": {"minReaderVersion": MIN_READER_VERSION}}


def metadata_line(dataset: Dataset, *, version: int | None = None, files: int | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "id": stable_id("table", dataset.name),
        "name": dataset.name,
        "description": dataset.description,
        "format": {"provider": "parquet"},
        "schemaString": schema_string(dataset),
        "partitionColumns": list(dataset.partition_columns),
        "configuration": {"enableChangeDataFeed": "true"},
    }
    if version is not None:
        metadata["version"] = version
    if files is not None:
        metadata["numFiles"] = files
    return {"metaData": metadata}


def file_id(file: ReleaseFile) -> str:
    """The file's SHA-256, then its partition: equal bytes can be two councils' or two dates' files
    (a day that repeats the one before), and the protocol wants one id per file of the table."""
    return f"{file.sha256}.{file.la_code or 'national'}.{file.report_date:%Y%m%d}"


def partition_values(file: ReleaseFile) -> dict[str, str]:
    values = {"report_date": file.report_date.isoformat()}
    return values if file.la_code is None else {"la_code": file.la_code, **values}


def _file_fields(file: ReleaseFile, presign: Presign, expires: datetime) -> dict[str, Any]:
    return {
        "url": presign(file.key),
        "id": file_id(file),
        "partitionValues": partition_values(file),
        "size": file.size,
        "stats": json.dumps({"numRecords": file.rows}, separators=(",", ":")),
        "expirationTimestamp": int(expires.timestamp() * 1000),
    }


def file_line(at: FileAt, presign: Presign, expires: datetime) -> dict[str, Any]:
    return {
        "file": {
            **_file_fields(at.file, presign, expires),
            "version": at.commit.version,
            "timestamp": at.commit.timestamp_ms,
        }
    }


def change_line(change: Change, presign: Presign, expires: datetime) -> dict[str, Any]:
    """A change data file's `cdf` action has no `stats` in the protocol: its rows are changes, not
    records of the table."""
    fields = {
        **_file_fields(change.file, presign, expires),
        "version": change.commit.version,
        "timestamp": change.commit.timestamp_ms,
    }
    if change.action == CDF:
        del fields["stats"]
    return {change.action: fields}


def ndjson(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
