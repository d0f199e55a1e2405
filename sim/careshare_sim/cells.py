"""Column arrays to CSV cell text, and cells to rows in a spec's column order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TypeVar

import numpy as np

from careshare.feeds import CT_TIMESTAMP_FORMAT, Column

T = TypeVar("T")


def integers(values: np.ndarray) -> list[str]:
    return list(map(str, np.asarray(values, dtype=np.int64).tolist()))


def labels(codes: np.ndarray, names: Sequence[str]) -> list[str]:
    return np.asarray(names, dtype=object)[np.asarray(codes, dtype=np.int64)].tolist()


def yes_no(flags: np.ndarray, yes: str = "Yes", no: str = "No") -> list[str]:
    return np.where(np.asarray(flags, dtype=bool), yes, no).tolist()


def pick(values: Sequence[T], idx: np.ndarray) -> list[T]:
    return [values[i] for i in idx.tolist()]


def uk_timestamps(days: np.ndarray, minutes: np.ndarray) -> list[str]:
    """CT's Last_Updated, `DD/MM/YYYY HH:MM` in UK wall time."""
    day_text = {d: date.fromordinal(d).strftime(CT_TIMESTAMP_FORMAT.split(" ")[0]) for d in set(days.tolist())}
    return [f"{day_text[d]} {m // 60:02d}:{m % 60:02d}" for d, m in zip(days.tolist(), minutes.tolist(), strict=True)]


def iso_timestamps(day: date, offset: str, minutes: np.ndarray, seconds: np.ndarray) -> list[str]:
    prefix = day.isoformat()
    return [
        f"{prefix}T{m // 60:02d}:{m % 60:02d}:{s:02d}{offset}"
        for m, s in zip(minutes.tolist(), seconds.tolist(), strict=True)
    ]


def rows(columns: Sequence[Column], cells: Mapping[str, list[str]]) -> list[list[str]]:
    missing = [c.name for c in columns if c.name not in cells]
    if missing:
        raise KeyError(f"the simulator renders no values for columns {missing}")
    return [list(row) for row in zip(*(cells[c.name] for c in columns), strict=True)]
