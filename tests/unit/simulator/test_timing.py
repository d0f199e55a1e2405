"""The national world renders every feed's file whole and caches it; the times are printed for the
record only (speed is measured by scripts/bench.py, not asserted here)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from careshare.feeds import Feed
from careshare_sim import World, render_feed
from careshare_sim.world import NATIONAL_CARE_HOMES, NATIONAL_COMMUNITY_SERVICES
from tests.unit.simulator.sim_helpers import DIRECTORY_AS_OF

DAYS = {
    Feed.CT_CARE_HOMES: date(2021, 1, 11),
    Feed.CT_HOME_CARE: date(2021, 1, 11),
    Feed.CQC_UPDATE: date(2020, 11, 27),
}


def test_the_national_world_renders_each_feed_whole_and_caches_it(
    local_authorities, capsys: pytest.CaptureFixture[str]
):
    started = time.perf_counter()
    world = World.national(7, local_authorities, DIRECTORY_AS_OF)
    built = time.perf_counter() - started
    lines = [f"national world: {len(world.population)} locations built in {built:.2f}s"]
    assert len(world.population) > NATIONAL_CARE_HOMES + NATIONAL_COMMUNITY_SERVICES  # Shared Lives on top
    for feed, day in DAYS.items():
        started = time.perf_counter()
        content = render_feed(world, feed, day)
        elapsed = time.perf_counter() - started
        assert content
        rows = content.count(b"\n") - 1
        lines.append(f"{feed.value} {day}: {rows} rows, {len(content) / 1e6:.1f} MB in {elapsed:.3f}s")
        assert rows == world.rendered(feed, day).file.rows > 0
        started = time.perf_counter()
        again = render_feed(world, feed, day)
        cached = time.perf_counter() - started
        lines.append(f"  cached: {cached:.4f}s")
        assert again is content, "the second render is the cached file"
    with capsys.disabled():
        print("\n" + "\n".join(lines))
