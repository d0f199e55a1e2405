from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sim_helpers import DIRECTORY_AS_OF, read_dicts

from careshare.feeds import CT_TIMESTAMP_FORMAT, Feed
from careshare_sim import MessRates, MessTag, World

OVERLAP_DAY = date(2020, 12, 1)
CT_DAYS = [date(2020, 12, 1), date(2021, 2, 3), date(2021, 2, 4)]


def _truth_and_rows(world: World, feed: Feed, day: date) -> list[tuple[dict, dict]]:
    rows = read_dicts(world.rendered(feed, day))
    truth = world.ground_truth(feed, day)
    assert len(truth) == len(rows)
    assert [t["source_row"] for t in truth] == list(range(1, len(rows) + 1))
    return list(zip(truth, rows, strict=True))


@pytest.mark.parametrize(
    ("feed", "day"),
    [(Feed.CT_CARE_HOMES, OVERLAP_DAY), (Feed.CT_HOME_CARE, OVERLAP_DAY), (Feed.CQC_UPDATE, OVERLAP_DAY)],
)
def test_ground_truth_has_one_entry_per_data_row(small_world, feed, day):
    pairs = _truth_and_rows(small_world, feed, day)
    assert pairs
    assert all(set(t) == {"source_row", "location_id", "record_id", "mess", "duplicate_of"} for t, _ in pairs)


def test_ct_cells_match_their_tags(large_world):
    directory = {row["locationId"]: row for row in large_world.directory_truth()}
    for feed, day in [(Feed.CT_CARE_HOMES, d) for d in CT_DAYS] + [(Feed.CT_HOME_CARE, OVERLAP_DAY)]:
        record_column = "CT_Home_ID" if feed is Feed.CT_CARE_HOMES else "CT_Service_ID"
        for truth, row in _truth_and_rows(large_world, feed, day):
            location = directory[truth["location_id"]]
            tags = set(truth["mess"])
            cqc_id, ods = row["CQC_Location_ID"], row["ODS_Code"]
            assert row[record_column] == truth["record_id"] == str(location["ct_id"])
            if MessTag.PADDED_ID in tags:
                assert cqc_id != cqc_id.strip() and cqc_id.strip() == location["locationId"]
            elif MessTag.MISSING_PREFIX in tags:
                assert "1-" + cqc_id == location["locationId"]
            elif MessTag.BLANK_ID_ODS_ONLY in tags:
                assert cqc_id == "" and ods.upper() == location["odsCode"]
            elif MessTag.NAME_POSTCODE_ONLY in tags:
                assert cqc_id == "" and ods == ""
            else:
                assert cqc_id == location["locationId"]
            if MessTag.LOWERCASE_ID in tags:
                assert ods == location["odsCode"].lower()
            elif ods:
                assert ods == location["odsCode"]
            postcode = row["Postcode"]
            if MessTag.POSTCODE_VARIANT in tags:
                assert postcode != location["postalCode"]
                assert postcode.replace(" ", "").upper() == location["postalCode"].replace(" ", "")
            else:
                assert postcode == location["postalCode"]


def _rate(world: World, feed: Feed, days: list[date], tag: MessTag, winners_only: bool = False) -> float:
    truth = [t for day in days for t in world.ground_truth(feed, day)]
    tagged = [t for t in truth if tag in t["mess"] and not (winners_only and t["duplicate_of"] is not None)]
    originals = [t for t in truth if t["duplicate_of"] is None]
    return len(tagged) / len(originals)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (MessTag.PADDED_ID, 0.015),
        (MessTag.MISSING_PREFIX, 0.01),
        (MessTag.BLANK_ID_ODS_ONLY, 0.01 * 0.92),
        (MessTag.NAME_POSTCODE_ONLY, 0.003),
        (MessTag.LOWERCASE_ID, 0.01 * 0.92),
        (MessTag.POSTCODE_VARIANT, 0.03),
    ],
)
def test_ct_mess_is_at_about_its_rate(large_world, tag, expected):
    rate = _rate(large_world, Feed.CT_CARE_HOMES, CT_DAYS, tag)
    assert expected * 0.6 <= rate <= expected * 1.5, rate


