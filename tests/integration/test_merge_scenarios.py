"""The merge on a small world's overlap day (2020-12-01: all three feeds), with feed files edited to
hold one case of each rule: a row matched only by name within its postcode, a row nothing matches
(then fixed by a crosswalk entry), an older and an identical duplicate, a deregistered home still
reporting, stale answers, a Shared Lives scheme that reported, a repeated CQC submission. Rows go
through real ingestion (parse, conform, GX, staging) on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from careshare.merge import MergeCheckFailed, directory_day, merge_day, validate_day
from careshare.platform import Platform
from careshare.publish import publish_day
from careshare_sim import MessRates, World
from tests.integration.merge_support import (
    execute,
    load_reference,
    local_platform,
    published_bytes,
    query,
    read_csv,
    stage,
    warehouse_database,
    write_csv,
)

pytestmark = pytest.mark.slow

DAY = date(2020, 12, 1)
UK_FORMAT = "%d/%m/%Y %H:%M"
EMPTY_CROSSWALK = "feed,record_id,location_id,reason\n"


@dataclass
class Scenario:
    platform: Platform
    world: World
    crosswalk: Path
    by_name: tuple[str, int, str]  # feed, source row, true location
    unmatched: tuple[str, int, str, str]  # feed, source row, record id, true location
    older_copy: tuple[int, int]  # superseded row, winner row (ct_care_homes)
    identical_copy: tuple[int, int]
    deregistered: str
    stale: str
    shared_lives: str
    repeated_cqc: tuple[int, int]

    def merge(self, crosswalk: Path | None = None):
        return merge_day(self.platform, DAY, crosswalk or self.crosswalk)


def shifted(timestamp: str, **delta: float) -> str:
    return (datetime.strptime(timestamp, UK_FORMAT) + timedelta(**delta)).strftime(UK_FORMAT)


def as_location(row: list[str], col: dict[str, int], location: dict, ct_id: str, name: str) -> list[str]:
    """A copy of a CT row, about another directory location (same answers)."""
    copy = list(row)
    for column, value in {
        ct_id: str(location["ct_id"]),
        "CQC_Location_ID": location["locationId"],
        "ODS_Code": location["odsCode"] or "",
        name: location["name"],
        "Postcode": location["postalCode"],
    }.items():
        copy[col[column]] = value
    return copy


def edit_care_homes(world: World, directory: dict[str, dict]) -> tuple[bytes, dict]:
    header, rows = read_csv(world.rendered("ct_care_homes", DAY).content)
    truth = [row["location_id"] for row in world.ground_truth("ct_care_homes", DAY)]
    col = {name: i for i, name in enumerate(header)}
    by_name = rows[0]
    by_name[col["CQC_Location_ID"]] = by_name[col["ODS_Code"]] = ""
    by_name[col["Home_Name"]] = "The " + by_name[col["Home_Name"]][:-1]
    by_name[col["Postcode"]] = by_name[col["Postcode"]].replace(" ", "").lower()
    lost = rows[1]
    lost[col["CQC_Location_ID"]], lost[col["ODS_Code"]], lost[col["Postcode"]] = "1-000000001", "", "ZZ9 9ZZ"
    older = list(rows[2])
    older[col["Last_Updated"]] = shifted(older[col["Last_Updated"]], days=-3)
    deregistered = next(
        d for d in directory.values() if d["careHome"] == "Y" and (d["deregistrationDate"] or "9") < DAY.isoformat()
    )
    reporting_after_closing = as_location(rows[4], col, deregistered, "CT_Home_ID", "Home_Name")
    rows[5][col["Last_Updated"]] = (datetime.combine(DAY, datetime.min.time()) - timedelta(days=10, hours=-9)).strftime(
        UK_FORMAT
    )
    rows += [older, list(rows[3]), reporting_after_closing]
    n = len(rows)
    cases = {
        "by_name": ("ct_care_homes", 1, truth[0]),
        "unmatched": ("ct_care_homes", 2, lost[col["CT_Home_ID"]], truth[1]),
        "older_copy": (n - 2, 3),
        "identical_copy": (n - 1, 4),
        "deregistered": deregistered["locationId"],
        "stale": truth[5],
    }
    return write_csv(header, rows), cases


def edit_home_care(world: World, directory: dict[str, dict]) -> tuple[bytes, str]:
    header, rows = read_csv(world.rendered("ct_home_care", DAY).content)
    col = {name: i for i, name in enumerate(header)}
    scheme = next(d for d in directory.values() if d["service"] == "shared_lives")
    row = as_location(rows[0], col, scheme | {"ct_id": 999999}, "CT_Service_ID", "Service_Name")
    return write_csv(header, [*rows, row]), scheme["locationId"]


def edit_cqc(world: World) -> tuple[bytes, tuple[int, int]]:
    header, rows = read_csv(world.rendered("cqc_update", DAY).content)
    col = {name: i for i, name in enumerate(header)}
    in_ct = {row["location_id"] for row in world.ground_truth("ct_home_care", DAY)}
    first = next(n for n, row in enumerate(rows) if row[col["location_id"]].strip() not in in_ct)
    earlier = list(rows[first])
    submitted = datetime.fromisoformat(earlier[col["submitted_at"]])
    earlier[col["submitted_at"]] = (submitted - timedelta(hours=2)).isoformat()
    return write_csv(header, [*rows, earlier]), (len(rows) + 1, first + 1)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def scenario(request, tmp_path_factory, local_authorities):
    home = tmp_path_factory.mktemp(f"merge-{request.param}")
    world = World(5, 150, 100, local_authorities, date(2024, 6, 30), mess=MessRates.clean())
    directory = {d["locationId"]: d for d in world.directory_truth()}
    with warehouse_database(request.param, home, request) as url:
        platform = local_platform(url, home)
        load_reference(platform, world)
        care_homes, cases = edit_care_homes(world, directory)
        home_care, shared_lives = edit_home_care(world, directory)
        cqc, repeated = edit_cqc(world)
        for feed, content in (("ct_care_homes", care_homes), ("ct_home_care", home_care), ("cqc_update", cqc)):
            stage(platform, feed, DAY, content)
        crosswalk = home / "crosswalk.csv"
        crosswalk.write_text(EMPTY_CROSSWALK)
        built = Scenario(platform, world, crosswalk, **cases, shared_lives=shared_lives, repeated_cqc=repeated)
        built.merge()
        yield built
        platform.warehouse.engine.dispose()


def published(scenario: Scenario, location_id: str) -> dict:
    rows = query(
        scenario.platform,
        "SELECT source_feed, source_row, match_method, match_score, superseded_rows, stale, days_since_update,"
        " deregistered_but_reporting, unexpected_reporter FROM location_daily"
        " WHERE report_date = :d AND location_id = :l",
        d=DAY,
        l=location_id,
    )
    names = ["feed", "row", "method", "score", "superseded", "stale", "days", "deregistered", "unexpected"]
    return dict(zip(names, rows[0], strict=True)) if rows else {}


def test_each_row_is_matched_by_the_first_rule_of_the_cascade_that_applies(scenario):
    methods = dict(query(scenario.platform, "SELECT match_method, COUNT(*) FROM stg_match GROUP BY match_method"))
    assert methods["name_postcode"] == 1 and methods["unmatched"] == 1 and "crosswalk" not in methods
    feed, row, location = scenario.by_name
    matched = published(scenario, location)
    assert (matched["feed"], matched["row"], matched["method"]) == (feed, row, "name_postcode")
    assert 0.9 <= matched["score"] < 1.0
    scores = query(
        scenario.platform, "SELECT DISTINCT match_score FROM location_daily WHERE match_method <> 'name_postcode'"
    )
    assert scores == [(1.0,)]


def test_an_unmatched_row_is_quarantined_with_what_a_person_needs_to_fix_it(scenario):
    feed, row, record_id, _ = scenario.unmatched
    ((rule, value, message, raw),) = query(
        scenario.platform,
        "SELECT rule, value, message, raw_record FROM quarantine_row WHERE stage = 'merge' AND source_row = :r"
        " AND feed = :f",
        r=row,
        f=feed,
    )
    assert (rule, value) == ("match.unmatched", "1-000000001")
    assert f"ct_care_homes row {row} (record {record_id}" in message
    assert "CQC location id '1-000000001' is not in the directory" in message
    assert "no directory location at postcode 'ZZ9 9ZZ'" in message
    assert (
        f"`ct_care_homes,{record_id},<CQC location id>,<reason>` to the crosswalk (include/careshare/data/crosswalk.csv"
        in message
    )
    assert '"postcode": "ZZ9 9ZZ"' in raw


def test_a_crosswalk_entry_releases_the_unmatched_row_on_the_next_run(scenario, tmp_path):
    feed, row, record_id, location = scenario.unmatched
    assert published(scenario, location) == {}
    fixed = tmp_path / "crosswalk.csv"
    fixed.write_text(EMPTY_CROSSWALK + f"{feed},{record_id},{location},CT registration typo\n")
    try:
        result = scenario.merge(fixed)
        assert result.matches.get("crosswalk") == 1 and "unmatched" not in result.matches
        released = published(scenario, location)
        assert (released["row"], released["method"], released["score"]) == (row, "crosswalk", 1.0)
        assert query(scenario.platform, "SELECT COUNT(*) FROM quarantine_row WHERE stage = 'merge'") == [(0,)]
        assert all(a.balanced for a in result.accounts)
    finally:
        scenario.merge()
    assert published(scenario, location) == {}


def superseded(scenario: Scenario, feed: str, row: int) -> tuple:
    return query(
        scenario.platform,
        "SELECT winner_feed, winner_source_row, reason FROM superseded_row WHERE feed = :f AND source_row = :r",
        f=feed,
        r=row,
    )[0]


def test_the_latest_submission_of_a_feed_wins_and_the_losers_are_kept_with_the_winner(scenario):
    loser, winner = scenario.older_copy
    assert superseded(scenario, "ct_care_homes", loser) == ("ct_care_homes", winner, "later submission")
    copy, first = scenario.identical_copy
    assert superseded(scenario, "ct_care_homes", copy) == ("ct_care_homes", first, "duplicate row")
    earlier, final = scenario.repeated_cqc
    assert superseded(scenario, "cqc_update", earlier) == ("cqc_update", final, "later submission")
    winners = query(
        scenario.platform,
        "SELECT l.superseded_rows FROM location_daily AS l WHERE l.source_feed = 'ct_care_homes' AND l.source_row = :r",
        r=winner,
    )
    assert winners == [(1,)]


def test_in_the_overlap_ct_home_care_wins_and_cqc_fills_in_only_where_ct_has_no_row(scenario):
    world = scenario.world
    ct = {row["location_id"] for row in world.ground_truth("ct_home_care", DAY)}
    cqc = {row["location_id"] for row in world.ground_truth("cqc_update", DAY)}
    sources = dict(
        query(
            scenario.platform, "SELECT location_id, source_feed FROM location_daily WHERE service_group = 'community'"
        )
    )
    assert ct & cqc and cqc - ct, "the overlap day must have both kinds of community location"
    assert {sources[location] for location in ct & cqc} == {"ct_home_care"}
    assert {sources[location] for location in cqc - ct} == {"cqc_update"}
    reasons = query(
        scenario.platform,
        "SELECT DISTINCT reason, winner_feed FROM superseded_row WHERE feed = 'cqc_update' AND winner_feed <> feed",
    )
    assert reasons == [("source precedence", "ct_home_care")]


def test_stale_deregistered_and_shared_lives_rows_are_published_with_their_flags(scenario):
    stale = published(scenario, scenario.stale)
    assert (stale["stale"], stale["days"]) == (True, 10)
    deregistered = published(scenario, scenario.deregistered)
    assert (bool(deregistered["deregistered"]), bool(deregistered["unexpected"])) == (True, False)
    shared_lives = published(scenario, scenario.shared_lives)
    assert (bool(shared_lives["unexpected"]), bool(shared_lives["deregistered"])) == (True, False)
    assert query(scenario.platform, "SELECT COUNT(*) FROM location_daily WHERE stale = TRUE") == [(1,)]


def test_la_daily_summary_has_every_council_and_adds_up_to_location_daily(scenario, local_authorities):
    summary = scenario.platform.warehouse.query_frame("publish/la_daily_summary", {"report_date": DAY})
    assert sorted(summary["la_code"]) == sorted(la.code for la in local_authorities.valid_on(DAY))
    locations = scenario.platform.warehouse.query_frame("publish/location_daily", {"report_date": DAY})
    per_la = locations.groupby("la_code").size()
    summary = summary.set_index("la_code")
    reported = summary["locations_reporting"] + summary["locations_reporting_unexpected"]
    assert reported[reported > 0].to_dict() == per_la.to_dict()
    homes = locations[locations["service_group"] == "care_home"].groupby("la_code")["beds_total"].sum()
    assert summary.loc[homes.index, "beds_total"].astype(int).to_dict() == homes.astype(int).to_dict()
    flagged = summary[["locations_stale", "locations_deregistered_reporting", "locations_unexpected_reporter"]].sum()
    assert flagged.to_dict() == {
        "locations_stale": 1,
        "locations_deregistered_reporting": 1,
        "locations_unexpected_reporter": 1,
    }
    registered = [
        d
        for d in scenario.world.directory_truth()
        if d["registrationDate"] <= DAY.isoformat() and (d["deregistrationDate"] or "9") >= DAY.isoformat()
    ]
    assert summary["locations_registered"].sum() == len(registered)
    assert summary["locations_expected"].sum() == sum(d["service"] != "shared_lives" for d in registered)
    shared_lives_la = locations.set_index("location_id").at[scenario.shared_lives, "la_code"]
    assert summary.at[shared_lives_la, "locations_reporting_unexpected"] >= 1
    rate = summary["completion_rate"].dropna()
    assert ((rate >= 0) & (rate <= 1)).all()
    assert (summary["locations_reporting"] <= summary["locations_expected"]).all()


def test_provider_daily_has_each_provider_once_with_both_of_its_parts(scenario):
    providers = scenario.platform.warehouse.query_frame(
        "publish/provider_daily", directory_day(scenario.platform.warehouse, DAY)
    )
    assert providers["provider_id"].is_unique
    both = providers[(providers["care_homes_reporting"] > 0) & (providers["community_services_reporting"] > 0)]
    assert not both.empty, "a provider with care homes and community services must report both that day"
    provider = both.iloc[0]
    locations = scenario.platform.warehouse.query_frame("publish/location_daily", {"report_date": DAY})
    own = locations[locations["provider_id"] == provider["provider_id"]]
    homes, community = own[own["service_group"] == "care_home"], own[own["service_group"] == "community"]
    assert provider["care_homes_reporting"] == len(homes) and provider["community_services_reporting"] == len(community)
    assert provider["beds_total"] == homes["beds_total"].sum()
    assert provider["community_people_supported"] == community["people_supported"].sum()
    assert provider["councils_reporting"] == own["la_code"].nunique()
    published_rows = providers["locations_reporting"].sum() + providers["locations_reporting_unexpected"].sum()
    assert published_rows == len(locations)


def test_a_day_that_does_not_add_up_fails_and_is_left_as_it_was(scenario):
    before = query(scenario.platform, "SELECT COUNT(*) FROM location_daily WHERE report_date = :d", d=DAY)
    execute(scenario.platform, "UPDATE feed_day SET rows_delivered = rows_delivered + 1 WHERE feed = 'ct_home_care'")
    try:
        with pytest.raises(MergeCheckFailed) as failed:
            scenario.merge()
        assert failed.value.rules == ["merge.accounting"]
        assert "ct_home_care: " in str(failed.value) and "[rule merge.accounting]" in str(failed.value)
        assert query(scenario.platform, "SELECT COUNT(*) FROM location_daily WHERE report_date = :d", d=DAY) == before
    finally:
        execute(
            scenario.platform, "UPDATE feed_day SET rows_delivered = rows_delivered - 1 WHERE feed = 'ct_home_care'"
        )


def test_validation_before_publishing_catches_a_day_changed_after_its_merge(scenario):
    assert all(a.balanced for a in validate_day(scenario.platform, DAY))
    execute(
        scenario.platform,
        "DELETE FROM location_daily WHERE report_date = :d AND location_id = :l",
        d=DAY,
        l=scenario.stale,
    )
    try:
        with pytest.raises(MergeCheckFailed) as failed:
            validate_day(scenario.platform, DAY)
        assert set(failed.value.rules) == {"merge.accounting", "merge.rollup_totals"}
    finally:
        scenario.merge()
    validate_day(scenario.platform, DAY)


def test_a_location_whose_council_has_no_code_that_day_is_quarantined_not_guessed(scenario):
    location = scenario.stale
    key = query(scenario.platform, "SELECT la_name_key FROM dim_location WHERE location_id = :l", l=location)[0][0]
    execute(scenario.platform, "UPDATE dim_location SET la_name_key = 'atlantis' WHERE location_id = :l", l=location)
    try:
        result = scenario.merge()
        assert published(scenario, location) == {}
        rules = query(scenario.platform, "SELECT rule, location_id FROM quarantine_row WHERE rule = 'match.unknown_la'")
        assert rules == [("match.unknown_la", location)]
        assert all(a.balanced for a in result.accounts)
    finally:
        execute(scenario.platform, "UPDATE dim_location SET la_name_key = :k WHERE location_id = :l", k=key, l=location)
        scenario.merge()


def test_the_same_inputs_give_byte_identical_datasets(scenario, tmp_path):
    first = local_platform(scenario.platform.warehouse.url, tmp_path / "first")
    second = local_platform(scenario.platform.warehouse.url, tmp_path / "second")
    publish_day(first, DAY)
    scenario.merge()
    publish_day(second, DAY)
    objects = published_bytes(first)
    assert {key.split("/")[0] for key in objects} == {
        "location_daily",
        "provider_daily",
        "la_daily_summary",
        "_manifests",
        "_docs",
    }
    assert "provider_daily/report_date=2020-12-01/part-0.parquet" in objects
    assert objects == published_bytes(second)
