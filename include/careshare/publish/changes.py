"""What a release changed for one council (or the national file), by key.

A row is named by the dataset's key within its report date (`row_key`: the location, the provider,
or for la_daily_summary the council). Between two versions a row is added, removed, changed (a
published value differs: the columns are named, with both values), lineage only (only
LINEAGE_COLUMNS differ) or unchanged. Lineage says where a row came from and how it was tied to its
location, not what it says: a corrected file gives every row of its feed a new `source_sha256` and
`source_row`, which is no revision of the data.

**Change data** (`change_data`) is the same comparison as rows, for the Delta Sharing change data
feed: the published columns of each row that differs, and `_change_type`: `insert` (an added key),
`delete` (a removed key, its old row), `update_preimage` and `update_postimage` (a changed key, its
old and new row). The feed's contract is that applying a version's changes to the table before it
gives the table at it, so a lineage-only row is an update there too: left out, a reader that keeps
its copy by the feed would keep lineage pointing at the delivery the correction superseded, and its
copy would differ from the table it is sharing. The rule above still holds wherever careshare says
what changed (counts, the changed-key lists, changelogs): a row whose published values are equal
before and after is listed there as `lineage_only` only. Identical rows are in no change data.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from careshare.datasets import Dataset, Field
from careshare.publish.formats import answer_array, pandas_dtype

LINEAGE_COLUMNS = (
    "source_feed",
    "source_sha256",
    "source_row",
    "source_record_id",
    "superseded_rows",
    "match_method",
    "match_score",
)
PREVIEW_KEYS = 20  # keys an index entry and the changelog name; the detail file names them all
CHANGE_TYPE = "_change_type"
INSERT, DELETE, UPDATE_PREIMAGE, UPDATE_POSTIMAGE = "insert", "delete", "update_preimage", "update_postimage"


@dataclass(frozen=True)
class Changes:
    """Row counts: `unchanged` rows are identical, `lineage_only` rows differ in lineage alone."""

    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0
    lineage_only: int = 0

    def __add__(self, other: Changes) -> Changes:
        return Changes(
            self.added + other.added,
            self.removed + other.removed,
            self.changed + other.changed,
            self.unchanged + other.unchanged,
            self.lineage_only + other.lineage_only,
        )

    @property
    def any(self) -> bool:
        """A published value changed (lineage alone is no change)."""
        return bool(self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, int]) -> Changes:
        return cls(**values)


@dataclass(frozen=True)
class Revision:
    """The counts and the keys behind them: `changed` maps each changed key to its columns, each to
    (before, after). A first version and an unchanged file are counted without reading them: no keys."""

    counts: Changes
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def names_keys(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def listing(self) -> dict[str, Any]:
        """Every key, with the values of each changed column: the detail file's body."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": {
                key: {column: {"before": _plain(old), "after": _plain(new)} for column, (old, new) in columns.items()}
                for key, columns in self.changed.items()
            },
            "lineage_only": self.counts.lineage_only,
        }

    def preview(self) -> dict[str, Any]:
        """The first PREVIEW_KEYS keys (changed first, with their columns), and how many more there are."""
        named = [("changed", key) for key in self.changed]
        named += [("added", key) for key in self.added] + [("removed", key) for key in self.removed]
        shown = named[:PREVIEW_KEYS]
        return {
            "changed": {key: list(self.changed[key]) for kind, key in shown if kind == "changed"},
            "added": [key for kind, key in shown if kind == "added"],
            "removed": [key for kind, key in shown if kind == "removed"],
            "not_listed": len(named) - len(shown),
        }


def row_key(dataset: Dataset) -> list[str]:
    """What names a row within one report date: the dataset's key without the date."""
    return [name for name in dataset.key if name != "report_date"]


def compare(old: pa.Table | None, new: pa.Table | None, keys: list[str]) -> Revision:
    """Rows of one file before and after, matched by `keys`; both tables hold the key columns."""
    before, after = _rows_by_key(old, keys), _rows_by_key(new, keys)
    changed: dict[str, dict[str, tuple[Any, Any]]] = {}
    lineage_only = 0
    for key in sorted(before.keys() & after.keys()):
        differing = [c for c in after[key] if c not in keys and before[key].get(c) != after[key][c]]
        values = [c for c in differing if c not in LINEAGE_COLUMNS]
        if values:
            changed[key] = {c: (before[key].get(c), after[key][c]) for c in values}
        elif differing:
            lineage_only += 1
    added, removed = tuple(sorted(after.keys() - before.keys())), tuple(sorted(before.keys() - after.keys()))
    common = len(before.keys() & after.keys())
    counts = Changes(len(added), len(removed), len(changed), common - len(changed) - lineage_only, lineage_only)
    return Revision(counts, added, removed, changed)


