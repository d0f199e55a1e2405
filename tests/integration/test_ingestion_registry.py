"""The registry against the real world: the newest receipt builds a day (a source reverting a
correction included), files that come late (after an absence, an expiry, or beyond the daily
recheck window), a source withdrawn or unreachable, two loads of a day racing, an unexpected
failure while loading, an oversized body, and the landing route's .sha256 file. Each runs on
SQLite with the simulator's default server and on PostgreSQL with a server that refuses HEAD and
compresses its answers."""

from __future__ import annotations

import gzip
import hashlib
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from careshare import ingest
from careshare.ingest import FeedDayFailed, archive_delivery, load_feed_day
from careshare.pipeline import fetch_feed_day, held_back
from careshare.quality.report_figures import rechecks
from careshare.readiness import readiness
from careshare.sources import delivery as delivery_module
from careshare.sources.delivery import Delivery, FeedEndpoint
from careshare.status import CheckOutcome, FeedDayStatus, FetchStatus
from careshare.storage import open_store
from careshare_sim import ServerModes, World
from tests.integration.ingestion_harness import DIRECTORY_AS_OF, FAST, module_harness
from tests.unit.sources.source_servers import Reply, serving

pytestmark = pytest.mark.slow
CT, CQC = "ct_care_homes", "cqc_update"


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("sqlite", ServerModes()), id="sqlite-default"),
        pytest.param(
            ("postgresql", ServerModes(head="405", compression="gzip", etag=True)),
            id="postgresql-head-405-gzip-etag",
            marks=pytest.mark.postgres,
        ),
    ],
)
def harness(request, tmp_path_factory, s3_client, local_authorities):
    backend, modes = request.param
    tmp = tmp_path_factory.mktemp(f"registry-{backend}")
    world = World(21, 150, 100, local_authorities, DIRECTORY_AS_OF)
    with (
        pytest.MonkeyPatch.context() as patch,
        module_harness(request, tmp, s3_client, world, backend=backend, modes=modes) as h,
    ):
        patch.setattr(delivery_module, "HEAD_REFUSED", delivery_module.HeadRefusals())
        yield h


@pytest.fixture(autouse=True)
def fresh_plan(harness):
    harness.plan.clear()
    harness.clock.now = None
    yield harness.plan


def checks_of(checks, day: date):
    return [check for check in checks if check.report_date == day.isoformat()]


def receipts(harness, feed: str, day: date) -> list[str]:
    rows = harness.frame(
        "SELECT sha256 FROM delivery_receipt WHERE feed = :feed AND report_date = :day ORDER BY received_at",
        feed=feed,
        day=day,
    )
    return rows["sha256"].tolist()


def test_a_source_reverting_a_correction_rebuilds_the_day_from_the_bytes_it_sent_before(harness, fresh_plan):
    day = date(2020, 9, 1)
    harness.ingest(day, (CT,))
    first = harness.feed_day(CT, day)["sha256"]
    fresh_plan.add(kind="corrected", feed=CT, report_date=day)
    [corrected] = checks_of(harness.recheck(CT, day + timedelta(days=1)), day)
    assert (corrected.status, corrected.replaced) == (CheckOutcome.CORRECTED, first)
    fresh_plan.clear()  # the source serves its first file again

    [reverted] = checks_of(harness.recheck(CT, day + timedelta(days=2)), day)

    assert (reverted.status, reverted.sha256, reverted.replaced) == (CheckOutcome.CORRECTED, first, corrected.sha256)
    assert harness.feed_day(CT, day)["sha256"] == first
    assert set(harness.staged(CT, day)["source_sha256"]) == {first}
    registry = harness.registry(CT, day).set_index("sha256")
    assert registry.loc[first, "status"] == FeedDayStatus.LOADED
    assert registry.loc[corrected.sha256, ["status", "superseded_by"]].tolist() == ["superseded", first]
    assert receipts(harness, CT, day) == [first, corrected.sha256, first]
    [again] = checks_of(harness.recheck(CT, day + timedelta(days=3)), day)
    assert again.status == "unchanged"


