"""The publish tasks' merge functions (careshare.merge) on SQLite: the day's parameters, the directory
pin a rerun keeps, the checks, and a crosswalk naming an unknown location."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from careshare.matching import CrosswalkError
from careshare.merge import day_parameters, directory_day, merge_day, validate_day
from tests.unit.orchestration.registry import load_directory_once

MONDAY = date(2020, 12, 7)
HEADER = "feed,record_id,location_id,reason,decided_by,decided_on\n"


@pytest.fixture
def no_overrides(tmp_path):
    path = tmp_path / "crosswalk.csv"
    path.write_text(HEADER, encoding="utf-8")
    return path


def test_the_day_parameters_follow_the_contract_timeline():
    friday, saturday = day_parameters(date(2020, 11, 27)), day_parameters(date(2020, 11, 28))
    after_the_form = day_parameters(date(2020, 12, 14))
    assert (friday["community_record_feed"], after_the_form["community_record_feed"]) == ("cqc_update", "ct_home_care")
    assert friday["homecare_asked"] and not saturday["homecare_asked"], "CQC weekdays only; ct_home_care from 30 Nov"
    assert saturday["care_homes_asked"] and after_the_form["housing_services_asked"]


def test_a_date_keeps_the_directory_load_of_its_first_merge_until_repinned(platform, no_overrides):
    assert directory_day(platform.warehouse, MONDAY) == {"report_date": MONDAY, "directory_as_of": None}
    load_directory_once(platform)
    first = merge_day(platform, MONDAY, no_overrides)
    assert (first.locations, first.accounts, first.directory_as_of) == (0, [], datetime(2020, 12, 1))
    with platform.warehouse.transaction() as connection:
        later = datetime(2020, 12, 9)
        platform.warehouse.execute(
            connection,
            "reference/record_directory_load",
            {"as_of": later, "mode": "changes", "locations_fetched": 0, "versions_added": 0, "completed_at": later},
        )
    assert merge_day(platform, MONDAY, no_overrides).directory_as_of == datetime(2020, 12, 1)
    assert merge_day(platform, MONDAY, no_overrides, repin_directory=True).directory_as_of == later
    assert directory_day(platform.warehouse, MONDAY)["directory_as_of"] == later
    assert validate_day(platform, MONDAY) == []


def test_a_crosswalk_naming_a_location_not_in_the_directory_stops_the_merge(platform, tmp_path):
    load_directory_once(platform)
    crosswalk = tmp_path / "crosswalk.csv"
    crosswalk.write_text(HEADER + "ct_care_homes,42,1-000000001,wrong id,a person,2020-12-01\n", encoding="utf-8")
    with pytest.raises(CrosswalkError, match=r"line 2: ct_care_homes record 42 -> 1-000000001 .*unknown_location"):
        merge_day(platform, MONDAY, crosswalk)
