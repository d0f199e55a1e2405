"""The published files, built deterministically (the same rows give the same bytes).

Parquet for analysts: the partition columns live in the path only (the hive convention).
CSV for spreadsheets: every column, UTF-8 with a byte order mark so that Excel opens accented
names correctly, CRLF line ends (RFC 4180), and text cells that a spreadsheet would run as a
formula prefixed with an apostrophe (`'`).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from careshare.datasets import Dataset

CSV_ENCODING = "utf-8-sig"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class DuplicateRows(ValueError):
    """Rows share the dataset's grain: publishing them would make the key ambiguous."""


def key_columns(dataset: Dataset) -> list[str]:
    """The grain within one file: the dataset's key without the partition columns."""
    unknown = [name for name in dataset.key if name not in dataset.column_names]
    if unknown:
        raise ValueError(f"dataset {dataset.name}: key names unknown columns {unknown}")
    return dataset.sort_columns


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


def split_by_council(table: pa.Table, dataset: Dataset) -> dict[str | None, pa.Table]:
    """la_code -> that council's rows (all columns), in key order; None -> every row if national."""
    if dataset.national:
        return {None: in_key_order(table, dataset)}
    codes = table.column("la_code")
    return {code: in_key_order(table.filter(pc.equal(codes, code)), dataset) for code in sorted(set(codes.to_pylist()))}


def in_key_order(table: pa.Table, dataset: Dataset) -> pa.Table:
    keys = key_columns(dataset) or [n for n in dataset.column_names if n not in dataset.partition_columns]
    ordered = table.sort_by([(name, "ascending") for name in keys])
    if key_columns(dataset):
        _refuse_duplicates(ordered, dataset)
    return ordered


def _refuse_duplicates(table: pa.Table, dataset: Dataset) -> None:
    grain = key_columns(dataset)
    grouped = table.group_by(grain).aggregate([([], "count_all")])
    repeated = grouped.filter(pc.greater(grouped.column("count_all"), 1))
    if repeated.num_rows:
        example = {name: repeated.column(name)[0].as_py() for name in grain}
        raise DuplicateRows(f"dataset {dataset.name}: {repeated.num_rows} keys appear more than once, e.g. {example}")


def parquet_bytes(table: pa.Table, dataset: Dataset) -> bytes:
    """One file's rows without the partition columns, which the path carries."""
    body = table.drop_columns([name for name in dataset.partition_columns if name in table.column_names])
    sink = io.BytesIO()
    pq.write_table(body, sink, compression="zstd", write_statistics=True, store_schema=True)
    return sink.getvalue()


def csv_bytes(table: pa.Table, dataset: Dataset) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(dataset.column_names)
    columns = [_csv_cells(table.column(f.name).to_pylist(), f.type) for f in dataset.fields]
    writer.writerows(zip(*columns, strict=True))
    return buffer.getvalue().encode(CSV_ENCODING)


def neutralise(text: str) -> str:
    """A text cell that Excel, LibreOffice or Google Sheets would evaluate is made literal."""
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def _csv_cells(values: list, kind: str) -> list[str]:
    if kind == "string":
        return ["" if v is None else neutralise(v) for v in values]
    if kind == "bool":
        return ["" if v is None else ("true" if v else "false") for v in values]
    if kind == "timestamp":
        return ["" if v is None else _utc_text(v) for v in values]
    if kind == "date":
        return ["" if v is None else date.isoformat(v) for v in values]
    return ["" if v is None else repr(v) for v in values]


def _utc_text(value: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC: Excel and Power Query read it as a date-time."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
