"""What a release changed for one council: rows added, removed, changed and unchanged, by key."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Changes:
    added: int = 0
    removed: int = 0
    changed: int = 0
    unchanged: int = 0

    def __add__(self, other: Changes) -> Changes:
        return Changes(
            self.added + other.added,
            self.removed + other.removed,
            self.changed + other.changed,
            self.unchanged + other.unchanged,
        )

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, int]) -> Changes:
        return cls(**values)


def compare(old: pa.Table | None, new: pa.Table | None, keys: list[str]) -> Changes:
    """Rows matched by `keys` (by position when the file has no key: one row per partition).

    Both tables hold the file's columns (no partition columns); a row is changed when any
    published value differs, lineage included.
    """
    before = _rows_by_key(old, keys)
    after = _rows_by_key(new, keys)
    common = before.keys() & after.keys()
    changed = sum(1 for key in common if before[key] != after[key])
    return Changes(
        added=len(after.keys() - before.keys()),
        removed=len(before.keys() - after.keys()),
        changed=changed,
        unchanged=len(common) - changed,
    )


def unchanged(rows: int) -> Changes:
    return Changes(unchanged=rows)


def _rows_by_key(table: pa.Table | None, keys: list[str]) -> dict[tuple, dict]:
    if table is None:
        return {}
    rows = table.to_pylist()
    if not keys:
        return {(position,): row for position, row in enumerate(rows)}
    return {tuple(row[name] for name in keys): row for row in rows}