def test_duplicates_are_at_about_their_rate_and_point_at_the_winning_row(large_world):
    assert 0.003 <= _rate(large_world, Feed.CT_CARE_HOMES, CT_DAYS, MessTag.DUPLICATE_ROW, winners_only=True) <= 0.0075
    kinds = Counter()
    for day in CT_DAYS:
        pairs = _truth_and_rows(large_world, Feed.CT_CARE_HOMES, day)
        winners = Counter(t["location_id"] for t, _ in pairs if t["duplicate_of"] is None)
        assert set(winners.values()) == {1}
        for truth, row in pairs:
            if truth["duplicate_of"] is None:
                continue
            winner_truth, winner = pairs[truth["duplicate_of"] - 1]
            assert MessTag.DUPLICATE_ROW in truth["mess"] and MessTag.DUPLICATE_ROW in winner_truth["mess"]
            assert winner_truth["location_id"] == truth["location_id"]
            assert winner_truth["duplicate_of"] is None
            ours = datetime.strptime(row["Last_Updated"], CT_TIMESTAMP_FORMAT)
            theirs = datetime.strptime(winner["Last_Updated"], CT_TIMESTAMP_FORMAT)
            assert ours <= theirs
            kinds["identical" if row == winner else "older"] += 1
            if row == winner:
                assert truth["source_row"] == winner_truth["source_row"] + 1, "an identical copy follows its original"
    assert kinds["identical"] > 0 and kinds["older"] > 0


def test_second_submissions_are_earlier_and_superseded_by_the_latest(large_world):
    days = [date(2020, 6, 2), date(2020, 6, 3), date(2020, 6, 4)]
    assert 0.012 <= _rate(large_world, Feed.CQC_UPDATE, days, MessTag.SECOND_SUBMISSION, winners_only=True) <= 0.03
    for day in days:
        pairs = _truth_and_rows(large_world, Feed.CQC_UPDATE, day)
        superseded = [(t, r) for t, r in pairs if t["duplicate_of"] is not None]
        assert superseded
        for truth, row in superseded:
            winner_truth, winner = pairs[truth["duplicate_of"] - 1]
            assert winner_truth["location_id"] == truth["location_id"] == row["location_id"].strip()
            assert datetime.fromisoformat(row["submitted_at"]) < datetime.fromisoformat(winner["submitted_at"])
            assert truth["source_row"] < winner_truth["source_row"]
        assert all(t["record_id"] == t["location_id"] for t, _ in pairs)


def test_cqc_ids_are_only_padded(large_world):
    pairs = _truth_and_rows(large_world, Feed.CQC_UPDATE, date(2020, 6, 2))
    padded = [r for t, r in pairs if MessTag.PADDED_ID in t["mess"]]
    assert padded and all(r["location_id"] != r["location_id"].strip() for r in padded)
    assert all(r["location_id"] == t["location_id"] for t, r in pairs if MessTag.PADDED_ID not in t["mess"])


def test_overlap_locations_appear_in_both_sources_on_2020_12_01(large_world):
    cqc = large_world.ground_truth(Feed.CQC_UPDATE, OVERLAP_DAY)
    ct = large_world.ground_truth(Feed.CT_HOME_CARE, OVERLAP_DAY)
    in_ct = {t["location_id"] for t in ct}
    in_cqc = {t["location_id"] for t in cqc}
    tagged_cqc = {t["location_id"] for t in cqc if MessTag.OVERLAP_BOTH_SOURCES in t["mess"]}
    tagged_ct = {t["location_id"] for t in ct if MessTag.OVERLAP_BOTH_SOURCES in t["mess"]}
    assert tagged_cqc == tagged_ct == in_ct & in_cqc
    assert len(tagged_cqc) > 100
    assert len(in_cqc - in_ct) > 50  # still on the CQC form only
    assert len(in_ct - in_cqc) > len(tagged_ct)  # most only in CT


def test_overlap_is_only_during_the_overlap(large_world):
    for feed in (Feed.CT_HOME_CARE, Feed.CQC_UPDATE):
        for day in (date(2020, 11, 27), date(2020, 12, 14), date(2021, 1, 4)):
            assert not any(MessTag.OVERLAP_BOTH_SOURCES in t["mess"] for t in large_world.ground_truth(feed, day))


def test_a_clean_world_has_no_faults(clean_world):
    for feed, day in [(Feed.CT_CARE_HOMES, d) for d in CT_DAYS] + [(Feed.CQC_UPDATE, OVERLAP_DAY)]:
        truth = clean_world.ground_truth(feed, day)
        assert all(set(t["mess"]) <= {MessTag.OVERLAP_BOTH_SOURCES} for t in truth)
        assert all(t["duplicate_of"] is None for t in truth)
        file = clean_world.file_truth(feed, day)
        assert file["line_terminator"] == "\n" and not file["bom"]


def test_rates_are_configurable(local_authorities):
    messy = World(7, 300, 200, local_authorities, DIRECTORY_AS_OF, mess=MessRates().with_rates(padded_id=0.5))
    day = date(2020, 12, 1)
    rate = _rate(messy, Feed.CT_CARE_HOMES, [day, day + timedelta(days=1)], MessTag.PADDED_ID)
    assert 0.4 <= rate <= 0.6


RAISED = MessRates().with_rates(
    vacant_over_total=0.03,
    absent_over_employed=0.03,
    negative_count=0.03,
    future_timestamp=0.03,
    timestamp_format=0.03,
    wrong_la_name=0.05,
    deregistered_reporting=1.0,
)
ANSWER_DAYS = {
    Feed.CT_CARE_HOMES: date(2021, 2, 3),
    Feed.CT_HOME_CARE: date(2021, 2, 3),
    Feed.CQC_UPDATE: date(2020, 10, 7),
}


