"""Every kind of row-level mess of SOURCES.md, at raised rates, through fetch, load and merge: for
each kind, the rows the simulator's ground truth marks end exactly where they should, and every
row delivered is kept (published + quarantined + superseded)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from careshare.conform.conform import harmonised_name
from careshare.feeds import FEEDS, Feed
from careshare.status import FeedDayStatus
from careshare_sim import MessRates, MessTag, World
from careshare_sim.mess import NEGATIVE_COLUMNS
from tests.integration.ingestion_harness import DIRECTORY_AS_OF, module_harness

DAYS = (date(2020, 7, 1), date(2020, 12, 1), date(2021, 1, 11))  # Windows-1252 CQC; the overlap; ICF
RAISED = MessRates().with_rates(
    padded_id=0.03,
    missing_prefix=0.02,
    lowercase_id=0.02,
    blank_id_ods_only=0.02,
    name_postcode_only=0.01,
    duplicate_row=0.02,
    second_submission=0.04,
    vacant_over_total=0.015,
    absent_over_employed=0.015,
    negative_count=0.01,
    future_timestamp=0.01,
    timestamp_format=0.01,
    wrong_la_name=0.03,
    deregistered_reporting=1.0,
    **{kind: 0.0 for kind in ("empty_file", "header_only", "truncated_file", "renamed_column", "missing_column")},
    **{kind: 0.0 for kind in ("extra_column", "late_correction", "duplicated_delivery")},
)


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory, s3_client, local_authorities):
    """Each file row with its truth and where it ended: published, superseded, or quarantined."""
    tmp = tmp_path_factory.mktemp("mess")
    world = World(13, 300, 200, local_authorities, DIRECTORY_AS_OF, mess=RAISED)
    with module_harness(request, tmp, s3_client, world) as h:
        loads = {}
        for day in DAYS:
            loads |= {(feed, day): result for feed, result in h.ingest(day).items()}
            h.merge(day)
        yield h, loads, _row_outcomes(h)


def _row_outcomes(h) -> pd.DataFrame:
    frames = []
    for day in DAYS:
        published = h.published(day)
        superseded = h.superseded(day)
        for feed in Feed:
            truth = pd.DataFrame(h.world.ground_truth(feed, day))
            if truth.empty:
                continue
            truth["feed"], truth["day"] = feed.value, day
            quarantine = h.quarantine(feed.value, day).groupby("source_row")["rule"].agg(set)
            mine = published[published["source_feed"] == feed.value].set_index("source_row")
            lost = superseded[superseded["feed"] == feed.value].set_index("source_row")
            truth["rules"] = truth["source_row"].map(quarantine)
            truth["published_as"] = truth["source_row"].map(mine["location_id"])
            truth["la_code"] = truth["source_row"].map(mine["la_code"])
            truth["match_method"] = truth["source_row"].map(mine["match_method"])
            truth["deregistered_flag"] = truth["source_row"].map(mine["deregistered_but_reporting"])
            truth["winner_row"] = truth["source_row"].map(lost["winner_source_row"])
            truth["winner_feed"] = truth["source_row"].map(lost["winner_feed"])
            truth["reason"] = truth["source_row"].map(lost["reason"])
            frames.append(truth)
    return pd.concat(frames, ignore_index=True)


def tagged(outcomes, tag: str, **where) -> pd.DataFrame:
    rows = outcomes[2]
    chosen = rows[rows["mess"].map(lambda mess: tag in mess)]
    for column, value in where.items():
        chosen = chosen[chosen[column] == value]
    assert len(chosen), f"the simulator produced no {tag} rows"
    return chosen


def answer_clean(rows: pd.DataFrame) -> pd.DataFrame:
    answer_faults = {"negative_count", "future_timestamp", "timestamp_format"}
    return rows[rows["mess"].map(lambda mess: not answer_faults & set(mess))]


@pytest.mark.parametrize("day", DAYS)
def test_every_row_delivered_is_kept_exactly_once(outcomes, day):
    h, loads, _ = outcomes
    expected = {
        feed.value: FeedDayStatus.LOADED if FEEDS[feed].expected_on(day) else FeedDayStatus.ABSENT for feed in Feed
    }
    assert {feed: result.status for (feed, d), result in loads.items() if d == day} == expected
    h.assert_every_row_kept(day)


@pytest.mark.parametrize("tag", [MessTag.PADDED_ID, MessTag.MISSING_PREFIX])
def test_messy_ids_are_normalised_and_matched_by_id(outcomes, tag):
    rows = answer_clean(tagged(outcomes, tag))
    won = rows[rows["winner_row"].isna()]
    assert (won["published_as"] == won["location_id"]).all()
    assert set(won["match_method"]) == {"location_id"}


def test_lower_case_ods_codes_are_normalised_to_the_directory_code(outcomes):
    h, _, _ = outcomes
    directory = {d["locationId"]: d["odsCode"] for d in h.world.directory_truth()}
    for (feed, day), group in tagged(outcomes, MessTag.LOWERCASE_ID).groupby(["feed", "day"]):
        staged = h.staged(feed, day).set_index("source_row")
        here = group[group["source_row"].isin(staged.index)]
        assert (here["source_row"].map(staged["ods_code"]) == here["location_id"].map(directory)).all()


def test_rows_with_only_an_ods_code_are_matched_through_it(outcomes):
    rows = answer_clean(tagged(outcomes, MessTag.BLANK_ID_ODS_ONLY))
    assert (rows["published_as"] == rows["location_id"]).all()
    assert set(rows["match_method"]) == {"ods_code"}


def test_rows_with_only_name_and_postcode_are_never_published_as_another_location(outcomes):
    rows = answer_clean(tagged(outcomes, MessTag.NAME_POSTCODE_ONLY))
    published = rows[rows["published_as"].notna()]
    assert (published["published_as"] == published["location_id"]).all()
    held = rows[rows["published_as"].isna() & rows["winner_row"].isna()]
    assert all(rules == {"match.unmatched"} for rules in held["rules"])
    superseded = rows[rows["winner_row"].notna()]
    assert (superseded["winner_row"] == superseded["duplicate_of"]).all(), "matched, then lost to its own location"


def test_postcodes_in_any_case_and_spacing_are_normalised(outcomes):
    h = outcomes[0]
    directory = {d["locationId"]: d["postalCode"] for d in h.world.directory_truth()}
    for (feed, day), group in tagged(outcomes, MessTag.POSTCODE_VARIANT).groupby(["feed", "day"]):
        staged = h.staged(feed, day).set_index("source_row")
        rows_here = group[group["source_row"].isin(staged.index)]
        assert len(rows_here)
        assert (rows_here["source_row"].map(staged["postcode"]) == rows_here["location_id"].map(directory)).all()


@pytest.mark.parametrize("tag", [MessTag.DUPLICATE_ROW, MessTag.SECOND_SUBMISSION])
def test_a_location_twice_in_a_file_keeps_the_latest_and_supersedes_the_other(outcomes, tag):
    decided_elsewhere = {MessTag.NAME_POSTCODE_ONLY, MessTag.OVERLAP_BOTH_SOURCES}  # unmatched; CT wins
    rows = answer_clean(tagged(outcomes, tag))
    rows = rows[rows["mess"].map(lambda m: not decided_elsewhere & set(m))]
    losers = rows[rows["duplicate_of"].notna()]
    assert len(losers) and (losers["winner_row"] == losers["duplicate_of"]).all()
    reasons = {
        MessTag.DUPLICATE_ROW: {"later submission", "duplicate row"},
        MessTag.SECOND_SUBMISSION: {"later submission"},
    }
    assert set(losers["reason"]) <= reasons[tag]
    winners = rows[rows["duplicate_of"].isna()]
    assert (winners["published_as"] == winners["location_id"]).all()


def test_a_location_in_both_sources_in_the_overlap_is_published_from_capacity_tracker(outcomes):
    ct = tagged(outcomes, MessTag.OVERLAP_BOTH_SOURCES, feed="ct_home_care")
    matched = ct[ct["mess"].map(lambda m: MessTag.NAME_POSTCODE_ONLY not in m)]
    assert (matched["published_as"] == matched["location_id"]).all()
    cqc = tagged(outcomes, MessTag.OVERLAP_BOTH_SOURCES, feed="cqc_update")
    cqc = cqc[cqc["location_id"].isin(matched["location_id"])]
    assert len(cqc) and set(cqc["winner_feed"]) == {"ct_home_care"} and set(cqc["reason"]) == {"source precedence"}


@pytest.mark.parametrize(
    ("tag", "rule"),
    [
        (MessTag.VACANT_OVER_TOTAL, "bound.beds_vacant_le_total"),
        (MessTag.ABSENT_OVER_EMPLOYED, "bound.staff_absent_le_employed"),
    ],
)
def test_broken_bounds_are_warned_about_and_published(outcomes, tag, rule):
    loads = outcomes[1]
    rows = tagged(outcomes, tag)
    for (feed, day), group in rows.groupby(["feed", "day"]):
        assert loads[(feed, day)].warnings.get(rule) == len(group)
    matched = rows[rows["mess"].map(lambda m: MessTag.NAME_POSTCODE_ONLY not in m)]
    assert (matched["published_as"] == matched["location_id"]).all()


def test_negative_counts_are_quarantined_naming_the_column(outcomes):
    h, _, _ = outcomes
    for (feed, day), group in tagged(outcomes, MessTag.NEGATIVE_COUNT).groupby(["feed", "day"]):
        spec = FEEDS[Feed(feed)]
        cells = h.quarantine(feed, day)
        for row in group.itertuples():
            found = cells[(cells["source_row"] == row.source_row) & cells["rule"].str.endswith(".non_negative")]
            assert len(found) == 1
            [column] = found["column_name"]
            assert column in {harmonised_name(spec, c) for c in NEGATIVE_COLUMNS[Feed(feed)]}
            assert float(found["value"].iloc[0]) < 0
        assert group["published_as"].isna().all() and group["winner_row"].isna().all()


def test_timestamps_in_the_future_are_quarantined(outcomes):
    rows = tagged(outcomes, MessTag.FUTURE_TIMESTAMP)
    assert all("time.submitted_at.not_after_report_date" in rules for rules in rows["rules"])
    assert rows["published_as"].isna().all()


def test_timestamps_in_the_wrong_format_are_quarantined_not_guessed(outcomes):
    rows = tagged(outcomes, MessTag.TIMESTAMP_FORMAT)
    expected = rows["feed"].map(lambda f: "parse.iso_timestamp" if f == "cqc_update" else "parse.uk_timestamp")
    assert all(rule in rules for rule, rules in zip(expected, rows["rules"], strict=True))
    assert rows["published_as"].isna().all()


def test_a_wrong_council_typed_by_the_provider_is_ignored_for_the_directory_one(outcomes, local_authorities):
    h, _, _ = outcomes
    councils = {d["locationId"]: d["localAuthority"] for d in h.world.directory_truth()}
    rows = tagged(outcomes, MessTag.WRONG_LA_NAME)
    rows = rows[rows["published_as"].notna()]
    assert len(rows)
    expected = [
        local_authorities.code_for(councils[loc], day).code
        for loc, day in zip(rows["location_id"], rows["day"], strict=True)
    ]
    assert rows["la_code"].tolist() == expected


def test_deregistered_locations_still_reporting_are_published_with_a_flag(outcomes):
    _, _, everything = outcomes
    rows = tagged(outcomes, MessTag.DEREGISTERED_REPORTING)
    assert rows["published_as"].notna().any()
    published = everything[everything["published_as"].notna()]
    flagged = published["deregistered_flag"].astype(bool)
    marked = published["mess"].map(lambda m: MessTag.DEREGISTERED_REPORTING in m)
    assert (flagged == marked).all()


def test_windows_1252_names_decode_to_the_directory_names(outcomes):
    h, _, _ = outcomes
    day = DAYS[0]
    assert h.world.rendered("cqc_update", day).file.encoding == "cp1252"
    names = {d["locationId"]: d["name"] for d in h.world.directory_truth()}
    staged = h.staged("cqc_update", day)
    truth = pd.DataFrame(h.world.ground_truth("cqc_update", day)).set_index("source_row")
    assert (staged["name"] == staged["source_row"].map(truth["location_id"]).map(names).str.strip()).all()


def test_icf_columns_are_carried_from_2021_01_11_to_the_published_rows(outcomes):
    h, _, _ = outcomes
    icf = ["icf_staff_single_site", "icf_full_pay_when_isolating", "icf_funding_received"]
    before, after = h.published(DAYS[1]), h.published(DAYS[2])
    assert before[icf].isna().all().all()
    ct = after[after["source_feed"].isin(["ct_care_homes", "ct_home_care"])]
    assert ct[icf].notna().all().all()
    staged = h.staged("ct_care_homes", DAYS[2]).set_index("source_row")
    mine = ct[ct["source_feed"] == "ct_care_homes"].set_index("source_row")
    assert (mine[icf] == staged.loc[mine.index, icf]).all().all()
    assert set(mine["icf_funding_received"]) <= {"Yes", "No", "Not yet"}


def test_the_2023_reorganisation_publishes_each_location_under_the_code_valid_that_day(outcomes):
    h = outcomes[0]
    councils = {d["locationId"]: d["localAuthority"] for d in h.world.directory_truth()}
    codes = {
        date(2023, 3, 31): {
            "Cumberland": "E10000006",
            "Westmorland and Furness": "E10000006",
            "North Yorkshire": "E10000023",
        },
        date(2023, 4, 1): {
            "Cumberland": "E06000063",
            "Westmorland and Furness": "E06000064",
            "North Yorkshire": "E06000065",
        },
    }
    for day, expected in codes.items():
        h.ingest(day, ("ct_care_homes",))
        h.merge(day)
        published = h.published(day)
        council = published["location_id"].map(councils)
        mine = published[council.isin(expected)]
        assert set(council[council.isin(expected)]) == set(expected)
        assert (mine["la_code"] == mine["location_id"].map(councils).map(expected)).all()
        h.assert_every_row_kept(day, expected_feeds={"ct_care_homes"})