def test_a_file_for_a_date_recorded_absent_is_loaded_when_it_appears(harness, tmp_path):
    saturday = date(2020, 6, 6)  # the CQC form is weekdays only: no file is normal
    landing = open_store(str(tmp_path / "landing"))
    assert fetch_feed_day(harness.platform, CQC, saturday, landing=landing).status == FeedDayStatus.ABSENT
    assert harness.feed_day(CQC, saturday)["status"] == FeedDayStatus.ABSENT
    late_file = harness.world.rendered(CQC, saturday - timedelta(days=1)).content
    landing.put(f"{CQC}/{saturday.isoformat()}.csv", late_file)

    [check] = checks_of(harness.recheck(CQC, saturday + timedelta(days=2), landing=landing), saturday)

    assert (check.status, check.sha256) == (CheckOutcome.LATE, hashlib.sha256(late_file).hexdigest())
    assert harness.feed_day(CQC, saturday)["status"] == FeedDayStatus.LOADED
    assert "outside the cqc_update collection" in harness.feed_day(CQC, saturday)["message"]
    assert harness.registry(CQC, saturday)["status"].tolist() == [FeedDayStatus.LOADED]


def test_a_date_whose_file_never_came_expires_settles_and_loads_the_file_when_it_comes(harness, fresh_plan):
    day = date(2020, 9, 8)
    fresh_plan.add(kind="not_published", feed=CT, report_date=day)
    just_now = datetime.now(UTC) - timedelta(hours=1)
    assert fetch_feed_day(harness.platform, CT, day, endpoint=harness.endpoint(), waiting_since=just_now).status == (
        FetchStatus.WAITING
    )
    assert harness.feed_day(CT, day) == {}

    long_ago = datetime.now(UTC) - timedelta(hours=19)
    outcome = fetch_feed_day(harness.platform, CT, day, endpoint=harness.endpoint(), waiting_since=long_ago)

    assert outcome.status == FeedDayStatus.EXPIRED and "published without it" in outcome.message
    assert (harness.feed_day(CT, day)["status"], harness.feed_day(CT, day)["rule"]) == (
        FeedDayStatus.EXPIRED,
        "delivery.expired",
    )
    harness.ingest(day, (CQC,))
    assert readiness(harness.platform, day).ready, "the date settles without the expired feed"
    gate = held_back({"status": FeedDayStatus.EXPIRED, "message": outcome.message}, [])
    assert gate == [f"{outcome.message}: the day is held back"]

    fresh_plan.clear()
    [check] = checks_of(harness.recheck(CT, day + timedelta(days=1)), day)
    assert check.status == CheckOutcome.LATE
    assert harness.feed_day(CT, day)["status"] == FeedDayStatus.LOADED
    harness.merge(day)
    harness.assert_every_row_kept(day, expected_feeds={CT, CQC})


def test_a_correction_older_than_the_daily_window_is_found_by_the_sunday_recheck(harness, fresh_plan):
    day = date(2020, 9, 15)  # a Tuesday
    harness.ingest(day, (CT,))
    fresh_plan.add(kind="corrected", feed=CT, report_date=day)
    weekday_run, sunday_run = date(2020, 9, 25), date(2020, 9, 27)
    assert sunday_run.weekday() == 6

    assert checks_of(harness.recheck(CT, weekday_run), day) == [], "ten days back is past the daily window"
    [check] = checks_of(harness.recheck(CT, sunday_run), day)

    assert check.status == CheckOutcome.CORRECTED
    assert harness.feed_day(CT, day)["sha256"] == check.sha256


