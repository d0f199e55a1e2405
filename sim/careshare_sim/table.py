"""A feed file being rendered: rows of text cells that know which location they came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from careshare.feeds import Feed


@dataclass(eq=False)
class Row:
    cells: list[str]
    location: int  # index into the population, -1 for a row that belongs to no location
    record_id: str
    answered_on: int  # date ordinal of the answers the row carries
    order: float  # position in the file, ascending
    copy: int = 0  # 0 for a location's first row, 1, 2... for the rows mess adds
    mess: list[str] = field(default_factory=list)
    superseded_by: Row | None = None

    def tag(self, tag: str) -> None:
        if tag not in self.mess:
            self.mess.append(tag)


# (locations, answer day ordinals, variant) -> (cells, order) per location
RowRenderer = Callable[[np.ndarray, np.ndarray, int], list[tuple[list[str], float]]]


@dataclass(frozen=True)
class RowTruth:
    source_row: int  # 1-based, header excluded
    location_id: str | None  # the true CQC location id
    record_id: str  # the source system's id for the record: CT id, or the clean CQC location id
    mess: tuple[str, ...]
    duplicate_of: int | None  # the source_row of the row that supersedes this one in the same file

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_row": self.source_row,
            "location_id": self.location_id,
            "record_id": self.record_id,
            "mess": list(self.mess),
            "duplicate_of": self.duplicate_of,
        }


@dataclass(eq=False)
class Table:
    feed: Feed
    report_date: date
    columns: tuple[str, ...]
    identity_columns: frozenset[str]  # who the row is about, as opposed to what was answered
    rows: list[Row]
    render: RowRenderer

    def __post_init__(self) -> None:
        self._index = {name: i for i, name in enumerate(self.columns)}

    def has(self, column: str) -> bool:
        return column in self._index

    def get(self, row: Row, column: str) -> str:
        return row.cells[self._index[column]]

    def set(self, row: Row, column: str, value: str) -> None:
        row.cells[self._index[column]] = value

    def locations(self, rows: list[Row] | None = None) -> np.ndarray:
        return np.array([r.location for r in (self.rows if rows is None else rows)], dtype=np.int64)

    def answered_copy(self, original: Row, cells: list[str], answered_on: int, order: float) -> Row:
        """A new row for the same record: identity cells as in `original`, answers from `cells`."""
        merged = [
            original.cells[i] if name in self.identity_columns else cells[i] for i, name in enumerate(self.columns)
        ]
        return Row(
            cells=merged,
            location=original.location,
            record_id=original.record_id,
            answered_on=answered_on,
            order=order,
            copy=original.copy + 1,
            mess=list(original.mess),
        )

    def in_file_order(self) -> list[Row]:
        return sorted(self.rows, key=lambda r: r.order)


# (location, record id, mess tags, duplicate_of) per row in file order: cheap to keep per cached file
CompactTruth = list[tuple[int, str, tuple[str, ...], int | None]]


def compact_truth(rows: list[Row]) -> CompactTruth:
    position = {id(row): n for n, row in enumerate(rows, start=1)}
    return [
        (
            row.location,
            row.record_id,
            tuple(str(tag) for tag in row.mess),
            position[id(row.superseded_by)] if row.superseded_by is not None else None,
        )
        for row in rows
    ]


def truth_of(compact: CompactTruth, location_ids: list[str]) -> tuple[RowTruth, ...]:
    return tuple(
        RowTruth(
            source_row=n,
            location_id=location_ids[location] if location >= 0 else None,
            record_id=record_id,
            mess=mess,
            duplicate_of=duplicate_of,
        )
        for n, (location, record_id, mess, duplicate_of) in enumerate(compact, start=1)
    )
