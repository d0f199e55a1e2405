"""The mess of real feeds, each kind with a rate, applied to a clean table in a fixed order.

To add a kind: a field in MessRates, a tag in MessTag, and a RowMess in ROW_MESS (or a file-level
step in render.py). Each kind draws from its own stream, so adding one never moves the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from careshare.feeds import CQC_FORM_LAST_DAY, CQC_UPDATE, TRANSITION, Feed

from .hashing import Draws
from .table import Row, Table

if TYPE_CHECKING:
    from .activity import Activity
    from .population import Population


class MessTag(StrEnum):
    PADDED_ID = "padded_id"  # CQC location id with spaces around it
    MISSING_PREFIX = "missing_prefix"  # CQC location id without its "1-"
    LOWERCASE_ID = "lowercase_id"  # an id with letters (the ODS code) in lower case
    BLANK_ID_ODS_ONLY = "blank_id_ods_only"  # CT row with no CQC id but an ODS code
    NAME_POSTCODE_ONLY = "name_postcode_only"  # CT row with neither CQC id nor ODS code
    POSTCODE_VARIANT = "postcode_variant"  # postcode in another case or spacing
    DUPLICATE_ROW = "duplicate_row"  # CT: the location has more than one row in the file
    SECOND_SUBMISSION = "second_submission"  # CQC: the location submitted more than once that day
    OVERLAP_BOTH_SOURCES = "overlap_both_sources"  # in both CQC and CT home care files for the day


@dataclass(frozen=True)
class MessRates:
    """Probabilities per row, or per location for behaviours; MessRates.clean() turns faults off."""

    padded_id: float = 0.015
    missing_prefix: float = 0.01
    lowercase_id: float = 0.01
    blank_id_ods_only: float = 0.01
    name_postcode_only: float = 0.003
    postcode_variant: float = 0.03
    duplicate_row: float = 0.005
    duplicate_row_older: float = 0.6  # share of duplicates carrying older answers rather than identical
    second_submission: float = 0.02
    overlap_both_sources: float = 0.12  # community services answering both collections in the overlap
    overlap_cqc_only: float = 0.08  # community services staying on the CQC form until it closed
    bom: float = 0.3  # UTF-8 files starting with a byte order mark
    crlf: float = 0.5  # files with CRLF line endings

    @classmethod
    def clean(cls) -> MessRates:
        """No faults. The overlap shares stay: answering both collections is the contract's timeline."""
        return cls(**{f.name: 0.0 for f in fields(cls) if f.name not in _BEHAVIOURS})

    def with_rates(self, **rates: float) -> MessRates:
        return replace(self, **rates)


_BEHAVIOURS = frozenset({"overlap_both_sources", "overlap_cqc_only", "duplicate_row_older"})


@dataclass(frozen=True, eq=False)
class MessContext:
    rates: MessRates
    draws: Draws  # scoped to (feed, report date)
    population: Population
    activity: Activity

    def chance(self, name: str, rows: list[Row]) -> np.ndarray:
        """One uniform draw per row, stable for the (location, row copy) within this file."""
        locations = np.fromiter((r.location for r in rows), dtype=np.int64, count=len(rows))
        keys = self.population.key[np.maximum(locations, 0)]
        copies = np.fromiter((r.copy for r in rows), dtype=np.int64, count=len(rows))
        return self.draws.uniform(name, keys, copies)


@dataclass(frozen=True)
class RowMess:
    name: str
    feeds: frozenset[Feed]
    apply: Callable[[Table, MessContext], None]


_CT = frozenset({Feed.CT_CARE_HOMES, Feed.CT_HOME_CARE})
_ALL = frozenset(Feed)


def second_submission(table: Table, ctx: MessContext) -> None:
    rows = list(table.rows)
    draws = ctx.chance(MessTag.SECOND_SUBMISSION, rows)
    chosen = [r for r, u in zip(rows, draws, strict=True) if u < ctx.rates.second_submission]
    if not chosen:
        return
    rendered = table.render(table.locations(chosen), np.array([r.answered_on for r in chosen]), 1)
    for final, (cells, order) in zip(chosen, rendered, strict=True):
        earlier = table.answered_copy(final, cells, final.answered_on, order)
        earlier.superseded_by = final
        final.tag(MessTag.SECOND_SUBMISSION)
        earlier.tag(MessTag.SECOND_SUBMISSION)
        table.rows.append(earlier)


