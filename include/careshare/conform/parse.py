"""Bytes of a delivered file to a frame of text cells, checked against the feed's columns.

File-level problems raise `FileRejected` naming the file and the problem; row-level problems
(a record with the wrong number of fields, a repeated header) are returned as `RowIssue`s so
the rest of the file can continue.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from careshare.feeds import FeedSpec

MAX_FILE_BYTES = 64 * 1024 * 1024
SOURCE_ROW = "source_row"
# One over-long cell quarantines its row (text.too_long and its kin), never the whole file: the
# csv module's default cap of 131,072 characters a field would reject the file.
csv.field_size_limit(MAX_FILE_BYTES)


class FileRejected(ValueError):
    """The whole file is unusable; the raw bytes stay archived and the feed's day fails."""

    def __init__(self, file_name: str, rule: str, problem: str):
        super().__init__(f"{file_name}: {problem} [{rule}]")
        self.file_name = file_name
        self.rule = rule
        self.problem = problem


@dataclass(frozen=True)
class RowIssue:
    source_row: int
    rule: str
    column: str | None
    value: str | None
    message: str


@dataclass
class ParsedFile:
    frame: pd.DataFrame  # text cells of the file's columns, plus source_row
    encoding: str
    rows_delivered: int
    extra_columns: list[str] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)
    unparsed_records: dict[int, dict[str, str]] = field(default_factory=dict)


def decode(data: bytes, file_name: str) -> tuple[str, str]:
    if b"\x00" in data[:65536]:
        raise FileRejected(file_name, "file.binary", "contains NUL bytes: not a CSV text file")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as error:
        raise FileRejected(file_name, "file.encoding", f"not UTF-8 or Windows-1252 (byte {error.start})") from None


def parse_feed_file(
    data: bytes, spec: FeedSpec, report_date: date, file_name: str, *, proven_whole: bool = False
) -> ParsedFile:
    """`proven_whole`: the bytes were checked against the source's length or checksum, so a last
    record without a line end is the producer's style, not a sign the file was cut short."""
    if not data.strip():
        raise FileRejected(file_name, "file.empty", "empty file")
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected(file_name, "file.too_large", f"{len(data)} bytes is over the {MAX_FILE_BYTES}-byte limit")
    text, encoding = decode(data, file_name)
    ends_mid_line = not text.endswith(("\n", "\r"))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as error:
        if ends_mid_line and "unexpected end of data" in str(error):
            raise _truncated(file_name, reader.line_num) from None
        raise FileRejected(file_name, "file.csv", f"not parseable as CSV at line {reader.line_num}: {error}") from None
    header = [cell.strip().lstrip("\ufeff") for cell in records[0]]
    body = [r for r in records[1:] if any(cell.strip() for cell in r)]
    if ends_mid_line and (len(body[-1]) < len(header) if body else _cut_header(header, spec, report_date)):
        raise _truncated(file_name, reader.line_num)
    _check_header(header, spec, report_date, file_name)
    if not body:
        raise FileRejected(file_name, "file.no_rows", "header only: no data rows")

    expected = [c.name for c in spec.columns_on(report_date)]
    extra = [name for name in header if name not in expected]
    issues: list[RowIssue] = []
    rows: list[list[str]] = []
    numbers: list[int] = []
    unparsed: dict[int, dict[str, str]] = {}
    width = len(header)
    unterminated = len(body) if ends_mid_line and not proven_whole else None
    has_nul = "\x00" in text
    for number, record in enumerate(body, start=1):
        if len(record) != width:
            issues.append(
                RowIssue(
                    number,
                    "parse.row_width",
                    None,
                    ",".join(record)[:500],
                    f"expected {width} fields, found {len(record)}",
                )
            )
            unparsed[number] = {"_record": ",".join(record)}
            continue
        if [cell.strip() for cell in record] == header:
            issues.append(RowIssue(number, "parse.row_repeated_header", None, None, "header repeated"))
            unparsed[number] = dict(zip(header, record, strict=True))
            continue
        if number == unterminated:
            issues.append(RowIssue(number, "parse.last_record_unterminated", None, None, _UNTERMINATED))
        nul = has_nul and next((name for name, cell in zip(header, record, strict=True) if "\x00" in cell), None)
        if nul:
            issues.append(RowIssue(number, "parse.nul_byte", nul, None, f"{nul} contains a NUL byte"))
        rows.append(record)
        numbers.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype="str") if rows else pd.DataFrame(columns=header)
    frame.insert(0, SOURCE_ROW, pd.array(numbers, dtype="int64"))
    return ParsedFile(
        frame=frame,
        encoding=encoding,
        rows_delivered=len(body),
        extra_columns=extra,
        issues=issues,
        unparsed_records=unparsed,
    )


_UNTERMINATED = (
    "the last record has no line end although the file's other records do: it may have been cut short "
    "(e.g. inside a final number); a {feed}/{YYYY-MM-DD}.csv.sha256 file beside a landing file proves it whole"
)


def _cut_header(header: list[str], spec: FeedSpec, report_date: date) -> bool:
    """The start of the contract's header, ending part-way: a file cut short inside its header."""
    expected = [c.name for c in spec.columns_on(report_date)]
    if not header or len(header) >= len(expected):
        return False
    *whole, last = header
    return whole == expected[: len(whole)] and expected[len(whole)].startswith(last)


def _truncated(file_name: str, line: int) -> FileRejected:
    return FileRejected(
        file_name, "file.truncated", f"the file ends part-way through the record at line {line}: it was cut short"
    )


def _check_header(header: list[str], spec: FeedSpec, report_date: date, file_name: str) -> None:
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise FileRejected(file_name, "file.duplicate_column", f"columns repeated: {', '.join(duplicated)}")
    missing = [c.name for c in spec.columns_on(report_date) if c.name not in header]
    if not missing:
        return
    unexpected = [name for name in header if name not in {c.name for c in spec.columns}]
    renamed = {name: _same_words(name, unexpected) for name in missing}
    if all(renamed.values()):
        pairs = ", ".join(f"{found!r} where {name} is required" for name, found in renamed.items())
        raise FileRejected(file_name, "file.renamed_column", f"required column renamed: {pairs}")
    hint = f"; unexpected columns present: {', '.join(unexpected)}" if unexpected else ""
    raise FileRejected(
        file_name,
        "file.missing_column",
        f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}{hint}",
    )


def _same_words(name: str, candidates: list[str]) -> str | None:
    """The candidate spelling the same words as `name` in any case, order or separator."""
    words = sorted(re.findall(r"[a-z0-9]+", name.lower()))
    return next((c for c in candidates if sorted(re.findall(r"[a-z0-9]+", c.lower())) == words), None)
