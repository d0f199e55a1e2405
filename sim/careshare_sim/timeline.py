"""The simulated world's calendar: epidemic waves, lockdowns, completion rates, UK clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from .hashing import Draws

UK = ZoneInfo("Europe/London")

CARE_HOME_COLLECTION_START = date(2020, 3, 23)
PUBLICATION_TIME = time(6, 0)

# (peak, relative height, spread in days): the shape of England's waves, not their numbers
_WAVES = (
    (date(2020, 4, 12), 1.00, 18.0),
    (date(2020, 11, 8), 0.45, 18.0),
    (date(2021, 1, 10), 0.90, 15.0),
    (date(2021, 7, 20), 0.25, 25.0),
    (date(2021, 12, 30), 0.80, 20.0),
    (date(2022, 7, 10), 0.35, 25.0),
)
_BACKGROUND = 0.03

LOCKDOWNS = (
    (date(2020, 3, 23), date(2020, 7, 3)),
    (date(2020, 11, 5), date(2020, 12, 1)),
    (date(2021, 1, 5), date(2021, 3, 7)),
)


def intensity(days: np.ndarray) -> np.ndarray:
    """Relative community prevalence on each day ordinal, about 0.03 to 1."""
    days = np.asarray(days, dtype=np.float64)
    level = np.full(days.shape, _BACKGROUND)
    for peak, height, spread in _WAVES:
        level += height * np.exp(-0.5 * ((days - peak.toordinal()) / spread) ** 2)
    return np.minimum(level, 1.0)


def in_lockdown(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days)
    inside = np.zeros(days.shape, dtype=bool)
    for start, end in LOCKDOWNS:
        inside |= (days >= start.toordinal()) & (days <= end.toordinal())
    return inside


def is_weekend(days: np.ndarray) -> np.ndarray:
    return (np.asarray(days) + 6) % 7 >= 5  # date.weekday() on ordinals


def completion_rate(draws: Draws, channel: str, days: np.ndarray) -> np.ndarray:
    """Share of expected locations answering on each day ordinal: 50% to 80%, lower at weekends."""
    days = np.asarray(days, dtype=np.int64)
    seasonal = 0.05 * np.sin(2 * np.pi * (days % 97) / 97.0)
    noise = (draws.uniform(f"completion:{channel}", days.astype(np.uint64)) - 0.5) * 0.08
    rate = 0.68 + seasonal + noise - 0.1 * is_weekend(days)
    return np.clip(rate, 0.5, 0.8)


@lru_cache(maxsize=4096)
def uk_offset(day: date) -> str:
    """The UTC offset of UK wall time on `day` after 02:00, as ISO 8601 text (+01:00 or +00:00)."""
    offset = datetime.combine(day, time(12), UK).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def publication_time(report_date: date) -> datetime:
    """When the file for `report_date` becomes available: the next day at 06:00 UK time."""
    return datetime.combine(report_date + timedelta(days=1), PUBLICATION_TIME, UK)
