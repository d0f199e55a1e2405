"""Check every file before a manifest names it: its schema and row count before it is staged,
and, once copied to its release key, the SHA-256 the object store computed over the copy."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pyarrow.parquet as pq

from careshare.datasets import Dataset
from careshare.publish import layout
from careshare.publish.formats import CSV_ENCODING


class ReleaseVerificationError(RuntimeError):
    """A file is not what the release means it to be: the release is not committed."""


@dataclass(frozen=True)
class StagedFile:
    staged_key: str
    release_key: str
    fmt: str
    sha256: str
    rows: int
    data: bytes


def check_shapes(files: list[StagedFile], dataset: Dataset) -> None:
    """Schema and rows of the bytes about to be staged."""
    refuse_if(dataset, "built files", [p for p in (_shape_problem(f, dataset) for f in files) if p])


def checksum_problem(key: str, found: str, expected: str) -> str | None:
    """`found`: the SHA-256 the store computed over what `key` holds."""
    return None if found == expected else f"{key}: sha256 {found}, expected {expected}"


def refuse_if(dataset: Dataset, what: str, problems: list[str]) -> None:
    if problems:
        raise ReleaseVerificationError(f"{dataset.name}: {len(problems)} {what} failed: " + "; ".join(problems))


def _shape_problem(staged: StagedFile, dataset: Dataset) -> str | None:
    where = staged.release_key
    try:
        if staged.fmt == layout.PARQUET:
            columns, rows = _parquet_shape(staged.data, dataset)
        else:
            columns, rows = _csv_shape(staged.data)
    except Exception as error:  # any unreadable file is a failed check, named
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
