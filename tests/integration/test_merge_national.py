"""A national-scale overlap day (2020-12-01: ~15,000 care-home, ~6,500 home-care and ~1,200 CQC rows,
default mess) through the package path without Airflow, checked against the simulator's ground
truth: matching precision must be 100% and recall at least 99.5% of the linkable rows, the winners
must be the rows the truth says win, and a second merge must give byte-identical datasets. Prints
the confusion counts and the merge timings (run with -s to see them)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest

from careshare.datasets import DATASETS
from careshare.merge import directory_day, merge_day
from careshare.publish.formats import parquet_bytes, split_by_council, to_arrow
from careshare.publish.layout import Scope
from careshare_sim import World
from tests.integration.merge_support import (
    FEEDS,
    load_reference,
    local_platform,
    query,
    stage,
    warehouse_database,
)

pytestmark = pytest.mark.slow

DAY = date(2020, 12, 1)
PRECISION = 1.0
RECALL = 0.995


@pytest.fixture(scope="module")
def world(local_authorities) -> World:
    return World.national(7, local_authorities, date(2024, 6, 30))


def current_view(dataset, frame) -> dict[str, bytes]:
    """The hive-view objects the release protocol would write for these warehouse rows."""
    parts = split_by_council(to_arrow(frame, dataset), dataset)
    return {Scope(dataset.name, code).current(DAY): parquet_bytes(table, dataset) for code, table in parts.items()}


def confusion(world: World, matches: dict[tuple[str, int], tuple[str | None, str]]) -> Counter:
    """Per truth row: correct, wrong (a location that is not its own), missed (linkable but
    unmatched), or held at ingestion (never reached the merge); by match method too."""
    directory = set(world.population.location_id)
    counts: Counter = Counter()
    for feed in FEEDS:
        for row in world.ground_truth(feed, DAY):
            truth, linkable = row["location_id"], row["location_id"] in directory
            if (feed, row["source_row"]) not in matches:
                counts["held at ingestion"] += 1
                continue
            location, method = matches[(feed, row["source_row"])]
            if location is None:
                counts["missed" if linkable else "unlinkable, unmatched"] += 1
            elif location == truth:
                counts["correct"] += 1
                counts[f"correct by {method}"] += 1
            else:
                counts["wrong"] += 1
                counts[f"wrong by {method}"] += 1
    return counts


def datasets_bytes(platform) -> dict[str, bytes]:
    objects = {}
    for dataset in DATASETS.values():
        frame = platform.warehouse.query_frame(f"publish/{dataset.name}", directory_day(platform.warehouse, DAY))
        objects |= current_view(dataset, frame)
    return objects


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_national_day_merges_as_the_ground_truth_says_in_seconds(world, backend, request, tmp_path, capsys):
    with warehouse_database(backend, tmp_path, request) as url:
        platform = local_platform(url, tmp_path)
        load_reference(platform, world)
        started = time.perf_counter()
        for feed in FEEDS:
            stage(platform, feed, DAY, world.rendered(feed, DAY).content)
        staged_in = time.perf_counter() - started

        first = merge_day(platform, DAY)
        before = datasets_bytes(platform)
        second = merge_day(platform, DAY)
        assert datasets_bytes(platform) == before, "the same inputs must give byte-identical datasets"

        matches = {
            (feed, row): (location, method)
            for feed, row, location, method in query(
                platform,
                "SELECT feed, source_row, location_id, match_method FROM stg_match WHERE report_date = :d",
                d=DAY,
            )
        }
        counts = confusion(world, matches)
        winners = query(platform, "SELECT source_feed, source_row FROM location_daily WHERE report_date = :d", d=DAY)
        losers = query(
            platform,
            "SELECT feed, source_row, winner_feed, winner_source_row, reason"
            " FROM superseded_row WHERE report_date = :d",
            d=DAY,
        )
        platform.warehouse.engine.dispose()

    correct, wrong, missed = counts["correct"], counts["wrong"], counts["missed"]
    precision, recall = correct / (correct + wrong), correct / (correct + wrong + missed)
    with capsys.disabled():
        delivered = sum(a.delivered for a in first.accounts)
        print(f"\n[{backend}] national day {DAY}: staged {delivered} rows in {staged_in:.1f}s")
        print(f"[{backend}] merge_day: {first.seconds:.2f}s, again {second.seconds:.2f}s; matches {first.matches}")
        print(f"[{backend}] confusion: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print(f"[{backend}] precision {precision:.4%}, recall {recall:.4%} of the linkable rows")
    assert precision >= PRECISION and recall >= RECALL
    assert counts["correct by name_postcode"] > 0 and counts["correct by ods_code"] > 0

    truth = {(feed, row["source_row"]): row for feed in FEEDS for row in world.ground_truth(feed, DAY)}
    assert all(truth[w]["duplicate_of"] is None for w in winners), "a row the truth says lost was published"
    within_feed = [(f, r, wr) for f, r, wf, wr, _ in losers if wf == f]
    assert all(truth[(f, r)]["duplicate_of"] == wr for f, r, wr in within_feed)
    across = {(f, wf, reason) for f, _, wf, _, reason in losers if wf != f}
    assert across == {("cqc_update", "ct_home_care", "source precedence")}
    in_ct = {row["location_id"] for row in world.ground_truth("ct_home_care", DAY)}
    cqc_published = [truth[w]["location_id"] for w in winners if w[0] == "cqc_update"]
    assert cqc_published and not set(cqc_published) & in_ct
