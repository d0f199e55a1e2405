"""Bad input taken through the merge, on SQLite and PostgreSQL: clean simulator files of the overlap
day (2020-12-01, all three feeds) edited by hand to hold one row of each kind SOURCES.md says the
merge must resolve, ingested for real, merged, and each row's outcome read back by its source row:
published (as which location, under which council, with which flags), superseded (why, and for which
feed), how it was matched; and every feed's delivered rows add up."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

import pytest

from careshare.feeds import Feed
from careshare.merge import merge_day, validate_day
from careshare.platform import Platform
from careshare_sim import MessRates, World
from tests.integration.merge_support import load_reference, local_platform, query, stage
from tests.integration.test_bad_input_corpus import Lines
from tests.integration.test_merge_scenarios import EMPTY_CROSSWALK, as_location

pytestmark = pytest.mark.slow

DAY = date(2020, 12, 1)  # in the overlap: the CQC form and CT home care are both open
CT, HOME_CARE, CQC = Feed.CT_CARE_HOMES.value, Feed.CT_HOME_CARE.value, Feed.CQC_UPDATE.value
SHARED_LIVES_CT_ID = 999999  # a Shared Lives scheme has no CT id: the one its row carries is made up


@dataclass(frozen=True)
class Planted:
    """One edited row: where it is in the delivered files and the directory location it is about."""

    feed: str
    source_row: int
    location_id: str


@dataclass
class MergedDay:
    platform: Platform
    directory: dict[str, dict]
    planted: dict[str, Planted]

    def published(self, row: Planted) -> dict:
        names = ["location_id", "source_feed", "la_code", "deregistered_but_reporting", "unexpected_reporter"]
        found = query(
            self.platform,
            f"SELECT {', '.join(names)} FROM location_daily"
            " WHERE report_date = :d AND source_feed = :f AND source_row = :r",
            d=DAY,
            f=row.feed,
            r=row.source_row,
        )
        return dict(zip(names, found[0], strict=True)) if found else {}

    def match_method(self, row: Planted) -> str | None:
        found = query(
            self.platform,
            "SELECT match_method FROM stg_match WHERE report_date = :d AND feed = :f AND source_row = :r",
            d=DAY,
            f=row.feed,
            r=row.source_row,
        )
        return found[0][0] if found else None


def columns(lines: Lines) -> dict[str, int]:
    return {name: i for i, name in enumerate(lines.header)}


def plant_care_homes(world: World, directory: dict[str, dict]) -> tuple[bytes, dict[str, Planted]]:
    """An ODS code without the CQC id, a name and postcode without either id, a provider naming another
    council, and a home deregistered before the date still reporting."""
    lines = Lines.of(world.rendered(CT, DAY).content)
    truth = [row["location_id"] for row in world.ground_truth(CT, DAY)]
    ods_counts = Counter(d["odsCode"] for d in directory.values() if d["odsCode"])
    rows = range(1, len(lines.rows) + 1)
    ods_only = next(n for n in rows if ods_counts[lines.get(n, "ODS_Code").strip().upper()] == 1)
    name_only, wrong_council = [n for n in rows if n != ods_only][:2]
    typed_council = "Cornwall" if directory[truth[wrong_council - 1]]["localAuthority"] != "Cornwall" else "Devon"
    deregistered = next(
        d for d in directory.values() if d["careHome"] == "Y" and (d["deregistrationDate"] or "9") < DAY.isoformat()
    )
    still_reporting = as_location(lines.rows[-1], columns(lines), deregistered, "CT_Home_ID", "Home_Name")
    edited = (
        lines.set(ods_only, "CQC_Location_ID", "")
        .set(name_only, "CQC_Location_ID", "")
        .set(name_only, "ODS_Code", "")
        .set(wrong_council, "Local_Authority", typed_council)
    )
    edited = Lines(edited.header, [*edited.rows, still_reporting])
    planted = {
        "ods_only": Planted(CT, ods_only, truth[ods_only - 1]),
        "name_and_postcode_only": Planted(CT, name_only, truth[name_only - 1]),
        "wrong_council": Planted(CT, wrong_council, truth[wrong_council - 1]),
        "deregistered": Planted(CT, len(edited.rows), deregistered["locationId"]),
    }
    return edited.csv(), planted


def plant_community(world: World, directory: dict[str, dict]) -> tuple[bytes, bytes, dict[str, Planted]]:
    """A homecare agency in both CT home care and the CQC form, and a Shared Lives scheme in CT home care."""
    home_care = Lines.of(world.rendered(HOME_CARE, DAY).content)
    cqc = Lines.of(world.rendered(CQC, DAY).content)
    in_ct = [row["location_id"] for row in world.ground_truth(HOME_CARE, DAY)]
    in_cqc = {row["location_id"] for row in world.ground_truth(CQC, DAY)}
    both_row, agency = next(
        (n, location)
        for n, location in enumerate(in_ct, 1)
        if directory[location]["service"] == "domiciliary" and location not in in_cqc
    )
    answer = list(cqc.rows[0])
    for column, value in {
        "location_id": agency,
        "provider_id": directory[agency]["providerId"],
        "location_name": directory[agency]["name"],
        "service_type": "homecare",
    }.items():
        answer[cqc.header.index(column)] = value
    scheme = next(d for d in directory.values() if d["service"] == "shared_lives")
    unexpected = as_location(
        home_care.rows[-1], columns(home_care), scheme | {"ct_id": SHARED_LIVES_CT_ID}, "CT_Service_ID", "Service_Name"
    )
    home_care = Lines(home_care.header, [*home_care.rows, unexpected])
    cqc = Lines(cqc.header, [*cqc.rows, answer])
    planted = {
        "in_both_ct": Planted(HOME_CARE, both_row, agency),
        "in_both_cqc": Planted(CQC, len(cqc.rows), agency),
        "shared_lives": Planted(HOME_CARE, len(home_care.rows), scheme["locationId"]),
    }
    return home_care.csv(), cqc.csv(), planted


@pytest.fixture(scope="module")
def merged(module_warehouse_url, tmp_path_factory, local_authorities) -> MergedDay:
    home = tmp_path_factory.mktemp("bad-input-merge")
    world = World(3, 60, 40, local_authorities, date(2024, 6, 30), mess=MessRates.clean())
    directory = {d["locationId"]: d for d in world.directory_truth()}
    platform = local_platform(module_warehouse_url, home)
    load_reference(platform, world)
    care_homes, planted = plant_care_homes(world, directory)
    home_care, cqc, community = plant_community(world, directory)
    for feed, content in ((CT, care_homes), (HOME_CARE, home_care), (CQC, cqc)):
        stage(platform, feed, DAY, content)
    crosswalk = home / "crosswalk.csv"
    crosswalk.write_text(EMPTY_CROSSWALK)
    merge_day(platform, DAY, crosswalk)
    yield MergedDay(platform, directory, planted | community)
    platform.warehouse.engine.dispose()


def test_in_the_overlap_the_ct_home_care_row_is_published_and_the_cqc_row_superseded(merged):
    ct, cqc = merged.planted["in_both_ct"], merged.planted["in_both_cqc"]
    published = merged.published(ct)
    assert (published["location_id"], published["source_feed"]) == (ct.location_id, HOME_CARE)
    assert merged.published(cqc) == {}
    superseded = query(
        merged.platform,
        "SELECT reason, winner_feed FROM superseded_row WHERE report_date = :d AND feed = :f AND source_row = :r",
        d=DAY,
        f=cqc.feed,
        r=cqc.source_row,
    )
    assert superseded == [("source precedence", HOME_CARE)]


def test_a_location_deregistered_before_the_date_is_published_flagged_as_still_reporting(merged):
    row = merged.planted["deregistered"]
    published = merged.published(row)
    assert published["location_id"] == row.location_id
    assert (bool(published["deregistered_but_reporting"]), bool(published["unexpected_reporter"])) == (True, False)


def test_the_council_a_provider_typed_is_ignored_for_the_one_the_directory_gives(merged, local_authorities):
    row = merged.planted["wrong_council"]
    directory_council = local_authorities.code_for(merged.directory[row.location_id]["localAuthority"], DAY).code
    published = merged.published(row)
    assert (published["location_id"], published["la_code"]) == (row.location_id, directory_council)


def test_a_row_with_only_an_ods_code_is_matched_by_it(merged):
    row = merged.planted["ods_only"]
    assert merged.match_method(row) == "ods_code"
    assert merged.published(row)["location_id"] == row.location_id


def test_a_row_with_only_name_and_postcode_is_matched_by_name_within_the_postcode(merged):
    row = merged.planted["name_and_postcode_only"]
    assert merged.match_method(row) == "name_postcode"
    assert merged.published(row)["location_id"] == row.location_id


def test_a_shared_lives_row_is_published_as_unexpected_and_never_expected(merged, local_authorities):
    row = merged.planted["shared_lives"]
    published = merged.published(row)
    assert published["location_id"] == row.location_id
    assert (bool(published["unexpected_reporter"]), bool(published["deregistered_but_reporting"])) == (True, False)
    council = published["la_code"]
    summary = merged.platform.warehouse.query_frame("publish/la_daily_summary", {"report_date": DAY})
    summary = summary.set_index("la_code").loc[council]
    expected = [
        d
        for d in merged.directory.values()
        if local_authorities.code_for(d["localAuthority"], DAY).code == council
        and d["registrationDate"] <= DAY.isoformat()
        and (d["deregistrationDate"] or "9") >= DAY.isoformat()
        and d["service"] != "shared_lives"
    ]
    assert summary["locations_expected"] == len(expected)
    assert summary["locations_reporting_unexpected"] == 1


def test_every_feed_accounts_for_each_delivered_row_once(merged):
    accounts = {a.feed: a for a in validate_day(merged.platform, DAY)}
    assert set(accounts) == {CT, HOME_CARE, CQC}
    for account in accounts.values():
        assert account.delivered == account.published + account.superseded + account.quarantined, account
