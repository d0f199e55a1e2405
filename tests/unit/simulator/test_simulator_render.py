from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sim_helpers import DIRECTORY_AS_OF, read_dicts, read_rows

from careshare.feeds import CQC_LOCATION_ID_PATTERN, CT_TIMESTAMP_FORMAT, FEEDS, Feed, Kind
from careshare_sim import MessTag, World, render_feed
from careshare_sim.render import UTF8_BOM
from careshare_sim.timeline import UK

SAMPLE_DAYS = {
    Feed.CT_CARE_HOMES: [
        date(2020, 4, 14),
        date(2020, 8, 10),
        date(2020, 12, 1),
        date(2021, 1, 11),
        date(2022, 3, 3),
    ],
    Feed.CT_HOME_CARE: [date(2020, 11, 30), date(2020, 12, 13), date(2021, 1, 10), date(2021, 1, 11)],
    Feed.CQC_UPDATE: [
        date(2020, 4, 13),
        date(2020, 5, 13),
        date(2020, 6, 1),
        date(2020, 8, 12),
        date(2020, 12, 11),
    ],
}
FEED_DAYS = [(feed, day) for feed, days in SAMPLE_DAYS.items() for day in days]


def test_same_seed_feed_and_date_give_the_same_bytes_whatever_was_rendered_before(local_authorities):
    day = date(2020, 12, 1)
    first = World(5, 300, 200, local_authorities, DIRECTORY_AS_OF)
    expected = {feed: render_feed(first, feed, day) for feed in Feed}
    second = World(5, 300, 200, local_authorities, DIRECTORY_AS_OF)
    for other_day in (date(2021, 2, 1), date(2020, 11, 30), date(2020, 12, 2)):
        for feed in reversed(list(Feed)):
            render_feed(second, feed, other_day)
    for feed in reversed(list(Feed)):
        assert render_feed(second, feed, day) == expected[feed]
    assert render_feed(first, Feed.CT_CARE_HOMES, day) == expected[Feed.CT_CARE_HOMES]


def test_a_different_seed_gives_different_files(small_world, local_authorities):
    other = World(8, 800, 600, local_authorities, DIRECTORY_AS_OF)
    day = date(2020, 12, 1)
    assert render_feed(other, "ct_care_homes", day) != render_feed(small_world, "ct_care_homes", day)


@pytest.mark.parametrize(("feed", "day"), FEED_DAYS)
def test_header_is_the_contract_columns_of_the_day(small_world, feed, day):
    header, rows = read_rows(small_world.rendered(feed, day))
    assert header == [c.name for c in FEEDS[feed].columns_on(day)]
    assert rows and all(len(row) == len(header) for row in rows)


def test_icf_columns_appear_on_2021_01_11(small_world):
    for feed in (Feed.CT_CARE_HOMES, Feed.CT_HOME_CARE):
        before, _ = read_rows(small_world.rendered(feed, date(2021, 1, 10)))
        after, _ = read_rows(small_world.rendered(feed, date(2021, 1, 11)))
        assert not any(name.startswith("ICF_") for name in before)
        assert [name for name in after if name.startswith("ICF_")] == [
            "ICF_Staff_Single_Site",
            "ICF_Full_Pay_When_Isolating",
            "ICF_Funding_Received",
        ]


@pytest.mark.parametrize(
    ("feed", "day"),
    [
        (Feed.CQC_UPDATE, date(2020, 6, 6)),  # a Saturday
        (Feed.CQC_UPDATE, date(2020, 6, 7)),
        (Feed.CQC_UPDATE, date(2020, 4, 12)),
        (Feed.CQC_UPDATE, date(2020, 12, 14)),
        (Feed.CT_HOME_CARE, date(2020, 11, 29)),
    ],
)
def test_no_file_outside_the_feed_timeline(small_world, feed, day):
    assert render_feed(small_world, feed, day) is None
    assert small_world.ground_truth(feed, day) == []


def test_cqc_files_on_weekends_before_2020_05_14(small_world):
    assert render_feed(small_world, Feed.CQC_UPDATE, date(2020, 5, 9)) is not None
    assert render_feed(small_world, Feed.CT_CARE_HOMES, date(2020, 6, 6)) is not None


