"""The mess of real feeds, each kind with a rate, applied to a clean table in a fixed order.

To add a kind: a field in MessRates, a tag in MessTag, and a RowMess in ROW_MESS (or a file-level
kind in files.py). Each kind draws from its own stream, so adding one never moves the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from careshare.feeds import CQC_FORM_LAST_DAY, CQC_UPDATE, CT_TIMESTAMP_FORMAT, TRANSITION, Feed

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
    VACANT_OVER_TOTAL = "vacant_over_total"  # CT care homes: more beds vacant than beds
    ABSENT_OVER_EMPLOYED = "absent_over_employed"  # more staff absent than employed
    NEGATIVE_COUNT = "negative_count"  # a count typed below zero
    FUTURE_TIMESTAMP = "future_timestamp"  # answered after the end of the report date
    TIMESTAMP_FORMAT = "timestamp_format"  # a timestamp not in the feed's format
    WRONG_LA_NAME = "wrong_la_name"  # CT: the provider typed another council's name
    DEREGISTERED_REPORTING = "deregistered_reporting"  # still in the file after deregistration
    CORRECTED = "corrected"  # answers changed by a corrected file


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
    vacant_over_total: float = 0.002
    absent_over_employed: float = 0.002
    negative_count: float = 0.001
    future_timestamp: float = 0.001
    timestamp_format: float = 0.001
    wrong_la_name: float = 0.01
    deregistered_reporting: float = 0.15  # share of deregistered locations still listed for up to 60 days
    bom: float = 0.3  # UTF-8 files starting with a byte order mark
    crlf: float = 0.5  # files with CRLF line endings
    # per file: unusable deliveries (at most one kind per file), each re-issued complete hours later
    empty_file: float = 0.002
    header_only: float = 0.002
    truncated_file: float = 0.003
    renamed_column: float = 0.001
    missing_column: float = 0.001
    extra_column: float = 0.005  # an unexpected column, kept by ingestion and reported
    late_correction: float = 0.02  # a corrected file replaces the published one days later
    duplicated_delivery: float = 0.03  # the same bytes published again

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
            table.set(row, column, pad_id(value, float(padding[n])))
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
            table.set(row, "Postcode", restyle_postcode(table.get(row, "Postcode"), style))
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
            # an identical copy goes just after the original: of two equal rows the first is kept
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


_TIME_COLUMN = {Feed.CT_CARE_HOMES: "Last_Updated", Feed.CT_HOME_CARE: "Last_Updated", Feed.CQC_UPDATE: "submitted_at"}
_ABSENCE = {  # (absent, employed)
    Feed.CT_CARE_HOMES: ("Staff_Absent_Covid", "Staff_Employed"),
    Feed.CT_HOME_CARE: ("Care_Workers_Absent_Covid", "Care_Workers_Employed"),
    Feed.CQC_UPDATE: ("staff_absent_covid", "staff_total"),
}
NEGATIVE_COLUMNS = {
    Feed.CT_CARE_HOMES: ("Beds_Vacant", "Residents_Total", "Residents_Covid_Suspected", "Staff_Absent_Other"),
    Feed.CT_HOME_CARE: ("People_Supported", "People_Covid_Suspected", "Hours_Unable_To_Deliver"),
    Feed.CQC_UPDATE: ("people_receiving_care", "people_suspected_covid", "covid_deaths_since_last_update"),
}
CT_BAD_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M", "%d/%m/%y %H:%M", "%d/%m/%Y")
CQC_BAD_TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S BST")
# rows whose outcome is decided by another row (in-file duplicates, the overlap) keep clean answers,
# so the truth of which row wins stays unambiguous
_ANSWER_MESS_EXEMPT = frozenset({MessTag.DUPLICATE_ROW, MessTag.SECOND_SUBMISSION, MessTag.OVERLAP_BOTH_SOURCES})


def answer_mess(table: Table, ctx: MessContext) -> None:
    """Mutually exclusive faults of a row's answers: bounds broken, negatives, bad timestamps."""
    rates = ctx.rates
    kinds = [
        (MessTag.VACANT_OVER_TOTAL, rates.vacant_over_total if table.feed is Feed.CT_CARE_HOMES else 0.0),
        (MessTag.ABSENT_OVER_EMPLOYED, rates.absent_over_employed),
        (MessTag.NEGATIVE_COUNT, rates.negative_count),
        (MessTag.FUTURE_TIMESTAMP, rates.future_timestamp),
        (MessTag.TIMESTAMP_FORMAT, rates.timestamp_format),
    ]
    rows = [r for r in table.rows if not _ANSWER_MESS_EXEMPT.intersection(r.mess)]
    if not rows:
        return
    bounds = np.cumsum([rate for _, rate in kinds])
    slots = np.searchsorted(bounds, ctx.chance("answer_mess", rows), side="right")
    detail = ctx.chance("answer_mess_detail", rows)
    for n in np.flatnonzero(slots < len(kinds)).tolist():
        row, tag, u = rows[n], kinds[int(slots[n])][0], float(detail[n])
        if tag is MessTag.VACANT_OVER_TOTAL:
            table.set(row, "Beds_Vacant", str(int(table.get(row, "Beds_Total")) + 1 + int(u * 5)))
        elif tag is MessTag.ABSENT_OVER_EMPLOYED:
            absent, employed = _ABSENCE[table.feed]
            table.set(row, absent, str(int(table.get(row, employed)) + 1 + int(u * 5)))
        elif tag is MessTag.NEGATIVE_COUNT:
            choices = NEGATIVE_COLUMNS[table.feed]
            column = choices[min(int(u * len(choices)), len(choices) - 1)]
            table.set(row, column, f"-{max(int(table.get(row, column) or 0), 1)}")
        elif tag is MessTag.FUTURE_TIMESTAMP:
            _move_after_report_date(table, row, days=365 if u < 0.3 else 1 + int(u * 30))
        else:
            formats = CQC_BAD_TIMESTAMP_FORMATS if table.feed is Feed.CQC_UPDATE else CT_BAD_TIMESTAMP_FORMATS
            column = _TIME_COLUMN[table.feed]
            moment = _read_time(table.feed, table.get(row, column))
            table.set(row, column, moment.strftime(formats[min(int(u * len(formats)), len(formats) - 1)]))
        row.tag(tag)


