from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sim_helpers import DIRECTORY_AS_OF, read_rows

from careshare.feeds import FEEDS, Feed
from careshare_sim import FileMess, MessRates, Request, SimulatorServer, Variant, World, publication_time
from careshare_sim.files import DROPPABLE, EXTRA_COLUMNS, RENAMES, UNUSABLE
from careshare_sim.mess import MessTag

DAY = date(2020, 12, 1)
ONLY = {kind: MessRates.clean().with_rates(**{kind.value: 1.0}) for kind in FileMess}


@pytest.fixture(scope="module")
def worlds(local_authorities):
    return {kind: World(7, 200, 150, local_authorities, DIRECTORY_AS_OF, mess=rates) for kind, rates in ONLY.items()}


def first(world: World, feed: Feed = Feed.CT_CARE_HOMES, day: date = DAY):
    return world.rendered(feed, day, world.versions(feed, day)[0].variant)


def test_each_unusable_file_is_reissued_complete_hours_later(worlds):
    for kind in UNUSABLE:
        versions = worlds[kind].versions(Feed.CT_CARE_HOMES, DAY)
        assert [v.variant for v in versions] == [Variant((kind,)), Variant()]
        gap = versions[1].published_at - versions[0].published_at
        assert versions[0].published_at == publication_time(DAY)
        assert timedelta(hours=2) <= gap <= timedelta(hours=10)


def test_an_empty_file_has_no_bytes(worlds):
    rendered = first(worlds[FileMess.EMPTY_FILE])
    assert rendered.content == b"" and rendered.rows == () and rendered.file.mess == ("empty_file",)
    assert rendered.file.sha256 == hashlib.sha256(b"").hexdigest()


def test_a_header_only_file_has_the_contract_header_and_no_rows(worlds):
    header, rows = read_rows(first(worlds[FileMess.HEADER_ONLY]))
    assert header == [c.name for c in FEEDS[Feed.CT_CARE_HOMES].columns_on(DAY)] and rows == []


def test_a_truncated_file_ends_part_way_through_a_row_and_its_truth_holds_the_complete_rows(worlds):
    world = worlds[FileMess.TRUNCATED_FILE]
    whole = world.rendered(Feed.CT_CARE_HOMES, DAY, Variant())
    cut = first(world)
    assert whole.content.startswith(cut.content) and len(cut.content) < len(whole.content)
    assert not cut.content.endswith((b"\n", b"\r"))
    records = list(csv.reader(io.StringIO(cut.content.decode("utf-8-sig"), newline="")))
    assert len(records[-1]) < len(records[0])
    assert len(cut.rows) == len(records) - 2 == cut.file.rows
    assert [r.location_id for r in cut.rows] == [r.location_id for r in whole.rows[: len(cut.rows)]]


@pytest.mark.parametrize("feed", list(Feed))
def test_a_renamed_or_missing_column_changes_the_header_only(worlds, feed):
    day = DAY if feed is not Feed.CQC_UPDATE else date(2020, 12, 2)
    contract = [c.name for c in FEEDS[feed].columns_on(day)]
    renamed, _ = read_rows(first(worlds[FileMess.RENAMED_COLUMN], feed, day))
    [(old, new)] = [(a, b) for a, b in zip(contract, renamed, strict=True) if a != b]
    assert RENAMES[feed][old] == new
    missing, rows = read_rows(first(worlds[FileMess.MISSING_COLUMN], feed, day))
    [dropped] = set(contract) - set(missing)
    assert dropped in DROPPABLE[feed] and all(len(row) == len(contract) - 1 for row in rows)


def test_an_extra_column_is_added_to_every_row_and_stays_in_every_version(worlds):
    world = worlds[FileMess.EXTRA_COLUMN]
    header, rows = read_rows(world.rendered(Feed.CT_CARE_HOMES, DAY))
    assert header[-1] in EXTRA_COLUMNS and all(len(row) == len(header) for row in rows)
    assert [v.variant.file_mess for v in world.versions(Feed.CT_CARE_HOMES, DAY)] == [(FileMess.EXTRA_COLUMN,)]


