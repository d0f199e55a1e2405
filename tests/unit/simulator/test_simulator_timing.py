"""National-scale render times, printed for the record (machines differ, so nothing is asserted)."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sim_helpers import DIRECTORY_AS_OF

from careshare.feeds import Feed
from careshare.simulator import World, render_feed

DAYS = {
    Feed.CT_CARE_HOMES: date(2021, 1, 11),
    Feed.CT_HOME_CARE: date(2021, 1, 11),
    Feed.CQC_UPDATE: date(2020, 11, 27),
}


def test_national_render_times(local_authorities, capsys: pytest.CaptureFixture[str]):
    started = time.perf_counter()
    world = World.national(7, local_authorities, DIRECTORY_AS_OF)
    lines = [f"national world: {len(world.population)} locations built in {time.perf_counter() - started:.2f}s"]
    for feed, day in DAYS.items():
        started = time.perf_counter()
        content = render_feed(world, feed, day)
        elapsed = time.perf_counter() - started
        assert content
        rows = content.count(b"\n") - 1
        lines.append(f"{feed.value} {day}: {rows} rows, {len(content) / 1e6:.1f} MB in {elapsed:.3f}s")
        started = time.perf_counter()
        assert render_feed(world, feed, day) == content
        lines.append(f"  cached: {time.perf_counter() - started:.4f}s")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