def location_id_mess(table: Table, ctx: MessContext) -> None:
    """Mutually exclusive faults of the CQC id column, one draw per row."""
    column = "CQC_Location_ID" if table.has("CQC_Location_ID") else "location_id"
    rates = ctx.rates
    kinds = [(MessTag.PADDED_ID, rates.padded_id)]
    if table.feed in _CT:
        kinds += [
            (MessTag.MISSING_PREFIX, rates.missing_prefix),
            (MessTag.BLANK_ID_ODS_ONLY, rates.blank_id_ods_only),
            (MessTag.NAME_POSTCODE_ONLY, rates.name_postcode_only),
        ]
    bounds = np.cumsum([rate for _, rate in kinds])
    slots = np.searchsorted(bounds, ctx.chance("location_id_mess", table.rows), side="right")
    padding = ctx.chance("padding", table.rows)
    for n in np.flatnonzero(slots < len(kinds)).tolist():
        row, tag = table.rows[n], kinds[int(slots[n])][0]
        value = table.get(row, column)
        if tag is MessTag.PADDED_ID:
            table.set(row, column, _pad(value, float(padding[n])))
        elif tag is MessTag.MISSING_PREFIX:
            table.set(row, column, value.removeprefix("1-"))
        elif tag is MessTag.BLANK_ID_ODS_ONLY:
            if not table.get(row, "ODS_Code"):
                continue
            table.set(row, column, "")
        else:
            table.set(row, column, "")
            table.set(row, "ODS_Code", "")
        row.tag(tag)


def lowercase_id(table: Table, ctx: MessContext) -> None:
    for row, u in zip(table.rows, ctx.chance(MessTag.LOWERCASE_ID, table.rows), strict=True):
        ods = table.get(row, "ODS_Code")
        if u < ctx.rates.lowercase_id and ods and ods != ods.lower():
            table.set(row, "ODS_Code", ods.lower())
            row.tag(MessTag.LOWERCASE_ID)


def postcode_variant(table: Table, ctx: MessContext) -> None:
    draws = ctx.chance(MessTag.POSTCODE_VARIANT, table.rows)
    styles = ctx.chance("postcode_style", table.rows)
    for row, u, style in zip(table.rows, draws, styles, strict=True):
        if u < ctx.rates.postcode_variant:
            table.set(row, "Postcode", _restyle_postcode(table.get(row, "Postcode"), style))
            row.tag(MessTag.POSTCODE_VARIANT)


def duplicate_row(table: Table, ctx: MessContext) -> None:
    originals = list(table.rows)
    draws = ctx.chance(MessTag.DUPLICATE_ROW, originals)
    chosen = [r for r, u in zip(originals, draws, strict=True) if u < ctx.rates.duplicate_row]
    if not chosen:
        return
    older_draw = ctx.chance("duplicate_row_older", chosen)
    places = ctx.chance("duplicate_row_place", chosen)
    locations = table.locations(chosen)
    answered_on = np.array([r.answered_on for r in chosen])
    previous = ctx.activity.last_answer(table.feed, locations, answered_on - 1)
    first = ctx.activity.windows[table.feed].first[locations]
    has_previous = (previous >= first) & (previous < answered_on)
    older = (older_draw < ctx.rates.duplicate_row_older) & has_previous
    rendered = iter(table.render(locations[older], previous[older], 0)) if older.any() else iter(())
    lowest = min(r.order for r in originals)
    span = max(r.order for r in originals) - lowest
    for original, is_older, day, place in zip(chosen, older, previous, places, strict=True):
        original.tag(MessTag.DUPLICATE_ROW)
        if is_older:
            cells, _ = next(rendered)
            copy = table.answered_copy(original, cells, int(day), order=lowest + float(place) * span)
        else:
            copy = table.answered_copy(original, list(original.cells), original.answered_on, original.order + 0.5)
        copy.superseded_by = original
        table.rows.append(copy)


def overlap_both_sources(table: Table, ctx: MessContext) -> None:
    day = table.report_date
    if not (TRANSITION <= day <= CQC_FORM_LAST_DAY):
        return
    if table.feed is Feed.CQC_UPDATE:
        other = ctx.activity.has_answered(Feed.CT_HOME_CARE, day)
    elif CQC_UPDATE.expected_on(day):
        other = ctx.activity.submitted(Feed.CQC_UPDATE, day)
    else:
        return
    in_other = np.isin(table.locations(), other)
    for row, both in zip(table.rows, in_other, strict=True):
        if both:
            row.tag(MessTag.OVERLAP_BOTH_SOURCES)


ROW_MESS: tuple[RowMess, ...] = (
    RowMess("second_submission", frozenset({Feed.CQC_UPDATE}), second_submission),
    RowMess("location_id_mess", _ALL, location_id_mess),
    RowMess("lowercase_id", _CT, lowercase_id),
    RowMess("postcode_variant", _CT, postcode_variant),
    RowMess("duplicate_row", _CT, duplicate_row),
    RowMess("overlap_both_sources", frozenset({Feed.CQC_UPDATE, Feed.CT_HOME_CARE}), overlap_both_sources),
)


def apply_row_mess(table: Table, ctx: MessContext) -> None:
    for mess in ROW_MESS:
        if table.feed in mess.feeds:
            mess.apply(table, ctx)


def _pad(value: str, u: float) -> str:
    if u < 0.4:
        return f" {value} "
    if u < 0.7:
        return value + "  "
    return " " + value


def _restyle_postcode(code: str, u: float) -> str:
    if u < 0.35:
        return code.lower()
    if u < 0.7:
        return code.replace(" ", "")
    if u < 0.85:
        return code.replace(" ", "  ")
    return " " + code.lower().replace(" ", "")
