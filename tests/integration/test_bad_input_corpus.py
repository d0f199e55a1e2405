"""A corpus of bad input, written by hand from clean contract files rather than by the simulator's
mess (ingestion must take any feed that follows SOURCES.md and refuse clearly what does not): every
kind of mess SOURCES.md lists and the ways a CSV goes wrong. Each file gives its documented outcome
(rejected with a rule, row quarantined with a rule, warned, or staged as normalised), the message
names the file and the rule, the raw bytes stay archived, and rows staged + quarantined = rows
delivered. Every case runs on SQLite and on PostgreSQL, production's warehouse, which refuses what
SQLite forgives (NUL in text, text longer than its column)."""

from __future__ import annotations

import csv
import dataclasses
import functools
import gzip
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
import pytest

from careshare.conform.parse import MAX_FILE_BYTES
from careshare.feeds import BLUE_PPE_FROM, CQC_FORM_LAST_DAY, Feed
from careshare.ingest import FeedDayFailed, archive_delivery, archive_key, load_feed_day
from careshare.sources.delivery import Delivery
from careshare.status import FeedDayStatus
from careshare_sim import MessRates, World
from tests.integration.merge_support import load_reference, local_platform, query

pytestmark = pytest.mark.slow

CT, HOME_CARE, CQC = Feed.CT_CARE_HOMES.value, Feed.CT_HOME_CARE.value, Feed.CQC_UPDATE.value
CT_BASE_DAY, ICF_DAY, CQC_BASE_DAY = date(2020, 12, 1), date(2021, 1, 11), date(2020, 7, 1)
BASE_DAYS = {CT: CT_BASE_DAY, HOME_CARE: CT_BASE_DAY, CQC: CQC_BASE_DAY}
QUARANTINE_TEXT_LIMITS = {"raw_record": 8000, "value": 1000, "message": 2000}
FEED_DAY_MESSAGE_LIMIT = 2000
NUL_SCAN_BYTES = 64 * 1024  # a NUL this early rejects the file as binary


@dataclass(frozen=True)
class Lines:
    """A clean file as rows of cells, to edit and write back in another shape."""

    header: list[str]
    rows: list[list[str]]

    @classmethod
    def of(cls, content: bytes) -> Lines:
        header, *rows = csv.reader(io.StringIO(decoded(content), newline=""))
        return cls(header, rows)

    def set(self, row: int, column: str, value: str) -> Lines:
        rows = [list(r) for r in self.rows]
        rows[row - 1][self.header.index(column)] = value
        return dataclasses.replace(self, rows=rows)

    def get(self, row: int, column: str) -> str:
        return self.rows[row - 1][self.header.index(column)]

    def text(self, *, sep: str = ",", newline: str = "\r\n") -> str:
        out = io.StringIO()
        csv.writer(out, delimiter=sep, lineterminator=newline).writerows([self.header, *self.rows])
        return out.getvalue()

    def csv(self, **options) -> bytes:
        return self.text(**options).encode()


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Lines], bytes | list[bytes]]  # one delivery, or several in order
    rejected: str | None = None  # the file rule that fails the day
    message: str = ""  # words the operator's message contains
    quarantined: dict[str, int] = field(default_factory=dict)  # rule: rows
    warned: set[str] = field(default_factory=set)
    staged: Callable[[pd.DataFrame, Lines], bool] | None = None  # what staging holds
    feed: str = CT
    day: date | None = None
    declares: Callable[[Lines], bytes] | None = None  # the file a landing `.sha256` sidecar was written for


def drop_column(lines: Lines, column: str) -> Lines:
    at = lines.header.index(column)
    return Lines(lines.header[:at] + lines.header[at + 1 :], [r[:at] + r[at + 1 :] for r in lines.rows])


def add_column(lines: Lines, column: str, value: str) -> Lines:
    return Lines([*lines.header, column], [[*r, value] for r in lines.rows])