def test_a_rerun_after_the_source_withdrew_its_file_rebuilds_the_day_from_the_archive(harness, fresh_plan):
    day = date(2020, 9, 22)
    harness.ingest(day, (CT,))
    loaded = harness.feed_day(CT, day)["sha256"]
    fresh_plan.add(kind="not_published", feed=CT, report_date=day)

    outcome = harness.fetch(CT, day)

    assert (outcome.status, outcome.sha256) == (FetchStatus.ARCHIVED, loaded)
    assert "rebuilt from archived delivery" in outcome.message
    assert harness.load(CT, day).status == FeedDayStatus.LOADED and harness.feed_day(CT, day)["sha256"] == loaded


def test_a_recheck_that_cannot_reach_the_source_shows_in_the_gate_and_the_report(harness, fresh_plan):
    day, run_date = date(2020, 9, 29), date(2020, 9, 30)
    harness.ingest(day, (CT,))
    fresh_plan.add(kind="server_error", feed=CT, report_date=day, status=503)

    checks = harness.recheck(CT, run_date)

    [check] = checks_of(checks, day)
    assert check.status == CheckOutcome.UNAVAILABLE and "HTTP 503" in check.message
    problems = held_back({"status": FeedDayStatus.LOADED, "message": None}, [c.__dict__ for c in checks])
    assert [p for p in problems if day.isoformat() in p] == [f"recheck of {day.isoformat()}: {check.message}"]
    found = [c for c in rechecks(harness.platform, run_date)["found"] if c["report_date"] == day.isoformat()]
    assert [(c["feed"], c["outcome"], c["needs_attention"]) for c in found] == [(CT, CheckOutcome.UNAVAILABLE, True)]


def edited(content: bytes, old: bytes, new: bytes) -> bytes:
    assert old in content
    return content.replace(old, new, 1)


@pytest.mark.parametrize("newer_loads_first", [True, False], ids=["newer-load-finishes-first", "newer-never-loaded"])
def test_two_loads_of_a_day_end_built_from_the_newest_receipt(harness, monkeypatch, newer_loads_first):
    day = date(2020, 10, 6) if newer_loads_first else date(2020, 10, 13)
    older_bytes = harness.world.rendered(CT, day).content
    newer_bytes = edited(older_bytes, b",Yes,", b",No,")
    older = archive_delivery(harness.platform, Delivery(CT, day, older_bytes, "landing", "race/older"))
    reached, release = threading.Event(), threading.Event()
    conform = ingest.conform

    def held_conform(parsed, spec, report_date, sha256):
        if sha256 == older.sha256 and not reached.is_set():
            reached.set()
            assert release.wait(60)
        return conform(parsed, spec, report_date, sha256)

    monkeypatch.setattr(ingest, "conform", held_conform)
    outcome: list = []
    slow = threading.Thread(target=lambda: outcome.append(load_feed_day(harness.platform, CT, day)))
    slow.start()
    assert reached.wait(60), "the older load is under way"
    newer = archive_delivery(harness.platform, Delivery(CT, day, newer_bytes, "landing", "race/newer"))
    if newer_loads_first:
        assert load_feed_day(harness.platform, CT, day).sha256 == newer.sha256
    release.set()
    slow.join(60)

    assert [result.sha256 for result in outcome] == [newer.sha256], "the older load loaded the newer receipt"
    assert harness.feed_day(CT, day)["sha256"] == newer.sha256
    assert set(harness.staged(CT, day)["source_sha256"]) == {newer.sha256}
    registry = harness.registry(CT, day).set_index("sha256")
    assert registry.loc[newer.sha256, "status"] == FeedDayStatus.LOADED
    assert registry.loc[older.sha256, ["status", "superseded_by"]].tolist() == ["superseded", newer.sha256]


