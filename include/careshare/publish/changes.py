"""What a release changed for one council (or the national file), by key.

A row is named by the dataset's key within its report date (`row_key`: the location, the provider,
or for la_daily_summary the council). Between two versions a row is added, removed, changed (a
published value differs: the columns are named, with both values), lineage only (only
LINEAGE_COLUMNS differ) or unchanged. Lineage says where a row came from and how it was tied to its
location, not what it says: a corrected file gives every row of its feed a new `source_sha256` and
`source_row`, which is no revision of the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from careshare.datasets import Dataset

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


def _rows_by_key(table: pa.Table | None, keys: list[str]) -> dict[str, dict]:
    if table is None:
        return {}
    return {"/".join(str(row[name]) for name in keys): row for row in table.to_pylist()}


def _plain(value: Any) -> Any:
    """A value as JSON holds it: dates and instants in ISO 8601."""
    return value.isoformat() if isinstance(value, date | datetime) else value