def rename_column(lines: Lines, old: str, new: str) -> Lines:
    return dataclasses.replace(lines, header=[new if c == old else c for c in lines.header])


def staged_value(column: str, row: int, expected) -> Callable[[pd.DataFrame, Lines], bool]:
    return lambda staged, _: staged.set_index("source_row").at[row, column] == expected


def staged_instant(row: int, utc: str) -> Callable[[pd.DataFrame, Lines], bool]:
    """The row's submission time is the UTC instant `utc` (SQLite hands timestamps back as text)."""
    return lambda staged, _: pd.Timestamp(staged.set_index("source_row").at[row, "submitted_at"]) == pd.Timestamp(utc)


def grown_past(lines: Lines, size: int) -> Lines:
    """The file with its rows repeated under new CT ids until it is over `size` bytes."""
    at = lines.header.index("CT_Home_ID")
    grown, copy = lines, 0
    while len(grown.csv()) <= size:
        copy += 1
        renumbered = [[*r[:at], str(int(r[at]) + 100_000 * copy), *r[at + 1 :]] for r in lines.rows]
        grown = Lines(lines.header, [*grown.rows, *renumbered])
    return grown


def past_the_nul_scan(lines: Lines) -> Lines:
    return grown_past(lines, NUL_SCAN_BYTES + 1024)


def with_late_nul(lines: Lines) -> bytes:
    grown = past_the_nul_scan(lines)
    last = len(grown.rows)
    data = grown.set(last, "Home_Name", f"{grown.get(last, 'Home_Name')}\x00").csv()
    assert data.index(b"\x00") > NUL_SCAN_BYTES
    return data


def last_number_cut_short(lines: Lines) -> bytes:
    """The last cell "12" cut to "1", and the final line end gone with it."""
    last_column = lines.header[-1]
    return lines.set(len(lines.rows), last_column, "12").csv()[: -len("2\r\n")]


def cut_at_row_boundary(lines: Lines) -> bytes:
    return Lines(lines.header, lines.rows[:-2]).csv()


def cut_inside_quoted_last_field(lines: Lines) -> bytes:
    data = lines.set(len(lines.rows), lines.header[-1], "Open, with limits").csv()
    return data[: data.rindex(b", with")]


def html_error_page(_: Lines) -> bytes:
    style = "".join(f".rule-{i} {{ margin: {i}px; }}" for i in range(200))
    return f"<html><head><style>{style}</style></head>\n<body><h1>503 Service Unavailable</h1></body></html>\n".encode()