def test_an_unexpected_failure_while_loading_settles_the_day_as_failed_naming_the_file(harness, monkeypatch):
    day = date(2020, 10, 20)
    fetched = harness.fetch(CT, day)

    def broken(*_args, **_kwargs):
        raise RuntimeError("validation engine crashed")

    monkeypatch.setattr(ingest, "validate_feed_day", broken)
    with pytest.raises(FeedDayFailed) as failure:
        load_feed_day(harness.platform, CT, day)

    assert failure.value.rule == "load.unexpected"
    message = str(failure.value)
    assert ingest.archive_key(CT, day, fetched.sha256) in message
    assert "RuntimeError: validation engine crashed" in message
    feed_day = harness.feed_day(CT, day)
    assert (feed_day["status"], feed_day["rule"]) == (FeedDayStatus.FAILED, "load.unexpected")
    assert harness.registry(CT, day)["status"].tolist() == ["rejected"]


def test_a_body_over_the_size_limit_fails_its_day_and_the_date_settles(harness):
    day = date(2020, 10, 27)
    bomb = gzip.compress(b"0" * (65 * 1024 * 1024), mtime=0)
    with serving(lambda _request: Reply(200, bomb, {"Content-Encoding": "gzip"})) as server:
        endpoint = FeedEndpoint(server.base_url, "key", FAST)
        outcome = fetch_feed_day(harness.platform, CT, day, endpoint=endpoint)

    assert outcome.status == FeedDayStatus.FAILED and "limit" in outcome.message
    feed_day = harness.feed_day(CT, day)
    assert (feed_day["status"], feed_day["rule"]) == (FeedDayStatus.FAILED, "file.too_large")
    assert harness.registry(CT, day).empty, "nothing over the limit is held or archived"


@pytest.mark.parametrize("sidecar", ["matching", "none", "of-the-whole-file"])
def test_a_landing_file_is_checked_against_its_sha256_file(harness, tmp_path, sidecar):
    """The landed file lacks its final line end: a matching .sha256 proves it whole; without one
    its last record may be cut short; a file a row short of what its .sha256 declares is refused."""
    day = {"matching": date(2020, 11, 3), "none": date(2020, 11, 10), "of-the-whole-file": date(2020, 11, 17)}[sidecar]
    whole = harness.world.rendered(CT, day).content.rstrip(b"\r\n")
    landed = whole[: whole.rindex(b"\n") + 1] if sidecar == "of-the-whole-file" else whole
    landing = open_store(str(tmp_path / "landing"))
    landing.put(f"{CT}/{day.isoformat()}.csv", landed)
    if sidecar != "none":
        landing.put(f"{CT}/{day.isoformat()}.csv.sha256", f"{hashlib.sha256(whole).hexdigest()}  {day}.csv\n".encode())

    assert harness.fetch(CT, day, landing=landing, http=False).status == FetchStatus.ARCHIVED
    result = harness.load(CT, day)

    unterminated = harness.quarantine(CT, day).query("rule == 'parse.last_record_unterminated'")
    if sidecar == "matching":
        assert result.status == FeedDayStatus.LOADED and unterminated.empty
    elif sidecar == "none":
        assert result.status == FeedDayStatus.LOADED
        assert unterminated["source_row"].tolist() == [result.rows_delivered]
        assert "may have been cut short" in unterminated["message"].iloc[0]
    else:
        assert isinstance(result, FeedDayFailed) and result.rule == "file.checksum"
        assert f"declares {hashlib.sha256(whole).hexdigest()}" in str(result)
        assert harness.feed_day(CT, day)["status"] == FeedDayStatus.FAILED


def test_the_raw_archive_is_written_only_if_absent_and_an_altered_object_is_refused(harness):
    day = date(2020, 11, 24)
    content = harness.world.rendered(CT, day).content
    key = ingest.archive_key(CT, day, hashlib.sha256(content).hexdigest())
    assert harness.platform.raw_archive.put(key, b"tampered", if_absent=True)

    with pytest.raises(ingest.ArchiveAltered, match="the raw archive was altered"):
        archive_delivery(harness.platform, Delivery(CT, day, content, "landing", "tamper/test"))

    assert harness.platform.raw_archive.get(key) == b"tampered", "a conditional write never replaces an object"
    assert harness.registry(CT, day).empty