def test_a_late_correction_changes_some_answers_but_not_who_or_when(local_authorities):
    rates = MessRates.clean().with_rates(late_correction=1.0)
    world = World(7, 200, 150, local_authorities, DIRECTORY_AS_OF, mess=rates)
    versions = world.versions(Feed.CT_CARE_HOMES, DAY)
    correction = next(v for v in versions if v.variant.corrections == 1)
    assert timedelta(days=1) <= correction.published_at - versions[0].published_at <= timedelta(days=6)
    header, before = read_rows(world.rendered(Feed.CT_CARE_HOMES, DAY, versions[0].variant))
    _, after = read_rows(world.rendered(Feed.CT_CARE_HOMES, DAY, correction.variant))
    truth = world.ground_truth(Feed.CT_CARE_HOMES, DAY, correction.variant)
    kept = {"CT_Home_ID", "CQC_Location_ID", "ODS_Code", "Home_Name", "Postcode", "Local_Authority", "Last_Updated"}
    changed = [t["source_row"] for t in truth if MessTag.CORRECTED in t["mess"]]
    assert changed and len(before) == len(after)
    for n, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        if n not in changed:
            assert old == new
        else:
            assert all(o == w for name, o, w in zip(header, old, new, strict=True) if name in kept)
    assert sum(before[n - 1] != after[n - 1] for n in changed) >= len(changed) // 2


def test_a_redelivery_publishes_the_same_bytes_again(local_authorities):
    world = World(7, 200, 150, local_authorities, DIRECTORY_AS_OF, mess=MessRates().with_rates(duplicated_delivery=1.0))
    versions = world.versions(Feed.CT_CARE_HOMES, DAY)
    assert versions[-1].redelivery and versions[-1].variant == versions[-2].variant
    truth = world.file_truth(Feed.CT_CARE_HOMES, DAY)
    assert truth["versions"][-1]["sha256"] == truth["versions"][-2]["sha256"] == truth["sha256"]


def test_file_faults_happen_at_about_their_rates(local_authorities):
    world = World(7, 50, 30, local_authorities, DIRECTORY_AS_OF)
    days = [date(2020, 6, 1) + timedelta(days=n) for n in range(3000)]
    counts = Counter()
    for day in days:
        versions = world.versions(Feed.CT_CARE_HOMES, day)
        counts.update(versions[0].variant.file_mess)
        counts["late_correction"] += any(v.variant.corrections for v in versions)
        counts["duplicated_delivery"] += versions[-1].redelivery
    rates = MessRates()
    for kind in [*FileMess, "late_correction", "duplicated_delivery"]:
        expected = getattr(rates, str(kind)) * len(days)
        assert 0.4 * expected <= counts[kind] <= 2.0 * expected + 3, (kind, counts[kind], expected)


def test_a_clean_world_publishes_each_file_once(clean_world):
    assert [v.variant for v in clean_world.versions(Feed.CT_CARE_HOMES, DAY)] == [Variant()]
    assert clean_world.versions(Feed.CQC_UPDATE, date(2020, 12, 5)) == ()


def test_the_server_serves_the_version_published_by_its_clock(worlds):
    world = worlds[FileMess.HEADER_ONLY]
    first_version, reissue = world.versions(Feed.CT_CARE_HOMES, DAY)
    server = SimulatorServer(world, "k", "d")
    try:
        path = f"/exports/ct_care_homes/{DAY.isoformat()}"

        def at(moment: datetime):
            return server.respond(Request("GET", path, headers={"X-API-Key": "k"}, received_at=moment))

        assert at(first_version.published_at - timedelta(seconds=1)).status == 404
        early = at(first_version.published_at)
        late = at(reissue.published_at.astimezone(UTC))
        assert early.body == world.rendered(Feed.CT_CARE_HOMES, DAY, first_version.variant).content
        assert late.body == world.rendered(Feed.CT_CARE_HOMES, DAY).content
        assert early.headers["Last-Modified"] != late.headers["Last-Modified"]
    finally:
        server.stop()