CASES = [
    # whole files that cannot be used: the day fails, the bytes are kept
    Case("empty file", lambda f: b"", rejected="file.empty", message="empty file"),
    Case("only blank lines", lambda f: b"\r\n  \r\n\r\n", rejected="file.empty", message="empty file"),
    Case("header only", lambda f: Lines(f.header, []).csv(), rejected="file.no_rows", message="header only"),
    Case(
        "header only, no newline",
        lambda f: ",".join(f.header).encode(),
        rejected="file.no_rows",
        message="header only",
    ),
    Case("truncated mid-row", lambda f: f.csv()[:-25], rejected="file.truncated", message="cut short"),
    Case("binary junk", lambda f: bytes(range(256)) * 64, rejected="file.binary", message="NUL bytes"),
    Case(
        "a NUL byte inside a cell in the first 64 KiB",
        lambda f: f.set(1, "Home_Name", "Elm\x00Grange").csv(),
        rejected="file.binary",
        message="NUL bytes",
    ),
    Case("gzip body", lambda f: gzip.compress(f.csv(), mtime=0), rejected="file.binary", message="NUL bytes"),
    Case(
        "undecodable bytes",
        lambda f: f.csv().replace(b"Home_Name", b"Home_Name\x81\x8d", 1),
        rejected="file.encoding",
        message="not UTF-8 or Windows-1252",
    ),
    Case("semicolon delimiter", lambda f: f.csv(sep=";"), rejected="file.missing_column", message="missing required"),
    Case("tab delimiter", lambda f: f.csv(sep="\t"), rejected="file.missing_column", message="missing required"),
    Case(
        "HTML error page",
        lambda f: b"<html><body><h1>502 Bad Gateway</h1></body></html>\n",
        rejected="file.missing_column",
        message="missing required columns",
    ),
    Case(
        "HTML error page with a first line over 3,000 characters",
        html_error_page,
        rejected="file.missing_column",
        message="missing required columns",
    ),
    Case(
        "truncated inside a quoted last field",
        cut_inside_quoted_last_field,
        rejected="file.truncated",
        message="cut short",
    ),
    Case(
        "a landing file cut at a row boundary, its .sha256 sidecar written for the whole file",
        cut_at_row_boundary,
        declares=lambda f: f.csv(),
        rejected="file.checksum",
        message="but the file's SHA-256 is",
    ),
    Case(
        "JSON instead of CSV",
        lambda f: json.dumps({"error": "quota exceeded"}).encode(),
        rejected="file.missing_column",
        message="missing required columns",
    ),
    Case(
        "duplicated header column",
        lambda f: add_column(f, "Beds_Total", "1").csv(),
        rejected="file.duplicate_column",
        message="columns repeated: Beds_Total",
    ),
    Case(
        "renamed column",
        lambda f: rename_column(f, "Beds_Vacant", "beds vacant").csv(),
        rejected="file.renamed_column",
        message="'beds vacant' where Beds_Vacant is required",
    ),
    Case(
        "missing column",
        lambda f: drop_column(f, "Staff_Employed").csv(),
        rejected="file.missing_column",
        message="missing required column Staff_Employed",
    ),
    Case(
        "unbalanced quote",
        lambda f: f.csv().replace(f"\r\n{f.rows[2][0]},".encode(), f'\r\n"{f.rows[2][0]},'.encode(), 1),
        rejected="file.csv",
        message="not parseable as CSV",
    ),
    Case(
        "a file over the size limit",
        lambda f: f.csv() + b"#" * (MAX_FILE_BYTES + 1),
        rejected="file.too_large",
        message="-byte limit",
    ),
    # whole files that are fine in another shape
    Case(
        "UTF-8 with BOM and CRLF",
        lambda f: b"\xef\xbb\xbf" + f.csv(),
        staged=lambda s, f: len(s) == len(f.rows),
    ),
    Case(
        "Windows-1252 names, LF endings",
        lambda f: f.set(1, "Home_Name", "Étoile Court").text(newline="\n").encode("cp1252"),
        staged=staged_value("name", 1, "Étoile Court"),
    ),
    Case(
        "a cut at a row boundary is undetectable without a .sha256 sidecar: the file loads with fewer rows",
        cut_at_row_boundary,
        staged=lambda s, f: len(s) == len(f.rows) - 2,
    ),
    Case("CR-only line endings", lambda f: f.csv(newline="\r"), staged=lambda s, f: len(s) == len(f.rows)),
    Case(
        "columns in another order, blank lines at the end",
        lambda f: Lines(f.header[::-1], [r[::-1] for r in f.rows]).csv() + b"\r\n\r\n",
        staged=lambda s, f: len(s) == len(f.rows),
    ),
    Case(
        "ICF columns before 2021-01-11 are kept as extra columns",
        lambda f: add_column(f, "ICF_Staff_Single_Site", "Yes").csv(),
        day=ICF_DAY - timedelta(days=1),
        message="unexpected columns kept in extra_columns: ICF_Staff_Single_Site",
        staged=lambda s, f: s["extra_columns"].str.contains("ICF_Staff_Single_Site").all(),
    ),
    Case(
        "the same file delivered twice",
        lambda f: [f.csv(), f.csv()],
        staged=lambda s, f: len(s) == len(f.rows),
    ),
    Case(
        "a corrected file replaces the first",
        lambda f: [f.csv(), f.set(2, "Beds_Vacant", "0").csv()],
        staged=staged_value("beds_vacant", 2, 0),
    ),
    # rows: ids and names
    Case(
        "padded, lower-case and prefix-less ids",
        lambda f: (
            f.set(1, "CQC_Location_ID", f"  {f.get(1, 'CQC_Location_ID')} ")
            .set(2, "CQC_Location_ID", f.get(2, "CQC_Location_ID").removeprefix("1-"))
            .set(3, "ODS_Code", f.get(3, "ODS_Code").lower())
            .csv()
        ),
        staged=lambda s, f: (
            s.set_index("source_row").loc[[1, 2], "cqc_location_id"].tolist()
            == [f.get(1, "CQC_Location_ID"), f.get(2, "CQC_Location_ID")]
            and s.set_index("source_row").at[3, "ods_code"] == f.get(3, "ODS_Code")
        ),
    ),
    Case(
        "no CQC id: ODS code only, then name and postcode only",
        lambda f: f.set(1, "CQC_Location_ID", "").set(2, "CQC_Location_ID", "").set(2, "ODS_Code", "").csv(),
        staged=lambda s, f: s.set_index("source_row").loc[[1, 2], "cqc_location_id"].isna().all(),
    ),
    Case(
        "an id that is not a CQC id",
        lambda f: f.set(4, "CQC_Location_ID", "ABC-123").csv(),
        quarantined={"id.cqc_location_id.pattern": 1},
    ),
    Case(
        "the same location twice",
        lambda f: Lines(f.header, [*f.rows, f.rows[0]]).csv(),
        staged=lambda s, f: len(s) == len(f.rows) + 1,
    ),
    Case(
        "a provider typing the wrong council",
        lambda f: f.set(1, "Local_Authority", "Atlantis").csv(),
        staged=staged_value("la_name_reported", 1, "Atlantis"),
    ),
    # rows: counts
    Case(
        "counts over their bounds",
        lambda f: f.set(1, "Beds_Total", "5").set(1, "Beds_Vacant", "9").set(2, "Staff_Absent_Covid", "900").csv(),
        warned={"bound.beds_vacant_le_total", "bound.staff_absent_le_employed"},
        staged=lambda s, f: len(s) == len(f.rows),
    ),
    Case(
        "negative, non-numeric, decimal and huge counts",
        lambda f: (
            f.set(1, "Beds_Total", "-3")
            .set(2, "Residents_Total", "ten")
            .set(3, "Staff_Employed", "12.5")
            .set(4, "Beds_Vacant", "99999999999")
            .csv()
        ),
        quarantined={"count.beds_total.non_negative": 1, "parse.integer": 3},
    ),
    Case(
        "a 2,500-character junk count",
        lambda f: f.set(1, "Beds_Total", "9" * 2500).set(2, "Beds_Total", "many" * 625).csv(),
        quarantined={"parse.integer": 2},
    ),
    # rows: timestamps
    Case(
        "timestamps in the future, before 2020 and impossible",
        lambda f: (
            f.set(1, "Last_Updated", "01/12/2030 10:00")
            .set(2, "Last_Updated", "01/12/1900 10:00")
            .set(3, "Last_Updated", "31/02/2020 10:00")
            .csv()
        ),
        quarantined={
            "time.submitted_at.not_after_report_date": 1,
            "time.submitted_at.not_before_collections": 1,
            "parse.uk_timestamp": 1,
        },
    ),
    Case(
        "a timestamp in the wrong format",
        lambda f: f.set(1, "Last_Updated", "2020-12-01T10:00:00").csv(),
        quarantined={"parse.uk_timestamp": 1},
    ),
    Case(
        "a time in October's repeated hour is the earlier instant",
        lambda f: f.set(1, "Last_Updated", "25/10/2020 01:30").csv(),
        staged=staged_instant(1, "2020-10-25 00:30"),
    ),
    Case(
        "a time in March's missing hour moves forward to the first valid instant",
        lambda f: f.set(1, "Last_Updated", "29/03/2020 01:30").csv(),
        staged=staged_instant(1, "2020-03-29 01:00"),
    ),
    Case(
        "a file whose timestamps are mostly unreadable",
        lambda f: Lines(f.header, [[*r[:6], "12/01/2020", *r[7:]] for r in f.rows]).csv(),
        rejected="time.submitted_at.not_null",
        message="critical rule failed: Every answer carries a parseable submission time",
    ),
    # rows: answers and shapes
    Case(
        "answers outside the contract",
        lambda f: f.set(1, "PPE_Gloves", "Purple").set(2, "Accepting_Admissions", "Maybe").csv(),
        quarantined={"answer.ppe_gloves.allowed": 1, "answer.accepting_admissions.allowed": 1},
    ),
    Case(
        "Blue PPE before 2020-08-10 is outside the contract",
        lambda f: f.set(1, "PPE_Masks", "Blue").csv(),
        day=date(2020, 7, 1),
        quarantined={"answer.ppe_masks.allowed": 1},
    ),
    Case(
        "Blue PPE from 2020-08-10 is an answer",
        lambda f: f.set(1, "PPE_Masks", "Blue").csv(),
        day=BLUE_PPE_FROM,
        staged=staged_value("ppe_masks", 1, "Blue"),
    ),
    Case(
        "rows too wide, too narrow, and the header again",
        lambda f: Lines(f.header, [[*f.rows[0], "x"], f.rows[1][:-3], f.header, *f.rows[3:]]).csv(),
        quarantined={"parse.row_width": 2, "parse.row_repeated_header": 1},
    ),
    Case(
        "a name longer than the warehouse keeps",
        lambda f: f.set(1, "Home_Name", "x" * 5000).csv(),
        quarantined={"parse.too_long": 1},
    ),
    Case(
        "a 9,000-character name: its raw record is kept clipped to its column",
        lambda f: f.set(1, "Home_Name", "x" * 9000).csv(),
        quarantined={"parse.too_long": 1},
    ),
    Case(
        "one cell over the csv module's default 131,072-character field limit quarantines only its row",
        lambda f: f.set(2, "Home_Name", "y" * 200_000).csv(),
        quarantined={"parse.too_long": 1},
        staged=lambda s, f: len(s) == len(f.rows) - 1,
    ),
    Case(
        "a NUL byte after the first 64 KiB quarantines only its row",
        with_late_nul,
        quarantined={"parse.nul_byte": 1},
        staged=lambda s, f: len(s) == len(past_the_nul_scan(f).rows) - 1,
    ),
    Case(
        "a landing file whose last number was cut short, with no line end",
        last_number_cut_short,
        feed=CQC,
        quarantined={"parse.last_record_unterminated": 1},
    ),
    Case(
        "the same file proven whole by a matching .sha256 sidecar",
        last_number_cut_short,
        declares=last_number_cut_short,
        feed=CQC,
        quarantined={"parse.last_record_unterminated": 0},
        staged=lambda s, f: len(s) == len(f.rows) and s["covid_deaths_since_last_update"].iloc[-1] == 1,
    ),
    Case(
        "formula and SQL injection strings are data",
        lambda f: (
            f.set(1, "Home_Name", '=HYPERLINK("http://evil")')
            .set(2, "Home_Name", "x'); DROP TABLE stg_submission;--")
            .set(3, "Home_Name", "@SUM(A1:A9)")
            .csv()
        ),
        staged=lambda s, f: (
            s.set_index("source_row").loc[[1, 2, 3], "name"].tolist()
            == ['=HYPERLINK("http://evil")', "x'); DROP TABLE stg_submission;--", "@SUM(A1:A9)"]
        ),
    ),
    # the other feeds
    Case(
        "ICF columns from 2021-01-11 are carried",
        lambda f: f.csv(),
        day=ICF_DAY,
        staged=lambda s, f: s["icf_funding_received"].notna().any(),
    ),
    Case(
        "CQC form: Windows-1252, a second submission, PPE days",
        lambda f: Lines(f.header, [*f.rows, f.rows[0]]).set(1, "location_name", "Café Care").text().encode("cp1252"),
        feed=CQC,
        staged=lambda s, f: len(s) == len(f.rows) + 1 and s["ppe_masks"].isin(["Red", "Amber", "Green"]).all(),
    ),
    Case(
        "CQC form: negative people and a wrong-format time",
        lambda f: f.set(1, "people_receiving_care", "-1").set(2, "submitted_at", "01/07/2020 09:14").csv(),
        feed=CQC,
        quarantined={"count.people_supported.non_negative": 1, "parse.iso_timestamp": 1},
    ),
    Case(
        "CQC form: a file on a Saturday of the weekday-only period is ingested and reported",
        lambda f: f.csv(),
        feed=CQC,
        day=date(2020, 6, 6),
        message="file delivered for a date outside the cqc_update collection; ingested and reported",
        staged=lambda s, f: len(s) == len(f.rows),
    ),
    Case(
        "CQC form: a file after the form closed is ingested and reported",
        lambda f: f.csv(),
        feed=CQC,
        day=CQC_FORM_LAST_DAY + timedelta(days=2),
        message="file delivered for a date outside the cqc_update collection; ingested and reported",
        staged=lambda s, f: len(s) == len(f.rows),
    ),
    Case(
        "CT home care: renamed column",
        lambda f: rename_column(f, f.header[1], f.header[1].lower()).csv(),
        feed=HOME_CARE,
        rejected="file.renamed_column",
        message="required column renamed",
    ),
]