@pytest.mark.parametrize(("feed", "day"), FEED_DAYS)
def test_clean_values_are_of_their_column_kind(clean_world, feed, day):
    spec = FEEDS[feed]
    rows = read_dicts(clean_world.rendered(feed, day))
    for column in spec.columns_on(day):
        values = [row[column.name] for row in rows]
        allowed = column.values_on(day)
        if column.kind in (Kind.CHOICE, Kind.PPE_RAG):
            assert set(values) <= set(allowed), column.name
        elif column.kind is Kind.INTEGER:
            assert all(v.isdigit() for v in values), column.name
        elif column.kind is Kind.PPE_DAYS:
            assert all(v == "" or v.isdigit() for v in values), column.name
        elif column.kind is Kind.LOCATION_ID:
            assert all(re.match(CQC_LOCATION_ID_PATTERN, v) for v in values), column.name
        elif column.kind is Kind.UK_TIMESTAMP:
            stamps = [datetime.strptime(v, CT_TIMESTAMP_FORMAT) for v in values]
            assert max(stamps).date() == day
            assert min(stamps).date() > day - timedelta(days=28)
        elif column.kind is Kind.ISO_TIMESTAMP:
            stamps = [datetime.fromisoformat(v) for v in values]
            assert {s.astimezone(UK).date() for s in stamps} == {day}
            assert all(s.utcoffset() == s.astimezone(UK).utcoffset() for s in stamps)
        elif not column.nullable:
            assert all(values), column.name


def test_blue_ppe_only_from_2020_08_10(clean_world):
    def ppe_values(day: date) -> set[str]:
        return {row["PPE_Masks"] for row in read_dicts(clean_world.rendered(Feed.CT_CARE_HOMES, day))}

    assert "Blue" not in ppe_values(date(2020, 8, 9))
    assert "Blue" in ppe_values(date(2020, 11, 1))


def test_cqc_service_types_widen_on_2020_06_01(clean_world):
    def types(day: date) -> set[str]:
        return {row["service_type"] for row in read_dicts(clean_world.rendered(Feed.CQC_UPDATE, day))}

    assert types(date(2020, 5, 29)) == {"homecare"}
    assert types(date(2020, 6, 3)) == {"homecare", "extra_care", "supported_living"}


def test_cqc_offsets_follow_uk_summer_time(clean_world):
    summer = read_dicts(clean_world.rendered(Feed.CQC_UPDATE, date(2020, 6, 2)))
    winter = read_dicts(clean_world.rendered(Feed.CQC_UPDATE, date(2020, 12, 1)))
    assert {row["submitted_at"][-6:] for row in summer} == {"+01:00"}
    assert {row["submitted_at"][-6:] for row in winter} == {"+00:00"}


def _bounds_hold(feed: Feed, row: dict[str, str]) -> bool:
    n = {k: int(v) for k, v in row.items() if v.lstrip("-").isdigit() and "_ID" not in k}
    if min(n.values()) < 0:
        return False
    if feed is Feed.CT_CARE_HOMES:
        return (
            n["Beds_Vacant"] <= n["Beds_Total"]
            and n["Residents_Total"] <= n["Beds_Total"]
            and n["Staff_Absent_Covid"] + n["Staff_Absent_Other"] <= n["Staff_Employed"]
            and n["Residents_Covid_Confirmed"] <= n["Residents_Total"]
            and n["Residents_Newly_Confirmed_Today"] <= n["Residents_Covid_Confirmed"]
        )
    if feed is Feed.CT_HOME_CARE:
        return (
            n["Care_Workers_Absent_Covid"] <= n["Care_Workers_Employed"]
            and n["People_Covid_Confirmed"] <= n["People_Supported"]
        )
    return n["staff_absent_covid"] <= n["staff_total"] and n["people_confirmed_covid"] <= n["people_receiving_care"]


ANSWER_MESS = {MessTag.VACANT_OVER_TOTAL, MessTag.ABSENT_OVER_EMPLOYED, MessTag.NEGATIVE_COUNT}


@pytest.mark.parametrize(("feed", "day"), FEED_DAYS)
def test_bounds_hold_except_in_rows_whose_truth_says_otherwise(small_world, feed, day):
    rows = read_dicts(small_world.rendered(feed, day))
    truth = small_world.ground_truth(feed, day)
    held = [_bounds_hold(feed, row) for row, t in zip(rows, truth, strict=True) if not ANSWER_MESS & set(t["mess"])]
    broken = [not _bounds_hold(feed, row) for row, t in zip(rows, truth, strict=True) if ANSWER_MESS & set(t["mess"])]
    assert all(held) and all(broken)


def test_daily_completion_is_between_50_and_80_percent(clean_world):
    for offset in range(14):
        day = date(2020, 10, 1) + timedelta(days=offset)
        rows = read_dicts(clean_world.rendered(Feed.CT_CARE_HOMES, day))
        today = day.strftime("%d/%m/%Y")
        fresh = sum(row["Last_Updated"].startswith(today) for row in rows) / len(rows)
        assert 0.45 <= fresh <= 0.85, (day, fresh)


