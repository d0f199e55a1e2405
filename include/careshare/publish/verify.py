"""Check every file before a manifest names it: its schema and row count before it is uploaded,
and, once uploaded to its release key, the digest the object store reports of what it holds."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

import pyarrow.parquet as pq

from careshare.datasets import Dataset
from careshare.publish import layout
from careshare.publish.formats import CSV_ENCODING


class ReleaseVerificationError(RuntimeError):
    """A file is not what the release means it to be: the release is not committed."""


@dataclass(frozen=True)
class ReleaseFile:
    """A file of a release, built and about to be uploaded to its content-addressed key."""

    key: str
    fmt: str
    sha256: str
    rows: int
    data: bytes

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


def check_shapes(files: list[ReleaseFile], dataset: Dataset) -> None:
    """Schema and rows of the bytes about to be uploaded."""
    refuse_if(dataset, "built files", [p for p in (_shape_problem(f, dataset) for f in files) if p])


def checksum_problem(key: str, found: str, expected: str) -> str | None:
    """`found`: the SHA-256 the store computed over what `key` holds."""
    return None if found == expected else f"{key}: sha256 {found}, expected {expected}"


def stored_problem(uploaded: ReleaseFile, found: str | None) -> str | None:
    """`found`: the MD5 the store reports of what it holds at the file's key; None if it refused
    the bytes that arrived because they did not match the SHA-256 sent with them."""
    if found is None:
        return f"{uploaded.key}: refused by the store, the bytes that arrived do not match sha256 {uploaded.sha256}"
    return None if found == uploaded.md5 else f"{uploaded.key}: stored md5 {found}, expected {uploaded.md5}"


def refuse_if(dataset: Dataset, what: str, problems: list[str]) -> None:
    if problems:
        raise ReleaseVerificationError(f"{dataset.name}: {len(problems)} {what} failed: " + "; ".join(problems))


def _shape_problem(built: ReleaseFile, dataset: Dataset) -> str | None:
    where = built.key
    try:
        if built.fmt == layout.PARQUET:
            columns, rows = _parquet_shape(built.data, dataset)
        else:
            columns, rows = _csv_shape(built.data)
    except Exception as error:  # any unreadable file is a failed check, named
        return f"{where}: unreadable {built.fmt}: {error}"
    expected = (
        dataset.arrow_schema(without_partitions=True).names if built.fmt == layout.PARQUET else dataset.column_names
    )
    if columns != expected:
        return f"{where}: columns {columns}, expected {expected}"
    if rows != built.rows:
        return f"{where}: {rows} rows, expected {built.rows}"
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
