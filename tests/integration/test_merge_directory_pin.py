"""A report date reads the CQC directory as its first merge knew it: a rerun after a later directory
load (a location moved council, an ODS code and a postcode changed, a provider renamed, a location
deregistered) gives the day it gave before, row for row; a date first merged after the load reads
the later directory; an operator's re-pin moves a date to it. Rows go through real ingestion on
SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest

from careshare.cli import build_parser, main
from careshare.merge import directory_day, merge_day, validate_day
from careshare.platform import Platform
from careshare.quality.completion import expected_locations
from careshare.reference import name_key
from careshare.reference_data import load_directory
from careshare.warehouse import sql
from careshare_sim import MessRates, World
from tests.integration.merge_support import (
    InProcessDirectory,
    load_reference,
    local_platform,
    query,
    read_csv,
    stage,
    warehouse_database,
    write_csv,
)

pytestmark = pytest.mark.slow

DAY, NEXT_DAY, NEVER_MERGED = date(2020, 12, 1), date(2020, 12, 2), date(2020, 12, 3)
FIRST_LOAD = datetime(2024, 6, 30)  # load_reference: the world's directory_as_of (UTC, kept naive)
CHANGED_AT = datetime(2024, 7, 3, 12, tzinfo=UTC)
LATER_LOAD = datetime(2024, 7, 7)
EMPTY_CROSSWALK = "feed,record_id,location_id,reason\n"
DAY_ROWS = {
    "location_daily": "SELECT * FROM location_daily WHERE report_date = :d",
    "superseded_row": "SELECT * FROM superseded_row WHERE report_date = :d",
    "stg_match": "SELECT * FROM stg_match WHERE report_date = :d",
    "quarantine_row": "SELECT * FROM quarantine_row WHERE report_date = :d",
    "daily_rollup": "SELECT * FROM daily_rollup WHERE report_date = :d",
}


class LaterDirectory(InProcessDirectory):
    """The simulator's directory after its amendments, with some providers renamed."""

    def __init__(self, world: World, renamed: dict[str, str]):
        super().__init__(world)
        self.renamed = renamed

    def changed_location_ids(self, start: datetime, end: datetime) -> list[str]:
        return self.directory.changes(start, end)

    def providers(self, provider_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        records = super().providers(provider_ids)
        return {
            pid: record | {"name": self.renamed[pid]} if record and pid in self.renamed else record
            for pid, record in records.items()
        }


@dataclass
class Pinned:
    platform: Platform
    first: dict[str, list[tuple]]  # the day as merged before the later load
    rerun: dict[str, list[tuple]]  # the day merged again after it
    by_ods: str  # its CT row matched by ODS code; the later directory changed the code
    by_postcode: str  # its CT row matched by name within the postcode; the later directory moved it
    moved: str  # to another council
    moved_to: str  # that council's name, as the directory spells it
    moved_to_code: str  # its ONS code on the report dates
    renamed_provider: str
    deregistered: str

    def merge(self, day: date = DAY, **options: Any):
        return merge_day(self.platform, day, self.platform.settings.home / "crosswalk.csv", **options)


def day_rows(platform: Platform, day: date) -> dict[str, list[tuple]]:
    """Every row the merge keeps for the day, and the provider dataset as published."""
    rows = {table: sorted(query(platform, statement, d=day), key=repr) for table, statement in DAY_ROWS.items()}
    with platform.warehouse.engine.connect() as connection:
        published = connection.execute(sql("publish/provider_daily"), directory_day(platform.warehouse, day))
        rows["provider_daily"] = [tuple(row) for row in published]
    return rows


def choose_cases(platform: Platform, world: World) -> dict[str, str]:
    """Care homes reporting on both days, one per change, and a council with another code to move to."""
    truth = [row["location_id"] for row in world.ground_truth("ct_care_homes", DAY)]
    directory = {d["locationId"]: d for d in world.directory_truth()}
    both_days = {row["location_id"] for row in world.ground_truth("ct_care_homes", NEXT_DAY)}
    chosen = [lid for lid in truth[1:] if lid in both_days and directory[lid]["deregistrationDate"] is None]
    by_ods = next(lid for lid in chosen if directory[lid]["odsCode"])
    by_postcode, moved, deregistered = [lid for lid in chosen if lid != by_ods][:3]
    code_of = dict(
        query(
            platform,
            "SELECT la_name_key, la_code FROM ref_la_name_period WHERE :d BETWEEN valid_from AND valid_to",
            d=DAY,
        )
    )
    old_code = code_of[name_key(directory[moved]["localAuthority"])]
    moved_to = next(
        d["localAuthority"]
        for d in directory.values()
        if code_of.get(name_key(d["localAuthority"]), old_code) != old_code
    )
    return {
        "by_ods": by_ods,
        "by_postcode": by_postcode,
        "moved": moved,
        "moved_to": moved_to,
        "moved_to_code": code_of[name_key(moved_to)],
        "renamed_provider": directory[moved]["providerId"],
        "deregistered": deregistered,
    }


def edited_care_homes(world: World, cases: dict[str, str]) -> bytes:
    """The day's CT care-home file with the ODS case's CQC id blanked, the postcode case's CQC id
    and ODS code blanked (and the row repeated, superseded), and the first row about a location no
    directory has (quarantined)."""
    header, rows = read_csv(world.rendered("ct_care_homes", DAY).content)
    truth = [row["location_id"] for row in world.ground_truth("ct_care_homes", DAY)]
    col = {name: i for i, name in enumerate(header)}
    rows[truth.index(cases["by_ods"])][col["CQC_Location_ID"]] = ""
    by_postcode = rows[truth.index(cases["by_postcode"])]
    by_postcode[col["CQC_Location_ID"]] = by_postcode[col["ODS_Code"]] = ""
    lost = rows[0]
    lost[col["CQC_Location_ID"]], lost[col["ODS_Code"]], lost[col["Postcode"]] = "1-000000001", "", "ZZ1 1ZZ"
    return write_csv(header, [*rows, list(by_postcode)])


def later_directory(world: World, cases: dict[str, str]) -> LaterDirectory:
    """The directory a week after the first load, each case's location edited as it names."""
    directory = world.directory
    directory.amend(cases["by_ods"], CHANGED_AT, odsCode="ZZ999")
    directory.amend(cases["by_postcode"], CHANGED_AT, postalCode="ZZ9 9ZZ")
    directory.amend(cases["moved"], CHANGED_AT, localAuthority=cases["moved_to"])
    directory.amend(
        cases["deregistered"], CHANGED_AT, registrationStatus="Deregistered", deregistrationDate="2020-11-20"
    )
    provider = cases["renamed_provider"]
    return LaterDirectory(world, {provider: f"{directory.provider(provider)['name']} (renamed)"})


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pinned(request, tmp_path_factory, local_authorities):
    home = tmp_path_factory.mktemp(f"pin-{request.param}")
    (home / "crosswalk.csv").write_text(EMPTY_CROSSWALK)
    world = World(5, 150, 100, local_authorities, date(2024, 6, 30), mess=MessRates.clean())
    with warehouse_database(request.param, home, request) as url:
        platform = local_platform(url, home)
        load_reference(platform, world)
        cases = choose_cases(platform, world)
        stage(platform, "ct_care_homes", DAY, edited_care_homes(world, cases))
        for feed in ("ct_home_care", "cqc_update"):
            stage(platform, feed, DAY, world.rendered(feed, DAY).content)
        stage(platform, "ct_care_homes", NEXT_DAY, world.rendered("ct_care_homes", NEXT_DAY).content)
        built = Pinned(platform, {}, {}, **cases)
        built.merge()
        built.first.update(day_rows(platform, DAY))
        load_directory(platform, later_directory(world, cases), LATER_LOAD.replace(tzinfo=UTC))
        built.merge()
        built.rerun.update(day_rows(platform, DAY))
        yield built
        platform.warehouse.engine.dispose()


def matched(pinned: Pinned, day: date, location_id: str) -> tuple:
    """How the location's CT care-home row was matched, and the council and deregistered flag published."""
    rows = query(
        pinned.platform,
        "SELECT m.match_method, l.la_code, l.deregistered_but_reporting"
        " FROM stg_match AS m LEFT JOIN location_daily AS l"
        " ON l.report_date = m.report_date AND l.source_feed = m.feed AND l.source_row = m.source_row"
        " WHERE m.report_date = :d AND m.feed = 'ct_care_homes' AND m.location_id = :l",
        d=day,
        l=location_id,
    )
    return tuple(rows[0]) if rows else ()


def provider_name(pinned: Pinned, day: date) -> str:
    providers = pinned.platform.warehouse.query_frame(
        "publish/provider_daily", directory_day(pinned.platform.warehouse, day)
    )
    return str(providers.set_index("provider_id").at[pinned.renamed_provider, "provider_name"])


def pin(pinned: Pinned, day: date) -> list[datetime]:
    rows = query(pinned.platform, "SELECT directory_as_of FROM directory_pin WHERE report_date = :d", d=day)
    return [pd.Timestamp(value).to_pydatetime() for (value,) in rows]


def unmatched(rows: dict[str, list[tuple]]) -> int:
    return sum("match.unmatched" in row for row in rows["quarantine_row"])


def test_the_later_load_changed_every_case_in_the_directory(pinned):
    assert matched(pinned, DAY, pinned.by_ods)[0] == "ods_code"
    assert matched(pinned, DAY, pinned.by_postcode)[0] == "name_postcode"
    assert matched(pinned, DAY, pinned.moved)[1] != pinned.moved_to_code
    assert not matched(pinned, DAY, pinned.deregistered)[2]
    cases = (pinned.by_ods, pinned.by_postcode, pinned.moved, pinned.deregistered)
    versions = query(
        pinned.platform,
        "SELECT location_id, COUNT(*) FROM dim_location WHERE location_id IN (:a, :b, :c, :e) GROUP BY location_id",
        **dict(zip("abce", cases, strict=True)),
    )
    assert len(versions) == 4 and {count for _, count in versions} == {2}
    providers = query(
        pinned.platform, "SELECT COUNT(*) FROM dim_provider WHERE provider_id = :p", p=pinned.renamed_provider
    )
    assert providers == [(2,)]


def test_a_rerun_after_a_later_directory_load_gives_the_same_rows(pinned):
    assert pin(pinned, DAY) == [FIRST_LOAD]
    for table, rows in pinned.first.items():
        assert rows, f"{table}: the day must have rows to compare"
        assert pinned.rerun[table] == rows, table


def test_the_checks_and_quality_figures_of_a_merged_date_read_its_pinned_directory(pinned):
    assert all(account.balanced for account in validate_day(pinned.platform, DAY))
    expected = expected_locations(pinned.platform, DAY).set_index("location_id")["la_code"]
    assert expected[pinned.moved] == matched(pinned, DAY, pinned.moved)[1]
    assert pinned.deregistered in expected
    councils = pinned.platform.warehouse.query_frame(
        "quality/location_councils", directory_day(pinned.platform.warehouse, DAY)
    )
    assert councils.set_index("location_id").at[pinned.by_ods, "ods_code"] != "ZZ999"


def test_a_date_never_merged_reads_the_latest_directory(pinned):
    assert pin(pinned, NEVER_MERGED) == []
    expected = expected_locations(pinned.platform, NEVER_MERGED).set_index("location_id")["la_code"]
    assert expected[pinned.moved] == pinned.moved_to_code
    assert pinned.deregistered not in expected


def test_a_date_first_merged_after_the_later_load_reads_the_later_directory(pinned):
    pinned.merge(NEXT_DAY)
    assert pin(pinned, NEXT_DAY) == [LATER_LOAD]
    assert matched(pinned, NEXT_DAY, pinned.moved)[1] == pinned.moved_to_code
    assert matched(pinned, NEXT_DAY, pinned.deregistered)[2]
    assert provider_name(pinned, NEXT_DAY).endswith(" (renamed)")
    assert not provider_name(pinned, DAY).endswith(" (renamed)")


def test_repinning_moves_a_date_to_the_newest_directory_on_purpose(pinned):
    result = pinned.merge(repin_directory=True)
    assert result.directory_as_of == LATER_LOAD
    assert pin(pinned, DAY) == [LATER_LOAD]
    repinned = day_rows(pinned.platform, DAY)
    assert {table for table, rows in repinned.items() if rows != pinned.first[table]} == set(pinned.first)
    assert matched(pinned, DAY, pinned.by_ods)[0] == "name_postcode"
    assert matched(pinned, DAY, pinned.by_postcode) == ()
    assert unmatched(pinned.first) == 1 and unmatched(repinned) == 3  # the lost row, then the postcode case twice
    assert matched(pinned, DAY, pinned.moved)[1] == pinned.moved_to_code
    assert matched(pinned, DAY, pinned.deregistered)[2]
    assert provider_name(pinned, DAY).endswith(" (renamed)")
    pinned.merge()
    assert day_rows(pinned.platform, DAY) == repinned


def test_repin_directory_is_an_option_of_the_merge_stage_only(capsys):
    args = build_parser().parse_args(["run", "stage", "merge", "--date", DAY.isoformat(), "--repin-directory"])
    assert args.repin_directory
    with pytest.raises(SystemExit) as stopped:
        main(["run", "stage", "publish", "--date", DAY.isoformat(), "--repin-directory"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == "careshare: --repin-directory is an option of the merge stage only"
