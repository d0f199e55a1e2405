"""What happens to whole files: unusable deliveries, unexpected columns, corrections, re-deliveries.

A feed's file for a report date is published in one or more versions. The first may be unusable
(empty, header only, cut short, a required column renamed or missing); such a file is always
re-issued complete a few hours later. Some files are replaced days later by a corrected file
(answers changed), and some are published again unchanged (the same bytes delivered twice).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np

from careshare.feeds import Feed

from .hashing import Draws
from .timeline import publication_time

if TYPE_CHECKING:
    from .mess import MessRates


class FileMess(StrEnum):
    EMPTY_FILE = "empty_file"  # zero bytes
    HEADER_ONLY = "header_only"  # the header and no data rows
    TRUNCATED_FILE = "truncated_file"  # the file itself ends part-way through a row
    RENAMED_COLUMN = "renamed_column"  # a required column under another name
    MISSING_COLUMN = "missing_column"  # a required column left out
    EXTRA_COLUMN = "extra_column"  # a column the contract does not have


UNUSABLE = (
    FileMess.EMPTY_FILE,
    FileMess.HEADER_ONLY,
    FileMess.TRUNCATED_FILE,
    FileMess.RENAMED_COLUMN,
    FileMess.MISSING_COLUMN,
)

# renames a person would recognise (same words, other order, case or separator)
RENAMES: dict[Feed, dict[str, str]] = {
    Feed.CT_CARE_HOMES: {
        "Beds_Total": "Total_Beds",
        "Last_Updated": "Last Updated",
        "CQC_Location_ID": "CQC_Location_Id",
        "Staff_Employed": "Employed_Staff",
    },
    Feed.CT_HOME_CARE: {
        "Service_Type": "Service Type",
        "People_Supported": "Supported_People",
        "Last_Updated": "Last Updated",
    },
    Feed.CQC_UPDATE: {"staff_total": "total_staff", "submitted_at": "Submitted_At", "location_id": "Location_ID"},
}
DROPPABLE: dict[Feed, tuple[str, ...]] = {
    Feed.CT_CARE_HOMES: ("Beds_Vacant", "Visiting_Status", "PPE_Gloves", "Last_Updated"),
    Feed.CT_HOME_CARE: ("Hours_Unable_To_Deliver", "PPE_Aprons", "Can_Provide_More_Hours"),
    Feed.CQC_UPDATE: ("staff_absent_covid", "ppe_masks_days", "unable_to_deliver_care"),
}
EXTRA_COLUMNS = ("Comments", "Export_Version", "Region_Name")

_REISSUE_HOURS = (2.0, 10.0)
_CORRECTION_DAYS = (1.0, 6.0)
_REDELIVERY_HOURS = (1.0, 30.0)


@dataclass(frozen=True)
class Variant:
    """How one version of a file differs from the plain file of the day."""

    file_mess: tuple[FileMess, ...] = ()
    corrections: int = 0  # rounds of corrected answers

    def usable(self) -> Variant:
        return replace(self, file_mess=tuple(m for m in self.file_mess if m not in UNUSABLE))

    def corrected(self, rounds: int = 1) -> Variant:
        return Variant(self.usable().file_mess, self.corrections + rounds)

    def with_mess(self, mess: FileMess) -> Variant:
        return replace(self, file_mess=tuple(sorted({*self.file_mess, mess})))


@dataclass(frozen=True)
class Version:
    published_at: datetime
    variant: Variant
    redelivery: bool = False  # the previous version's bytes published again

    def to_dict(self) -> dict[str, Any]:
        return {
            "published_at": self.published_at.isoformat(),
            "file_mess": [str(m) for m in self.variant.file_mess],
            "corrections": self.variant.corrections,
            "redelivery": self.redelivery,
        }


def versions(draws: Draws, rates: MessRates, feed: Feed, report_date: date) -> tuple[Version, ...]:
    """Every version of the file in publication order (the caller knows whether a file exists)."""
    scoped = draws.scoped("file_versions", feed.value)
    day = np.array([report_date.toordinal()], dtype=np.uint64)

    def u(name: str) -> float:
        return float(scoped.uniform(name, day)[0])

    bounds = np.cumsum([getattr(rates, kind.value) for kind in UNUSABLE])
    slot = int(np.searchsorted(bounds, u("unusable"), side="right"))
    mess = (UNUSABLE[slot],) if slot < len(UNUSABLE) else ()
    if u(FileMess.EXTRA_COLUMN) < rates.extra_column:
        mess = (*mess, FileMess.EXTRA_COLUMN)
    published = publication_time(report_date)
    found = [Version(published, Variant(tuple(sorted(mess))))]
    if slot < len(UNUSABLE):
        found.append(Version(published + _span(u("reissue_at"), _REISSUE_HOURS, "hours"), found[0].variant.usable()))
    if u("late_correction") < rates.late_correction:
        at = published + _span(u("correction_at"), _CORRECTION_DAYS, "days")
        found.append(Version(at, found[0].variant.corrected()))
    if u("duplicated_delivery") < rates.duplicated_delivery:
        at = found[-1].published_at + _span(u("redelivery_at"), _REDELIVERY_HOURS, "hours")
        found.append(Version(at, found[-1].variant, redelivery=True))
    return tuple(found)


def version_at(found: tuple[Version, ...], moment: datetime) -> Version | None:
    """The version a reader gets at `moment`: the latest published by then."""
    published = [v for v in found if v.published_at <= moment]
    return published[-1] if published else None


def _span(u: float, bounds: tuple[float, float], unit: str) -> timedelta:
    low, high = bounds
    return timedelta(**{unit: low + u * (high - low)})


def apply_columns(
    variant: Variant, feed: Feed, columns: tuple[str, ...], rows: list[list[str]], u: float
) -> tuple[tuple[str, ...], list[list[str]]]:
    """The header and rows as the exporter wrote them: renamed, dropped or extra columns, no rows."""
    header, body = list(columns), [list(r) for r in rows]
    for mess in variant.file_mess:
        if mess is FileMess.EXTRA_COLUMN:
            name = EXTRA_COLUMNS[_pick(u, len(EXTRA_COLUMNS))]
            header.append(name)
            for n, row in enumerate(body):
                row.append(_extra_value(name, n))
        elif mess is FileMess.RENAMED_COLUMN:
            renames = [(old, new) for old, new in RENAMES[feed].items() if old in header]
            old, new = renames[_pick(u, len(renames))]
            header[header.index(old)] = new
        elif mess is FileMess.MISSING_COLUMN:
            droppable = [c for c in DROPPABLE[feed] if c in header]
            position = header.index(droppable[_pick(u, len(droppable))])
            del header[position]
            for row in body:
                del row[position]
        elif mess is FileMess.HEADER_ONLY:
            body = []
    return tuple(header), body


def apply_bytes(variant: Variant, content: bytes, terminator: str, u: float) -> bytes:
    """Whole-file faults of the bytes: nothing at all, or cut off part-way through a late row."""
    if FileMess.EMPTY_FILE in variant.file_mess:
        return b""
    if FileMess.TRUNCATED_FILE not in variant.file_mess:
        return content
    line_break = terminator.encode()
    starts = [0]
    while (found := content.find(line_break, starts[-1])) != -1 and found + len(line_break) < len(content):
        starts.append(found + len(line_break))
    if len(starts) < 3:
        return content
    first_row = 1 + (len(starts) - 1) // 2
    row_start = starts[first_row + _pick(u, len(starts) - first_row)]
    first_separator = content.find(b",", row_start)
    return content[: first_separator + 1 + int(u * 3)] if first_separator != -1 else content


def _pick(u: float, count: int) -> int:
    return min(int(u * count), count - 1)


def _extra_value(name: str, row: int) -> str:
    if name == "Export_Version":
        return "2.1"
    if name == "Comments":
        return "" if row % 7 else "checked by manager"
    return ""
