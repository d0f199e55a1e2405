"""A corpus of bad input, written by hand from clean contract files rather than by the simulator's
mess (ingestion must take any feed that follows SOURCES.md and refuse clearly what does not): every
kind of mess SOURCES.md lists and the ways a CSV goes wrong. Each file gives its documented outcome
(rejected with a rule, row quarantined with a rule, warned, or staged as normalised), the message
names the file and the rule, the raw bytes stay archived, and rows staged + quarantined = rows
delivered."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
import pytest

from careshare.conform.parse import MAX_FILE_BYTES
from careshare.feeds import Feed
from careshare.ingest import LOADED, FeedDayFailed, archive_delivery, archive_key, load_feed_day
from careshare.simulator import MessRates, World
from careshare.sources.delivery import Delivery
from tests.integration.merge_support import load_reference, local_platform, query

pytestmark = pytest.mark.slow

CT, HOME_CARE, CQC = Feed.CT_CARE_HOMES.value, Feed.CT_HOME_CARE.value, Feed.CQC_UPDATE.value
CT_BASE_DAY, ICF_DAY, CQC_BASE_DAY = date(2020, 12, 1), date(2021, 1, 11), date(2020, 7, 1)


@dataclass(frozen=True)
class Lines:
    """A clean file as rows of cells, to edit and write back in another shape."""

    header: list[str]
    rows: list[list[str]]

    @classmethod
    def of(cls, content: bytes, encoding: str = "utf-8-sig") -> Lines:
        header, *rows = csv.reader(io.StringIO(content.decode(encoding), newline=""))
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


def drop_column(lines: Lines, column: str) -> Lines:
    at = lines.header.index(column)
    return Lines(lines.header[:at] + lines.header[at + 1 :], [r[:at] + r[at + 1 :] for r in lines.rows])


def add_column(lines: Lines, column: str, value: str) -> Lines:
    return Lines([*lines.header, column], [[*r, value] for r in lines.rows])


def rename_column(lines: Lines, old: str, new: str) -> Lines:
    return dataclasses.replace(lines, header=[new if c == old else c for c in lines.header])


def staged_value(column: str, row: int, expected) -> Callable[[pd.DataFrame, Lines], bool]:
    return lambda staged, _: staged.set_index("source_row").at[row, column] == expected


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
    Case("CR-only line endings", lambda f: f.csv(newline="\r"), staged=lambda s, f: len(s) == len(f.rows)),
    Case(
        "columns in another order, blank lines at the end",
        lambda f: Lines(f.header[::-1], [r[::-1] for r in f.rows]).csv() + b"\r\n\r\n",
        staged=lambda s, f: len(s) == len(f.rows),
    ),
    Case(
        "ICF columns before 2021-01-11 are kept as extra columns",
        lambda f: add_column(f, "ICF_Staff_Single_Site", "Yes").csv(),
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
        "CT home care: renamed column",
        lambda f: rename_column(f, f.header[1], f.header[1].lower()).csv(),
        feed=HOME_CARE,
        rejected="file.renamed_column",
        message="required column renamed",
    ),
]


def case_days() -> dict[str, date]:
    """Each case its own report date, so no delivery of one case supersedes another's."""
    days, next_day = {}, {CT: CT_BASE_DAY, HOME_CARE: CT_BASE_DAY, CQC: CQC_BASE_DAY}
    for case in CASES:
        if case.day:
            days[case.name] = case.day
            continue
        day = next_day[case.feed]
        while case.feed == CQC and day.weekday() >= 5:
            day += timedelta(days=1)
        days[case.name] = day
        next_day[case.feed] = day + timedelta(days=1)
    return days


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, local_authorities):
    tmp = tmp_path_factory.mktemp("corpus")
    world = World(11, 40, 30, local_authorities, date(2024, 6, 30), mess=MessRates.clean())
    platform = local_platform(f"sqlite:///{tmp / 'warehouse.db'}", tmp)
    load_reference(platform, world)
    bases = {
        CT: Lines.of(world.rendered(CT, CT_BASE_DAY).content),
        HOME_CARE: Lines.of(world.rendered(HOME_CARE, CT_BASE_DAY).content),
        CQC: Lines.of(world.rendered(CQC, CQC_BASE_DAY).content, "cp1252"),
        "icf": Lines.of(world.rendered(CT, ICF_DAY).content),
    }
    yield platform, bases, case_days()
    platform.warehouse.engine.dispose()


def test_the_corpus_covers_thirty_files_and_every_kind_of_mess():
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_bad_file_gives_its_documented_outcome(corpus, case):
    platform, bases, days = corpus
    day = days[case.name]
    base = bases["icf"] if day >= ICF_DAY else bases[case.feed]
    built = case.build(base)
    deliveries = built if isinstance(built, list) else [built]
    archived = [
        archive_delivery(platform, Delivery(case.feed, day, data, "landing", f"corpus/{case.feed}/{day}.csv"))
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
        return

    result = load_feed_day(platform, case.feed, day)
    assert result.status == LOADED
    assert case.message in (result.message or "")
    quarantine = pd.DataFrame(
        query(
            platform,
            "SELECT source_row, rule, message FROM quarantine_row WHERE feed = :f AND report_date = :d",
            f=case.feed,
            d=day,
        ),
        columns=["source_row", "rule", "message"],
    )
    by_rule = quarantine.groupby("rule")["source_row"].nunique().to_dict()
    assert {rule: by_rule.get(rule, 0) for rule in case.quarantined} == case.quarantined
    assert quarantine["message"].str.len().gt(0).all()
    assert case.warned <= set(result.warnings)
    assert result.rows_staged + result.rows_quarantined == result.rows_delivered == records(deliveries[-1])
    staged = staged_rows(platform, case, day)
    assert len(staged) == result.rows_staged
    if case.staged:
        assert case.staged(staged, base), "staged rows are not as documented"
    if len(archived) > 1 and archived[0].sha256 != final.sha256:
        statuses = dict(registry_rows(platform, case.feed, day))
        assert statuses[archived[0].sha256] == "superseded" and statuses[final.sha256] == LOADED


def records(data: bytes) -> int:
    """Data records in a delivered file: what row accounting must add up to."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in r)]
    return len(rows) - 1


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
