"""One feed file for one report date: clean table, then mess, then bytes in the day's encoding."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from careshare.feeds import FEEDS, Feed

from .files import Variant, apply_bytes, apply_columns
from .mess import MessContext, apply_corrections, apply_row_mess
from .render_cqc import cqc_update_table
from .render_ct import ct_care_homes_table, ct_home_care_table
from .table import CompactTruth, RowTruth, Table, compact_truth, truth_of

if TYPE_CHECKING:
    from .world import World

CQC_UTF8_FROM = date(2020, 9, 1)
UTF8_BOM = b"\xef\xbb\xbf"

_TABLE_BUILDERS: dict[Feed, Callable[[World, date], Table]] = {
    Feed.CT_CARE_HOMES: ct_care_homes_table,
    Feed.CT_HOME_CARE: ct_home_care_table,
    Feed.CQC_UPDATE: cqc_update_table,
}


@dataclass(frozen=True)
class FileTruth:
    feed: str
    report_date: date
    encoding: str  # "utf-8" or "cp1252"
    bom: bool
    line_terminator: str
    rows: int
    sha256: str
    mess: tuple[str, ...] = ()  # file-level faults (files.FileMess)
    corrections: int = 0  # rounds of corrected answers since the first version

    def to_dict(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "report_date": self.report_date.isoformat(),
            "encoding": self.encoding,
            "bom": self.bom,
            "line_terminator": self.line_terminator,
            "rows": self.rows,
            "sha256": self.sha256,
            "mess": list(self.mess),
            "corrections": self.corrections,
        }


@dataclass(frozen=True, eq=False)
class RenderedFile:
    content: bytes
    file: FileTruth
    compact_truth: CompactTruth = field(repr=False)
    location_ids: list[str] = field(repr=False)

    @cached_property
    def rows(self) -> tuple[RowTruth, ...]:
        """The ground truth of each data row, in file order (built on first use: the server needs none)."""
        return truth_of(self.compact_truth, self.location_ids)


def render_feed(world: World, feed: Feed | str, report_date: date) -> bytes | None:
    """The bytes of the feed's latest file for `report_date`, or None when no file exists that day."""
    rendered = world.rendered(Feed(feed), report_date)
    return rendered.content if rendered else None


def build_file(world: World, feed: Feed, report_date: date, variant: Variant) -> RenderedFile | None:
    if not FEEDS[feed].expected_on(report_date):
        return None
    table = _TABLE_BUILDERS[feed](world, report_date)
    draws = world.mess_draws.scoped(feed.value, report_date.toordinal())
    context = MessContext(world.mess, draws, world.population, world.activity)
    apply_row_mess(table, context)
    if variant.corrections:
        apply_corrections(table, context, variant.corrections)
    rows = table.in_file_order()
    encoding, bom, terminator = _file_format(world, feed, report_date)
    detail = float(draws.uniform("file_mess_detail", np.zeros(1, dtype=np.uint64))[0])
    header, cells = apply_columns(variant, feed, table.columns, [r.cells for r in rows], detail)
    content = apply_bytes(variant, _serialise(header, cells, encoding, bom, terminator), terminator, detail)
    complete = max(content.count(terminator.encode()) - 1, 0) if content else 0
    rows = rows[: min(len(cells), complete)]
    file = FileTruth(
        feed=feed.value,
        report_date=report_date,
        encoding=encoding,
        bom=bom,
        line_terminator=terminator,
        rows=len(rows),
        sha256=hashlib.sha256(content).hexdigest(),
        mess=tuple(str(m) for m in variant.file_mess),
        corrections=variant.corrections,
    )
    return RenderedFile(
        content=content,
        file=file,
        compact_truth=compact_truth(rows),
        location_ids=world.population.location_id,
    )


def _file_format(world: World, feed: Feed, report_date: date) -> tuple[str, bool, str]:
    draws = world.mess_draws.scoped("file_format", feed.value)
    day = np.array([report_date.toordinal()], dtype=np.uint64)
    encoding = "cp1252" if feed is Feed.CQC_UPDATE and report_date < CQC_UTF8_FROM else "utf-8"
    bom = encoding == "utf-8" and bool(draws.uniform("bom", day)[0] < world.mess.bom)
    terminator = "\r\n" if draws.uniform("crlf", day)[0] < world.mess.crlf else "\n"
    return encoding, bom, terminator


def _serialise(columns: tuple[str, ...], rows: list[list[str]], encoding: str, bom: bool, terminator: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=terminator, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    content = buffer.getvalue().encode(encoding, errors="replace")
    return UTF8_BOM + content if bom else content