@pytest.fixture(scope="module")
def raised_world(local_authorities) -> World:
    return World(11, 1500, 1000, local_authorities, DIRECTORY_AS_OF, mess=RAISED)


def _tagged(world: World, feed: Feed, tag: MessTag) -> list[tuple[dict, dict]]:
    pairs = [(t, r) for t, r in _truth_and_rows(world, feed, ANSWER_DAYS[feed]) if tag in t["mess"]]
    assert pairs, f"no {tag} rows"
    return pairs


def _number(text: str) -> int:
    return int(text) if text.lstrip("-").isdigit() else 0


@pytest.mark.parametrize("feed", list(Feed))
def test_counts_break_their_bounds_where_the_truth_says(raised_world, feed):
    absent, employed = {
        Feed.CT_CARE_HOMES: ("Staff_Absent_Covid", "Staff_Employed"),
        Feed.CT_HOME_CARE: ("Care_Workers_Absent_Covid", "Care_Workers_Employed"),
        Feed.CQC_UPDATE: ("staff_absent_covid", "staff_total"),
    }[feed]
    for _, row in _tagged(raised_world, feed, MessTag.ABSENT_OVER_EMPLOYED):
        assert int(row[absent]) > int(row[employed])
    if feed is Feed.CT_CARE_HOMES:
        for _, row in _tagged(raised_world, feed, MessTag.VACANT_OVER_TOTAL):
            assert int(row["Beds_Vacant"]) > int(row["Beds_Total"])
    for _, row in _tagged(raised_world, feed, MessTag.NEGATIVE_COUNT):
        assert sum(v.startswith("-") and v[1:].isdigit() for v in row.values()) == 1


@pytest.mark.parametrize("feed", list(Feed))
def test_timestamps_go_into_the_future_or_out_of_format_where_the_truth_says(raised_world, feed):
    day = ANSWER_DAYS[feed]
    column = "submitted_at" if feed is Feed.CQC_UPDATE else "Last_Updated"

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text) if feed is Feed.CQC_UPDATE else datetime.strptime(text, CT_TIMESTAMP_FORMAT)

    for _, row in _tagged(raised_world, feed, MessTag.FUTURE_TIMESTAMP):
        assert parse(row[column]).date() > day
    for _, row in _tagged(raised_world, feed, MessTag.TIMESTAMP_FORMAT):
        if feed is Feed.CQC_UPDATE:
            assert "+" not in row[column][10:]  # no UTC offset, or not ISO 8601 at all
        else:
            with pytest.raises(ValueError):
                datetime.strptime(row[column], CT_TIMESTAMP_FORMAT)


def test_answer_faults_spare_rows_whose_outcome_another_row_decides(raised_world):
    exempt = {MessTag.DUPLICATE_ROW, MessTag.SECOND_SUBMISSION, MessTag.OVERLAP_BOTH_SOURCES}
    answer = {MessTag.VACANT_OVER_TOTAL, MessTag.ABSENT_OVER_EMPLOYED, MessTag.NEGATIVE_COUNT}
    answer |= {MessTag.FUTURE_TIMESTAMP, MessTag.TIMESTAMP_FORMAT}
    for feed in Feed:
        for truth in raised_world.ground_truth(feed, date(2020, 12, 1)):
            assert len(answer & set(truth["mess"])) <= 1
            assert not (exempt & set(truth["mess"]) and answer & set(truth["mess"]))


def test_a_provider_may_type_another_councils_name(raised_world):
    directory = {row["locationId"]: row["localAuthority"] for row in raised_world.directory_truth()}
    day = ANSWER_DAYS[Feed.CT_CARE_HOMES]
    for truth, row in _tagged(raised_world, Feed.CT_CARE_HOMES, MessTag.WRONG_LA_NAME):
        assert row["Local_Authority"] != raised_world.authorities.code_for(directory[truth["location_id"]], day).name


def test_deregistered_locations_linger_and_are_tagged(raised_world):
    closed = {
        row["locationId"]: date.fromisoformat(row["deregistrationDate"])
        for row in raised_world.directory_truth()
        if row["deregistrationDate"]
    }
    seen = 0
    for offset in range(0, 120, 30):
        day = date(2021, 3, 1) + timedelta(days=offset)
        for truth in raised_world.ground_truth(Feed.CT_CARE_HOMES, day):
            late = truth["location_id"] in closed and closed[truth["location_id"]] < day
            assert late == (MessTag.DEREGISTERED_REPORTING in truth["mess"])
            if late:
                assert (day - closed[truth["location_id"]]).days <= 60
                seen += 1
    assert seen
