"""The published files, built deterministically (the same rows give the same bytes).

Parquet for analysts: the partition columns live in the path only (the hive convention); answers
are ordered dictionaries holding the whole answer set, and pandas metadata makes `pd.read_parquet`
give nullable integers and ordered categoricals.
CSV for spreadsheets: every column, UTF-8 with a byte order mark so that Excel opens accented
names correctly, CRLF line ends (RFC 4180), timestamps with their offset, and text cells that a
spreadsheet would run as a formula prefixed with an apostrophe (`'`).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import UTC, date, datetime
from functools import cache

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from careshare.datasets import Dataset, Field

CSV_ENCODING = "utf-8-sig"
FORMULA_STARTS = "=+-@"  # compared after NFKC, which folds the full-width and small forms (＝＋－＠) onto them
CONTROL_STARTS = ("\t", "\r")
PANDAS_DTYPES = {
    "string": "str",
    "category": "category",
    "int32": "Int32",
    "float64": "float64",
    "bool": "bool",
    "date": "object",
    "timestamp": "datetime64[us, UTC]",
}


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
    return pa.table({f.name: _arrow_column(frame[f.name], f) for f in dataset.fields}, schema=dataset.arrow_schema())


def _arrow_column(values: pd.Series, field: Field) -> pa.Array:
    if field.type == "category":
        return answer_array(pa.array(values, type=pa.string(), from_pandas=True), field)
    if field.type == "date":
        values = pd.to_datetime(values).dt.date
    elif field.type == "timestamp":
        # The contract's times are to the second; the CSV writes seconds, so both files hold the same instant.
        values = pd.to_datetime(values, utc=True).dt.floor("s")
    elif field.type == "bool":
        values = values.astype("boolean")
    elif field.type == "int32":
        values = pd.to_numeric(values).astype("Int32")
    elif field.type == "float64":
        values = pd.to_numeric(values).astype("Float64")
    return pa.array(values, type=field.arrow_type, from_pandas=True)


def answer_array(values: pa.Array | pa.ChunkedArray, field: Field) -> pa.DictionaryArray:
    """The answers indexed into the field's whole answer set, so every file carries the same categories
    in the same order; an answer outside the set is refused, never published as missing."""
    text = pc.cast(values, pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    answers = pa.array(field.values, type=pa.string())
    indices = pc.index_in(text, value_set=answers)
    unknown = pc.filter(text, pc.and_(pc.is_null(indices), pc.is_valid(text)))
    if len(unknown):
        raise ValueError(f"{field.name}: {sorted(set(unknown.to_pylist()))} not among its answers {field.values}")
    return pa.DictionaryArray.from_arrays(indices.cast(pa.int8()), answers, ordered=True)


def split_by_council(table: pa.Table, dataset: Dataset) -> dict[str | None, pa.Table]:
    """la_code -> that council's rows (all columns), in key order; None -> every row if national."""
    if dataset.national:
        return {None: in_key_order(table, dataset)}
    codes = table.column("la_code")
    return {code: in_key_order(table.filter(pc.equal(codes, code)), dataset) for code in sorted(set(codes.to_pylist()))}


def in_key_order(table: pa.Table, dataset: Dataset) -> pa.Table:
    keys = key_columns(dataset) or [n for n in dataset.column_names if n not in dataset.partition_columns]
    ordered = table.take(pc.sort_indices(_as_text(table.select(keys)), [(name, "ascending") for name in keys]))
    if key_columns(dataset):
        _refuse_duplicates(ordered, dataset)
    return ordered


