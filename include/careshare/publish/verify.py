"""Read staged files back before anything names them: checksum, schema and row count."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

import pyarrow.parquet as pq

from careshare.datasets import Dataset
from careshare.publish import layout
from careshare.publish.formats import CSV_ENCODING
from careshare.publish.parallel import in_parallel
from careshare.storage import ObjectStore


class ReleaseVerificationError(RuntimeError):
    """A staged file is not what was written: the release is not committed."""


@dataclass(frozen=True)
class StagedFile:
    staged_key: str
    release_key: str
    fmt: str
    sha256: str
    rows: int
    data: bytes


def verify_staged(store: ObjectStore, staged: list[StagedFile], dataset: Dataset) -> None:
    problems = [p for p in in_parallel(lambda f: _problem(store.get(f.staged_key), f, dataset), staged) if p]
    if problems:
        raise ReleaseVerificationError(f"{dataset.name}: {len(problems)} staged files failed: " + "; ".join(problems))


def _problem(data: bytes, staged: StagedFile, dataset: Dataset) -> str | None:
    where = staged.staged_key
    found = hashlib.sha256(data).hexdigest()
    if found != staged.sha256:
        return f"{where}: sha256 {found}, expected {staged.sha256}"
    try:
        columns, rows = _parquet_shape(data, dataset) if staged.fmt == layout.PARQUET else _csv_shape(data)
    except Exception as error:  # any unreadable file is a failed verification, named
        return f"{where}: unreadable {staged.fmt}: {error}"
    expected = (
        dataset.arrow_schema(without_partitions=True).names if staged.fmt == layout.PARQUET else dataset.column_names
    )
    if columns != expected:
        return f"{where}: columns {columns}, expected {expected}"
    if rows != staged.rows:
        return f"{where}: {rows} rows, expected {staged.rows}"
    return None


def _parquet_shape(data: bytes, dataset: Dataset) -> tuple[list[str], int]:
    parquet = pq.ParquetFile(io.BytesIO(data))
    schema = parquet.schema_arrow
    if not schema.equals(dataset.arrow_schema(without_partitions=True)):
        raise ValueError(f"schema {schema} differs from the dataset's")
    return schema.names, parquet.metadata.num_rows


def _csv_shape(data: bytes) -> tuple[list[str], int]:
    if not data.startswith(b"\xef\xbb\xbf"):
        raise ValueError("no UTF-8 byte order mark")
    reader = csv.reader(io.StringIO(data.decode(CSV_ENCODING), newline=""))
    header = next(reader)
    return header, sum(1 for _ in reader)