def unchanged(rows: int) -> Revision:
    return Revision(Changes(unchanged=rows))


def first_release(rows: int) -> Revision:
    """A first version adds every row; its keys are not listed (they are the file)."""
    return Revision(Changes(added=rows))


def change_data(old: pa.Table | None, new: pa.Table | None, dataset: Dataset) -> pa.Table:
    """Every row that differs between one file's versions, in key order (see the module docstring);
    both tables hold the key columns. Columns: the release Parquet's, then `_change_type`."""
    keys = row_key(dataset)
    before, after = _rows_by_key(old, keys), _rows_by_key(new, keys)
    rows = [
        change
        for key in sorted(before.keys() | after.keys())
        for change in _row_changes(before.get(key), after.get(key))
    ]
    fields = _file_fields(dataset)
    columns = [_column([row[f.name] for _, row in rows], f) for f in fields]
    types = pa.array([kind for kind, _ in rows], pa.string())
    return pa.table([*columns, types], schema=change_data_schema(dataset))


def _row_changes(old: dict | None, new: dict | None) -> list[tuple[str, dict]]:
    """A key's rows in the change data: its new row, its old row, or both (changed), or none (equal)."""
    if old == new:
        return []
    kinds = (DELETE, INSERT) if old is None or new is None else (UPDATE_PREIMAGE, UPDATE_POSTIMAGE)
    return [(kind, row) for kind, row in zip(kinds, (old, new), strict=True) if row is not None]


def _file_fields(dataset: Dataset) -> list[Field]:
    """The columns a release Parquet holds: the partition columns are in its path."""
    return [f for f in dataset.fields if f.name not in dataset.partition_columns]


def _column(values: list, field: Field) -> pa.Array:
    """Answers indexed into their whole answer set, as in the release's Parquet."""
    return answer_array(pa.array(values, pa.string()), field) if field.values else pa.array(values, field.arrow_type)


@cache
def change_data_schema(dataset: Dataset) -> pa.Schema:
    """The release Parquet's schema (types, ordered answer sets) and `_change_type`, with the pandas
    metadata that makes `pd.read_parquet` give the release's dtypes (library versions left out, so
    the same rows give the same bytes)."""
    schema = dataset.arrow_schema(without_partitions=True).append(pa.field(CHANGE_TYPE, pa.string(), nullable=False))
    dtypes = {f.name: pandas_dtype(f) for f in _file_fields(dataset)} | {CHANGE_TYPE: "str"}
    empty = pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()})
    described = pa.Table.from_pandas(empty, schema=schema, preserve_index=False).schema.pandas_metadata
    metadata = {k: v for k, v in described.items() if k not in ("creator", "pandas_version")}
    return schema.with_metadata({b"pandas": json.dumps(metadata, sort_keys=True).encode()})


def change_data_bytes(table: pa.Table) -> bytes:
    """Written as the release's Parquet is (careshare.publish.formats.parquet_bytes)."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True, store_schema=True)
    return sink.getvalue()


def change_data_problem(where: str, data: bytes, dataset: Dataset, rows: int) -> str | None:
    """What is wrong with a built change file: unreadable, another schema, other rows or change types."""
    try:
        read = pq.read_table(io.BytesIO(data))
    except Exception as error:  # any unreadable file is a failed check, named
        return f"{where}: unreadable change data: {error}"
    if not read.schema.equals(change_data_schema(dataset)):
        return f"{where}: schema {read.schema} differs from the dataset's change data"
    kinds = set(read.column(CHANGE_TYPE).to_pylist()) - {INSERT, DELETE, UPDATE_PREIMAGE, UPDATE_POSTIMAGE}
    if kinds:
        return f"{where}: change types {sorted(kinds)} are not Delta's"
    return None if read.num_rows == rows else f"{where}: {read.num_rows} rows, expected {rows}"


def _rows_by_key(table: pa.Table | None, keys: list[str]) -> dict[str, dict]:
    if table is None:
        return {}
    return {"/".join(str(row[name]) for name in keys): row for row in table.to_pylist()}


def _plain(value: Any) -> Any:
    """A value as JSON holds it: dates and instants in ISO 8601."""
    return value.isoformat() if isinstance(value, date | datetime) else value