def _as_text(table: pa.Table) -> pa.Table:
    """Answers as their text: arrow sorts no dictionary column."""
    return pa.table(
        [pc.cast(c, pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns],
        names=table.column_names,
    )


def _refuse_duplicates(table: pa.Table, dataset: Dataset) -> None:
    grain = key_columns(dataset)
    grouped = table.group_by(grain).aggregate([([], "count_all")])
    repeated = grouped.filter(pc.greater(grouped.column("count_all"), 1))
    if repeated.num_rows:
        example = {name: repeated.column(name)[0].as_py() for name in grain}
        raise DuplicateRows(f"dataset {dataset.name}: {repeated.num_rows} keys appear more than once, e.g. {example}")


def parquet_bytes(table: pa.Table, dataset: Dataset) -> bytes:
    """One file's rows without the partition columns, which the path carries."""
    fields = [f for f in dataset.fields if f.name not in dataset.partition_columns]
    columns = [answer_array(table.column(f.name), f) if f.values else table.column(f.name) for f in fields]
    schema = dataset.arrow_schema(without_partitions=True).with_metadata(pandas_metadata(dataset))
    sink = io.BytesIO()
    pq.write_table(pa.table(columns, schema=schema), sink, compression="zstd", write_statistics=True, store_schema=True)
    return sink.getvalue()


@cache
def pandas_metadata(dataset: Dataset) -> dict[bytes, bytes]:
    """The pandas dtype of each column as pyarrow records it, so that `pd.read_parquet` gives nullable
    Int32 counts (not float64 where a count is missing) and ordered categoricals. Library versions are
    left out so that the same rows keep giving the same bytes."""
    fields = [f for f in dataset.fields if f.name not in dataset.partition_columns]
    empty = pd.DataFrame({f.name: pd.Series([], dtype=pandas_dtype(f)) for f in fields})
    described = pa.Table.from_pandas(empty, schema=dataset.arrow_schema(without_partitions=True), preserve_index=False)
    metadata = {k: v for k, v in described.schema.pandas_metadata.items() if k not in ("creator", "pandas_version")}
    return {b"pandas": json.dumps(metadata, sort_keys=True).encode()}


def pandas_dtype(field: Field) -> object:
    """The dtype `pd.read_parquet` gives the field."""
    return pd.CategoricalDtype(field.values, ordered=True) if field.values else PANDAS_DTYPES[field.type]


def csv_bytes(table: pa.Table, dataset: Dataset) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(dataset.column_names)
    columns = [_csv_cells(table.column(f.name).to_pylist(), f.type) for f in dataset.fields]
    writer.writerows(zip(*columns, strict=True))
    return buffer.getvalue().encode(CSV_ENCODING)


def neutralise(text: str) -> str:
    """A text cell that Excel, LibreOffice or Google Sheets would evaluate is made literal."""
    return f"'{text}" if _runs_as_formula(text) else text


def _runs_as_formula(text: str) -> bool:
    """A leading tab or carriage return (OWASP's list), or `= + - @` after any leading whitespace, which
    imports such as LibreOffice's *Trim spaces* drop before reading the cell; their full-width and small
    forms too, which spreadsheets in East Asian locales can read as the ASCII ones. The DDE forms
    (`=cmd|' /C calc'!A0`, `@SUM(1)*cmd|…`) start the same way."""
    if text.startswith(CONTROL_STARTS):
        return True
    visible = text.lstrip()
    return bool(visible) and unicodedata.normalize("NFKC", visible[0]) in FORMULA_STARTS


def _csv_cells(values: list, kind: str) -> list[str]:
    if kind in ("string", "category"):
        return ["" if v is None else neutralise(v) for v in values]
    if kind == "bool":
        return ["" if v is None else ("true" if v else "false") for v in values]
    if kind == "timestamp":
        return ["" if v is None else _utc_text(v) for v in values]
    if kind == "date":
        return ["" if v is None else date.isoformat(v) for v in values]
    return ["" if v is None else repr(v) for v in values]


def _utc_text(value: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS+00:00`: the offset makes DuckDB, pandas and Power Query (`datetimezone`) read
    the UTC instant the Parquet holds, not a wall time in the reader's zone."""
    return value.astimezone(UTC).isoformat(sep=" ")