def case_days() -> dict[str, date]:
    """Each case its own report date, so no delivery of one case supersedes another's."""
    days = {case.name: case.day for case in CASES if case.day}
    claimed = {(case.feed, case.day) for case in CASES if case.day}
    next_day = dict(BASE_DAYS)
    for case in CASES:
        if case.day:
            continue
        day = next_day[case.feed]
        while (case.feed, day) in claimed or (case.feed == CQC and day.weekday() >= 5):
            day += timedelta(days=1)
        days[case.name] = day
        next_day[case.feed] = day + timedelta(days=1)
    return days


@pytest.fixture(scope="module")
def corpus(module_warehouse_url, tmp_path_factory, local_authorities):
    world = World(11, 40, 30, local_authorities, date(2024, 6, 30), mess=MessRates.clean())
    platform = local_platform(module_warehouse_url, tmp_path_factory.mktemp("corpus"))
    load_reference(platform, world)
    yield platform, functools.partial(clean_file, world), case_days()
    platform.warehouse.engine.dispose()


def base_day(case: Case, day: date) -> date:
    """The day of the clean file a case edits: its own when the case is about its date, else its feed's
    base day (the ICF day's once a CT file must carry the ICF columns)."""
    if case.day:
        return case.day
    return ICF_DAY if case.feed != CQC and day >= ICF_DAY else BASE_DAYS[case.feed]