def wrong_la_name(table: Table, ctx: MessContext) -> None:
    councils = sorted({la.name for la in ctx.population.councils})
    draws = ctx.chance(MessTag.WRONG_LA_NAME, table.rows)
    picks = ctx.chance("wrong_la_name_pick", table.rows)
    for row, u, pick in zip(table.rows, draws, picks, strict=True):
        if u >= ctx.rates.wrong_la_name:
            continue
        typed = table.get(row, "Local_Authority")
        others = [name for name in councils if name != typed]
        table.set(row, "Local_Authority", others[min(int(pick * len(others)), len(others) - 1)])
        row.tag(MessTag.WRONG_LA_NAME)


def deregistered_reporting(table: Table, ctx: MessContext) -> None:
    """Tags rows of locations the directory lists as deregistered before the report date."""
    day = table.report_date.toordinal()
    locations = table.locations()
    closed = ctx.population.deregistration_day[np.maximum(locations, 0)] < day
    for row, is_closed in zip(table.rows, closed & (locations >= 0), strict=True):
        if is_closed:
            row.tag(MessTag.DEREGISTERED_REPORTING)


ROW_MESS: tuple[RowMess, ...] = (
    RowMess("second_submission", frozenset({Feed.CQC_UPDATE}), second_submission),
    RowMess("location_id_mess", _ALL, location_id_mess),
    RowMess("lowercase_id", _CT, lowercase_id),
    RowMess("postcode_variant", _CT, postcode_variant),
    RowMess("duplicate_row", _CT, duplicate_row),
    RowMess("overlap_both_sources", frozenset({Feed.CQC_UPDATE, Feed.CT_HOME_CARE}), overlap_both_sources),
    RowMess("answer_mess", _ALL, answer_mess),
    RowMess("wrong_la_name", _CT, wrong_la_name),
    RowMess("deregistered_reporting", _ALL, deregistered_reporting),
)


def apply_row_mess(table: Table, ctx: MessContext) -> None:
    for mess in ROW_MESS:
        if table.feed in mess.feeds:
            mess.apply(table, ctx)


CORRECTED_ROW_SHARE = 0.05
_CORRECTION_VARIANT = 100
_COUNT_MESS = frozenset({MessTag.VACANT_OVER_TOTAL, MessTag.ABSENT_OVER_EMPLOYED, MessTag.NEGATIVE_COUNT})


def apply_corrections(table: Table, ctx: MessContext, rounds: int) -> None:
    """A corrected file: some rows' answers (not who they are about, nor when) given again.

    Always at least one row changes. Rows whose outcome depends on another row are left alone.
    """
    rows = [r for r in table.rows if not _ANSWER_MESS_EXEMPT.intersection(r.mess)]
    if not rows:
        return
    draws = ctx.chance(f"correction:{rounds}", rows)
    chosen = [r for r, u in zip(rows, draws, strict=True) if u < CORRECTED_ROW_SHARE] or [rows[int(draws.argmin())]]
    days = np.array([r.answered_on for r in chosen])
    kept = table.identity_columns | {_TIME_COLUMN[table.feed]}
    rendered = table.render(table.locations(chosen), days, _CORRECTION_VARIANT + rounds)
    for row, (cells, _) in zip(chosen, rendered, strict=True):
        row.cells = [row.cells[i] if name in kept else cells[i] for i, name in enumerate(table.columns)]
        row.mess = [tag for tag in row.mess if tag not in _COUNT_MESS]
        row.tag(MessTag.CORRECTED)


def pad_id(value: str, u: float) -> str:
    if u < 0.4:
        return f" {value} "
    if u < 0.7:
        return value + "  "
    return " " + value


def restyle_postcode(code: str, u: float) -> str:
    if u < 0.35:
        return code.lower()
    if u < 0.7:
        return code.replace(" ", "")
    if u < 0.85:
        return code.replace(" ", "  ")
    return " " + code.lower().replace(" ", "")


def _read_time(feed: Feed, text: str) -> datetime:
    return datetime.fromisoformat(text) if feed is Feed.CQC_UPDATE else datetime.strptime(text, CT_TIMESTAMP_FORMAT)


def _move_after_report_date(table: Table, row: Row, days: int) -> None:
    """The same time of day, `days` after the report date (a wrong clock, a mistyped year)."""
    column = _TIME_COLUMN[table.feed]
    moment = _read_time(table.feed, table.get(row, column))
    later = datetime.combine(table.report_date + timedelta(days=days), moment.timetz())
    text = later.isoformat() if table.feed is Feed.CQC_UPDATE else later.strftime(CT_TIMESTAMP_FORMAT)
    table.set(row, column, text)
