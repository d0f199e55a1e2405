"""Every kind of whole-file mess of SOURCES.md, as the simulator publishes it over time (an unusable
file re-issued hours later, a corrected file days later, the same file again), and the landing
route: each kind's exact outcome, and every row of the file the day is built from kept."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from careshare.ingest import FeedDayFailed
from careshare.status import CheckOutcome, FeedDayStatus, FetchStatus
from careshare.storage import open_store
from careshare_sim import FileMess, MessRates, Version, World
from tests.conftest import create_buckets
from tests.integration.ingestion_harness import DIRECTORY_AS_OF, module_harness

pytestmark = pytest.mark.slow

CT = "ct_care_homes"
MINUTE = timedelta(minutes=1)
RATES = MessRates().with_rates(
    empty_file=0.1,
    header_only=0.1,
    truncated_file=0.1,
    renamed_column=0.1,
    missing_column=0.1,
    extra_column=0.3,
    late_correction=0.3,
    duplicated_delivery=0.3,
)
# each test's day is searched for from its own start, 40 days apart, so no test's re-check of the
# previous week ever reaches another test's day
STARTS = {
    FileMess.EMPTY_FILE: date(2020, 5, 1),
    FileMess.HEADER_ONLY: date(2020, 6, 10),
    FileMess.TRUNCATED_FILE: date(2020, 7, 20),
    FileMess.RENAMED_COLUMN: date(2020, 8, 29),
    FileMess.MISSING_COLUMN: date(2020, 10, 8),
    FileMess.EXTRA_COLUMN: date(2020, 11, 17),
    "late_correction": date(2020, 12, 27),
    "duplicated_delivery": date(2021, 2, 5),
    "landing": date(2021, 3, 17),
}
REJECTED_AS = {
    FileMess.EMPTY_FILE: ("file.empty", "empty file"),
    FileMess.HEADER_ONLY: ("file.no_rows", "header only: no data rows"),
    FileMess.TRUNCATED_FILE: ("file.truncated", "it was cut short"),
    FileMess.RENAMED_COLUMN: ("file.renamed_column", "required column renamed"),
    FileMess.MISSING_COLUMN: ("file.missing_column", "missing required column"),
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def harness(request, tmp_path_factory, s3_client, local_authorities):
    tmp = tmp_path_factory.mktemp("files")
    world = World(5, 150, 100, local_authorities, DIRECTORY_AS_OF, mess=RATES)
    with module_harness(request, tmp, s3_client, world, backend=request.param) as running:
        yield running


def find_day(world: World, start, wanted: Callable[[tuple[Version, ...]], bool]) -> tuple[date, tuple[Version, ...]]:
    for offset in range(25):
        day = STARTS[start] + timedelta(days=offset)
        versions = world.versions(CT, day)
        if wanted(versions):
            return day, versions
    raise AssertionError(f"no {start} day in the 25 days from {STARTS[start]}")


def content(world: World, day: date, version: Version) -> bytes:
    return world.rendered(CT, day, version.variant).content


@pytest.mark.parametrize("kind", list(REJECTED_AS))
def test_an_unusable_file_is_kept_and_fails_its_day_until_it_is_reissued(harness, kind):
    day, versions = find_day(harness.world, kind, lambda v: kind in v[0].variant.file_mess)
    harness.clock.now = versions[0].published_at + MINUTE
    assert harness.fetch(CT, day).status == FetchStatus.ARCHIVED
    failure = harness.load(CT, day)
    rule, words = REJECTED_AS[kind]
    assert isinstance(failure, FeedDayFailed) and failure.rule == rule
    [rejected] = harness.registry(CT, day).itertuples()
    file_name = f"{CT}/report_date={day.isoformat()}/{rejected.sha256}.csv"
    assert rejected.status == "rejected" and file_name in rejected.message and words in rejected.message
    assert harness.archived(CT, day) == {file_name: content(harness.world, day, versions[0])}
    assert (harness.feed_day(CT, day)["status"], harness.feed_day(CT, day)["rule"]) == ("failed", rule)

    harness.clock.now = versions[1].published_at + MINUTE
    [check] = harness.recheck(CT, day + timedelta(days=1))
    assert (check.status, check.replaced) == (CheckOutcome.CORRECTED, None)
    registry = harness.registry(CT, day).set_index("sha256")
    assert registry.loc[rejected.sha256, ["status", "superseded_by"]].tolist() == ["rejected", check.sha256]
    assert harness.feed_day(CT, day)["status"] == FeedDayStatus.LOADED
    harness.merge(day)
    harness.assert_every_row_kept(day, expected_feeds={CT})


def test_an_unexpected_column_is_kept_and_reported(harness):
    day, versions = find_day(
        harness.world,
        FileMess.EXTRA_COLUMN,
        lambda v: v[0].variant.file_mess == (FileMess.EXTRA_COLUMN,) and len(v) == 1,
    )
    harness.clock.now = versions[0].published_at + MINUTE
    [result] = harness.ingest(day, (CT,)).values()
    header = content(harness.world, day, versions[0]).decode("utf-8-sig").splitlines()[0].split(",")
    [extra] = [name for name in header if name in ("Comments", "Export_Version", "Region_Name")]
    assert (
        result.status == FeedDayStatus.LOADED and f"unexpected columns kept in extra_columns: {extra}" in result.message
    )
    assert harness.feed_day(CT, day)["message"] == result.message
    staged = harness.staged(CT, day)
    assert staged["extra_columns"].map(lambda text: extra in text).all()
    harness.merge(day)
    harness.assert_every_row_kept(day, expected_feeds={CT})


def test_a_late_corrected_file_supersedes_the_first_and_rebuilds_the_day(harness):
    day, versions = find_day(
        harness.world, "late_correction", lambda v: not v[0].variant.file_mess and v[-1].variant.corrections == 1
    )
    harness.clock.now = versions[0].published_at + MINUTE
    harness.ingest(day, (CT,))
    harness.merge(day)
    first = harness.feed_day(CT, day)["sha256"]
    before = harness.published(day).set_index("location_id")

    correction = next(v for v in versions if v.variant.corrections)
    harness.clock.now = correction.published_at + MINUTE
    [check] = harness.recheck(CT, correction.published_at.date())
    assert (check.status, check.replaced) == (CheckOutcome.CORRECTED, first)
    assert harness.registry(CT, day).set_index("sha256").loc[first, "superseded_by"] == check.sha256
    harness.merge(day)
    after = harness.published(day).set_index("location_id")
    assert set(after["source_sha256"]) == {check.sha256}
    corrected = [t for t in harness.world.ground_truth(CT, day, correction.variant) if "corrected" in t["mess"]]
    new_rows = harness.staged(CT, day).set_index("source_row")
    for truth in corrected:
        if truth["location_id"] in after.index:
            published = after.loc[truth["location_id"]]
            assert published["source_row"] == truth["source_row"]
            assert published["staff_employed"] == new_rows.loc[truth["source_row"], "staff_employed"]
    assert (after["staff_employed"] != before["staff_employed"].reindex(after.index)).any()
    harness.assert_every_row_kept(day, expected_feeds={CT})


def test_the_same_file_published_twice_is_received_once(harness):
    day, versions = find_day(harness.world, "duplicated_delivery", lambda v: len(v) == 2 and v[1].redelivery)
    harness.clock.now = versions[0].published_at + MINUTE
    harness.ingest(day, (CT,))
    before = harness.registry(CT, day)
    harness.clock.now = versions[1].published_at + MINUTE
    harness.plan.seen.clear()
    assert [c.status for c in harness.recheck(CT, day + timedelta(days=2))] == [CheckOutcome.UNCHANGED]
    assert harness.plan.seen == [("HEAD", f"/exports/{CT}/{day.isoformat()}")]
    assert harness.fetch(CT, day).sha256 == before.at[0, "sha256"]
    assert harness.registry(CT, day).equals(before) and len(harness.archived(CT, day)) == 1


def test_the_landing_route_shares_everything_after_the_fetch(harness, s3_client):
    day, versions = find_day(harness.world, "landing", lambda v: len(v) == 1 and not v[0].variant.file_mess)
    bucket = f"careshare-landing-{uuid.uuid4().hex[:10]}"
    create_buckets(s3_client, bucket)
    landing = open_store(f"s3://{bucket}/drop", s3_client)
    landing.put(f"{CT}/{day.isoformat()}.csv", content(harness.world, day, versions[0]))
    harness.plan.seen.clear()
    fetched = harness.fetch(CT, day, landing=landing, http=False)
    assert fetched.status == FetchStatus.ARCHIVED and fetched.sha256 == harness.world.rendered(CT, day).file.sha256
    assert harness.load(CT, day).status == FeedDayStatus.LOADED
    [delivery] = harness.registry(CT, day).itertuples()
    assert delivery.route == "landing"
    harness.merge(day)
    harness.assert_every_row_kept(day, expected_feeds={CT})

    corrected = versions[0].variant.corrected()
    landing.put(f"{CT}/{day.isoformat()}.csv", harness.world.rendered(CT, day, corrected).content)
    [check] = harness.recheck(CT, day + timedelta(days=1), landing=landing)
    assert (check.status, check.replaced) == (CheckOutcome.CORRECTED, fetched.sha256)
    assert harness.plan.seen == []  # nothing asked of the export API
    harness.merge(day)
    assert set(harness.published(day)["source_sha256"]) == {check.sha256}
    registry = harness.registry(CT, day).set_index("sha256")
    assert registry.loc[fetched.sha256, ["status", "superseded_by"]].tolist() == ["superseded", check.sha256]