def test_stale_rows_keep_the_answers_of_their_last_day(clean_world):
    day = date(2020, 10, 6)
    before = {r["CT_Home_ID"]: r for r in read_dicts(clean_world.rendered(Feed.CT_CARE_HOMES, day))}
    after = read_dicts(clean_world.rendered(Feed.CT_CARE_HOMES, day + timedelta(days=1)))
    stale = [r for r in after if not r["Last_Updated"].startswith("07/10/2020")]
    assert len(stale) > 100
    assert all(before[r["CT_Home_ID"]] == r for r in stale if r["CT_Home_ID"] in before)


@pytest.mark.parametrize(
    ("today", "change", "before"),
    [
        (("North Northamptonshire", "West Northamptonshire"), date(2021, 4, 1), {"Northamptonshire"}),
        (("Cumberland", "Westmorland and Furness"), date(2023, 4, 1), {"Cumbria"}),
        (("North Yorkshire",), date(2023, 4, 1), {"North Yorkshire"}),  # same name, a new code (E06000065)
    ],
)
def test_provider_typed_council_is_the_one_valid_on_the_report_date(clean_world, today, change, before):
    """The boundary changes come from the reference: the day before, the old council; from it, today's."""
    located = {row["locationId"]: row["localAuthority"] for row in clean_world.directory_truth()}
    chosen = {loc for loc, council in located.items() if council in today}
    assert chosen

    def councils_on(day: date) -> set[str]:
        rows = read_dicts(clean_world.rendered(Feed.CT_CARE_HOMES, day))
        return {row["Local_Authority"] for row in rows if row["CQC_Location_ID"] in chosen}

    assert councils_on(change - timedelta(days=1)) == before
    assert councils_on(change) == set(today)


def test_encodings_and_line_endings(small_world):
    cqc_summer = small_world.rendered(Feed.CQC_UPDATE, date(2020, 7, 1))
    assert cqc_summer.file.encoding == "cp1252" and not cqc_summer.file.bom
    assert small_world.rendered(Feed.CQC_UPDATE, date(2020, 9, 1)).file.encoding == "utf-8"
    files = [small_world.rendered(Feed.CT_CARE_HOMES, date(2020, 9, 1) + timedelta(days=i)) for i in range(30)]
    assert {f.file.bom for f in files} == {True, False}
    assert {f.file.line_terminator for f in files} == {"\r\n", "\n"}
    for rendered in files:
        assert rendered.content.startswith(UTF8_BOM) == rendered.file.bom
        assert (b"\r\n" in rendered.content) == (rendered.file.line_terminator == "\r\n")


def test_windows_1252_text_decodes_to_the_directory_names(local_authorities):
    world = World.national(3, local_authorities, DIRECTORY_AS_OF)
    names = {row["locationId"]: row["name"] for row in world.directory_truth()}
    rows = read_dicts(world.rendered(Feed.CQC_UPDATE, date(2020, 7, 1)))
    assert any(not row["location_name"].isascii() for row in rows)
    assert all(row["location_name"] == names[row["location_id"].strip()] for row in rows)


def test_community_services_agree_across_sources_in_the_overlap(small_world):
    day = date(2020, 12, 1)
    cqc = {r["location_id"].strip(): r for r in read_dicts(small_world.rendered(Feed.CQC_UPDATE, day))}
    ct = read_dicts(small_world.rendered(Feed.CT_HOME_CARE, day))
    both = [r for r in ct if r["CQC_Location_ID"] in cqc and r["Last_Updated"].startswith("01/12/2020")]
    assert both
    for row in both:
        other = cqc[row["CQC_Location_ID"]]
        assert row["People_Supported"] == other["people_receiving_care"]
        assert row["Last_Updated"][11:] == other["submitted_at"][11:16]


def test_only_registered_locations_that_report_appear(clean_world):
    truth = clean_world.directory_truth()
    shared_lives = {row["locationId"] for row in truth if row["service"] == "shared_lives"}
    day = date(2022, 6, 1)
    closed = {
        row["locationId"]
        for row in truth
        if row["deregistrationDate"] and date.fromisoformat(row["deregistrationDate"]) <= day
    }
    not_yet = {row["locationId"] for row in truth if date.fromisoformat(row["registrationDate"]) > day}
    assert closed and not_yet
    for feed in (Feed.CT_CARE_HOMES, Feed.CT_HOME_CARE):
        present = {t["location_id"] for t in clean_world.ground_truth(feed, day)}
        assert not present & (shared_lives | closed | not_yet)
    in_cqc = {t["location_id"] for t in clean_world.ground_truth(Feed.CQC_UPDATE, date(2020, 10, 1))}
    assert in_cqc and not in_cqc & shared_lives


def test_header_only_before_the_care_home_collection_started(clean_world):
    header, rows = read_rows(clean_world.rendered(Feed.CT_CARE_HOMES, date(2020, 3, 1)))
    assert header and rows == []