def clean_file(world: World, feed: str, day: date) -> Lines:
    """The feed's clean contract file for the day; for a day the feed publishes none (a CQC weekend,
    after the form closed), its last file before."""
    while (rendered := world.rendered(feed, day)) is None:
        day -= timedelta(days=1)
    return Lines.of(rendered.content)


def test_the_corpus_covers_thirty_files_and_every_kind_of_mess():
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_bad_file_gives_its_documented_outcome(corpus, case):
    platform, clean, days = corpus
    day = days[case.name]
    base = clean(case.feed, base_day(case, day))
    built = case.build(base)
    deliveries = built if isinstance(built, list) else [built]
    declared = hashlib.sha256(case.declares(base)).hexdigest() if case.declares else None
    archived = [
        archive_delivery(
            platform,
            Delivery(case.feed, day, data, "landing", f"corpus/{case.feed}/{day}.csv", declared_sha256=declared),
        )
        for data in deliveries
    ]
    final = archived[-1]
    assert platform.raw_archive.get(archive_key(case.feed, day, final.sha256)) == deliveries[-1], "raw bytes kept"
    assert len(registry_rows(platform, case.feed, day)) == len({a.sha256 for a in archived}), (
        "the same bytes are registered once"
    )

    if case.rejected:
        with pytest.raises(FeedDayFailed) as failure:
            load_feed_day(platform, case.feed, day)
        message = str(failure.value)
        assert failure.value.rule == case.rejected
        assert archive_key(case.feed, day, final.sha256) in message, "the message names the file"
        assert case.message in message and f"[rule {case.rejected}]" in message
        status = query(platform, "SELECT status FROM raw_delivery WHERE sha256 = :s", s=final.sha256)
        assert status == [("rejected",)]
        ((day_status, day_rule, day_message),) = feed_day(platform, case.feed, day)
        assert (day_status, day_rule) == (FeedDayStatus.FAILED, case.rejected)
        assert len(day_message) <= FEED_DAY_MESSAGE_LIMIT and day_message in message
        return

    result = load_feed_day(platform, case.feed, day)
    assert result.status == FeedDayStatus.LOADED
    assert case.message in (result.message or "")
    assert feed_day(platform, case.feed, day)[0][0] == FeedDayStatus.LOADED
    quarantine = pd.DataFrame(
        query(
            platform,
            "SELECT source_row, rule, raw_record, value, message FROM quarantine_row"
            " WHERE feed = :f AND report_date = :d",
            f=case.feed,
            d=day,
        ),
        columns=["source_row", "rule", *QUARANTINE_TEXT_LIMITS],
    )
    by_rule = quarantine.groupby("rule")["source_row"].nunique().to_dict()
    assert {rule: by_rule.get(rule, 0) for rule in case.quarantined} == case.quarantined
    assert quarantine["message"].str.len().gt(0).all()
    for column, limit in QUARANTINE_TEXT_LIMITS.items():
        assert quarantine[column].fillna("").str.len().le(limit).all(), f"quarantine_row.{column} over {limit}"
    assert case.warned <= set(result.warnings)
    assert result.rows_staged + result.rows_quarantined == result.rows_delivered == records(deliveries[-1])
    staged = staged_rows(platform, case, day)
    assert len(staged) == result.rows_staged
    if case.staged:
        assert case.staged(staged, base), "staged rows are not as documented"
    if len(archived) > 1 and archived[0].sha256 != final.sha256:
        statuses = dict(registry_rows(platform, case.feed, day))
        assert statuses[archived[0].sha256] == "superseded" and statuses[final.sha256] == FeedDayStatus.LOADED


def decoded(data: bytes) -> str:
    """A delivered file's text: UTF-8 (with or without BOM), else the older CQC exports' Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def records(data: bytes) -> int:
    """Data records in a delivered file: what row accounting must add up to."""
    rows = [r for r in csv.reader(io.StringIO(decoded(data), newline="")) if any(cell.strip() for cell in r)]
    return len(rows) - 1


def feed_day(platform, feed: str, day: date) -> list[tuple]:
    return query(
        platform, "SELECT status, rule, message FROM feed_day WHERE feed = :f AND report_date = :d", f=feed, d=day
    )


def registry_rows(platform, feed: str, day: date) -> list[tuple]:
    return query(
        platform, "SELECT sha256, status FROM raw_delivery WHERE feed = :f AND report_date = :d", f=feed, d=day
    )


def staged_rows(platform, case: Case, day: date) -> pd.DataFrame:
    rows = query(
        platform,
        "SELECT * FROM stg_submission WHERE feed = :f AND report_date = :d ORDER BY source_row",
        f=case.feed,
        d=day,
    )
    columns = [c.name for c in platform.warehouse.table("stg_submission").columns]
    return pd.DataFrame(rows, columns=columns)
