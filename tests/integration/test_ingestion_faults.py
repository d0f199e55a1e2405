"""Every fault of the export and directory APIs, injected on demand through the simulator's fault
plan, against the package's fetch, archive, load and merge: each test asserts the exact outcome
and that every row delivered is kept (published + quarantined + superseded). The module runs once
per server mode of the simulator (HEAD refused, compression, redirects, validators or none), as
the platform must accept any server that follows SOURCES.md."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from careshare.ingest import FeedDayFailed
from careshare.reference_load import load_directory
from careshare.sources import delivery
from careshare.sources.http import RetryPolicy, SourceAuthError, SourceUnavailable
from careshare.status import CheckOutcome, FeedDayStatus, FetchStatus
from careshare.storage import open_store
from careshare_sim import FaultKind, World
from tests.integration.ingestion_harness import DIRECTORY_AS_OF, FAST, MODES, module_harness, new_platform

pytestmark = pytest.mark.slow
CT = "ct_care_homes"
# How a recheck finds a file unchanged, by mode: (method, status) of the requests of its export.
UNCHANGED_ASKED = {
    "default": [("HEAD", 200)],  # HEAD shows the known sha256: no body moves
    "head-405-gzip-etag": [("GET", 304)],  # a conditional GET with the ETag given before
    "head-501-deflate-bare-redirect": [("GET", 302)],  # the whole file, from the other host, compared
}
CORRECTION_ASKED = {
    "default": [("HEAD", 200), ("GET", 200)],  # HEAD shows another sha256; a GET if modified since
    "head-405-gzip-etag": [("GET", 200)],  # the ETag no longer matches
    "head-501-deflate-bare-redirect": [("GET", 302)],
}


@pytest.fixture(scope="module", params=list(MODES))
def mode(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def harness(request, mode, tmp_path_factory, s3_client, local_authorities):
    tmp = tmp_path_factory.mktemp(f"faults-{mode}")
    world = World(21, 150, 100, local_authorities, DIRECTORY_AS_OF)
    with (
        pytest.MonkeyPatch.context() as patch,
        module_harness(request, tmp, s3_client, world, modes=MODES[mode]) as h,
    ):
        patch.setattr(delivery, "HEAD_REFUSED", delivery.HeadRefusals())  # a later server may reuse the port
        yield h


@pytest.fixture(autouse=True)
def fresh_plan(harness):
    harness.plan.clear()
    harness.server.forget_exchanges()
    harness.waits.clear()
    harness.clock.now = None
    yield harness.plan


def refused_head(exchange) -> bool:
    return exchange.request.method == "HEAD" and exchange.status in (405, 501)


def export_requests(harness, path: str) -> list[tuple[str, int]]:
    """(method, status) of each request of `path`, but a refused HEAD (asked once per server, whichever day)."""
    exchanges = harness.server.exchanges()
    return [(e.request.method, e.status) for e in exchanges if e.request.path == path and not refused_head(e)]


def refused_heads(harness) -> int:
    return sum(refused_head(e) for e in harness.server.exchanges())


def keys_sent_to_the_file_host(harness) -> list[str]:
    files = [e.request for e in harness.server.exchanges() if e.request.path.startswith("/files/")]
    return [r.header("X-API-Key") for r in files if r.header("X-API-Key") is not None]


def served_sha(harness, feed, day) -> str:
    return harness.world.rendered(feed, day).file.sha256


def test_rate_limit_is_waited_out_as_retry_after_says(harness, fresh_plan):
    day = date(2020, 11, 2)
    fresh_plan.add(kind="rate_limited", feed=CT, report_date=day, times=2, retry_after=7)
    outcome = harness.fetch(CT, day)
    assert (outcome.status, outcome.sha256) == (FetchStatus.ARCHIVED, served_sha(harness, CT, day))
    assert harness.waits == [7.0, 7.0]
    assert fresh_plan.count(FaultKind.RATE_LIMITED) == 2
    assert harness.load(CT, day).status == FeedDayStatus.LOADED
    harness.merge(day)
    harness.assert_every_row_kept(day, expected_feeds={CT})


def test_server_errors_back_off_exponentially_then_succeed(harness, fresh_plan):
    day = date(2020, 11, 3)
    fresh_plan.add(kind="server_error", feed=CT, report_date=day, times=3, status=502)
    assert harness.fetch(CT, day).status == FetchStatus.ARCHIVED
    assert harness.waits == [0.01, 0.02, 0.04]
    assert len(harness.registry(CT, day)) == 1


def test_server_errors_that_do_not_stop_give_up_naming_the_url_and_keep_nothing(harness, fresh_plan):
    day = date(2020, 11, 4)
    fresh_plan.add(kind="server_error", feed=CT, report_date=day, status=503)
    with pytest.raises(SourceUnavailable) as caught:
        harness.fetch(CT, day)
    assert f"/exports/{CT}/{day.isoformat()}: gave up after {FAST.attempts} attempts" in str(caught.value)
    assert "HTTP 503" in str(caught.value)
    assert harness.registry(CT, day).empty and harness.archived(CT, day) == {}
    assert harness.feed_day(CT, day) == {}


def test_a_slow_answer_times_out_and_is_asked_again(harness, fresh_plan):
    day = date(2020, 11, 5)
    fresh_plan.add(kind="slow", feed=CT, report_date=day, times=1, delay_seconds=1.5)
    patient_only_briefly = RetryPolicy(attempts=3, backoff_seconds=0.01, timeout_seconds=(2.0, 0.4))
    delivery = harness.endpoint(patient_only_briefly).fetch(CT, day)
    assert delivery is not None and delivery.sha256 == served_sha(harness, CT, day)
    assert fresh_plan.count(FaultKind.SLOW) == 1 and harness.waits == [0.01]


@pytest.mark.parametrize("kind", [FaultKind.CUT_SHORT, FaultKind.CORRUPTED])
def test_a_body_cut_short_is_retried_and_never_archived(harness, fresh_plan, kind):
    day = date(2020, 11, 9) if kind is FaultKind.CUT_SHORT else date(2020, 11, 10)
    fresh_plan.add(kind=kind, feed=CT, report_date=day, times=2, keep_fraction=0.6)
    outcome = harness.fetch(CT, day)
    assert outcome.status == FetchStatus.ARCHIVED and fresh_plan.count(kind) == 2
    archived = harness.archived(CT, day)
    assert list(archived.values()) == [harness.world.rendered(CT, day).content]
    registry = harness.registry(CT, day)
    assert registry["sha256"].tolist() == [served_sha(harness, CT, day)]
    assert harness.load(CT, day).status == FeedDayStatus.LOADED
    harness.merge(day)
    harness.assert_every_row_kept(day, expected_feeds={CT})


def test_a_refused_key_stops_at_once(harness, fresh_plan):
    with pytest.raises(SourceAuthError, match="refused the key"):
        harness.endpoint(key="wrong").fetch(CT, date(2020, 11, 11))
    assert harness.waits == [] and len(fresh_plan.seen) == 1


def test_a_file_published_late_is_waited_for_then_taken(harness, fresh_plan):
    day = date(2020, 11, 12)
    fresh_plan.add(kind="not_published", feed=CT, report_date=day, times=2)
    assert [harness.fetch(CT, day).status for _ in range(3)] == [
        FetchStatus.WAITING,
        FetchStatus.WAITING,
        FetchStatus.ARCHIVED,
    ]
    assert harness.waits == []  # a 404 is an answer, not a failure: the sensor waits, not the client
    assert len(harness.registry(CT, day)) == 1


def test_a_day_the_feed_is_not_collected_is_an_expected_absence(harness):
    saturday = date(2020, 11, 14)
    outcome = harness.fetch("cqc_update", saturday)
    assert (outcome.status, outcome.message) == (FeedDayStatus.ABSENT, "cqc_update is collected Monday to Friday only")
    assert harness.feed_day("cqc_update", saturday)["status"] == FeedDayStatus.ABSENT


def test_the_same_file_twice_is_a_no_op(harness, mode, tmp_path):
    day = date(2020, 11, 16)
    first = harness.fetch(CT, day)
    harness.load(CT, day)
    before = harness.registry(CT, day)
    landing = open_store(str(tmp_path / "landing"))
    landing.put(f"{CT}/{day.isoformat()}.csv", harness.world.rendered(CT, day).content)
    again = harness.fetch(CT, day, landing=landing, http=False)
    assert again.sha256 == first.sha256
    assert harness.registry(CT, day).equals(before)
    assert len(harness.archived(CT, day)) == 1
    harness.server.forget_exchanges()
    assert [c.status for c in harness.recheck(CT, day + timedelta(days=1)) if c.report_date == day.isoformat()] == [
        CheckOutcome.UNCHANGED
    ]
    assert export_requests(harness, f"/exports/{CT}/{day.isoformat()}") == UNCHANGED_ASKED[mode]
    assert refused_heads(harness) <= 1  # a server that refused HEAD is not asked with it again
    assert harness.registry(CT, day).equals(before)


def test_a_corrected_file_supersedes_the_old_delivery_and_the_day_is_rebuilt(harness, fresh_plan):
    day = date(2020, 11, 17)
    harness.ingest(day, (CT,))
    old = harness.feed_day(CT, day)["sha256"]
    harness.merge(day)
    before = harness.published(day).set_index("location_id")
    fresh_plan.add(kind="corrected", feed=CT, report_date=day)
    checks = harness.recheck(CT, day + timedelta(days=2))
    corrected = [c for c in checks if c.report_date == day.isoformat()]
    assert [(c.status, c.replaced) for c in corrected] == [(CheckOutcome.CORRECTED, old)]
    new = corrected[0].sha256
    registry = harness.registry(CT, day).set_index("sha256")
    assert registry.loc[old, ["status", "superseded_by"]].tolist() == ["superseded", new]
    assert registry.loc[new, "status"] == FeedDayStatus.LOADED and harness.feed_day(CT, day)["sha256"] == new
    harness.merge(day)
    after = harness.published(day).set_index("location_id")
    assert set(after["source_sha256"]) == {new}
    changed = [t for t in harness.world.ground_truth(CT, day, fresh_plan.replacements[new]) if "corrected" in t["mess"]]
    assert changed
    moved = [t["location_id"] for t in changed if t["location_id"] in after.index.intersection(before.index)]
    assert any(before.loc[loc, "staff_employed"] != after.loc[loc, "staff_employed"] for loc in moved)
    harness.assert_every_row_kept(day, expected_feeds={CT})
    assert [c.status for c in harness.recheck(CT, day + timedelta(days=3)) if c.report_date == day.isoformat()] == [
        CheckOutcome.UNCHANGED
    ]
    assert keys_sent_to_the_file_host(harness) == []


def test_a_correction_is_found_in_every_mode_by_the_request_the_server_allows(harness, mode):
    day = date(2020, 11, 20)
    harness.ingest(day, (CT,))
    old = harness.feed_day(CT, day)["sha256"]
    harness.plan.add(kind="corrected", feed=CT, report_date=day)
    harness.server.forget_exchanges()
    [check] = [c for c in harness.recheck(CT, day + timedelta(days=1)) if c.report_date == day.isoformat()]
    assert (check.status, check.replaced) == (CheckOutcome.CORRECTED, old) and harness.feed_day(CT, day)[
        "sha256"
    ] == check.sha256
    assert export_requests(harness, f"/exports/{CT}/{day.isoformat()}") == CORRECTION_ASKED[mode]
    assert keys_sent_to_the_file_host(harness) == []


def test_a_correction_that_cannot_be_used_is_rejected_and_the_day_keeps_its_data(harness, fresh_plan):
    day = date(2020, 11, 18)
    harness.ingest(day, (CT,))
    kept = harness.feed_day(CT, day)["sha256"]
    harness.merge(day)
    fresh_plan.add(kind="file_mess", feed=CT, report_date=day, file_mess="header_only")
    [check] = [c for c in harness.recheck(CT, day + timedelta(days=1)) if c.report_date == day.isoformat()]
    assert check.status == CheckOutcome.REJECTED
    assert "header only: no data rows" in check.message and check.message.endswith("[rule file.no_rows]")
    assert f"the day stays built from delivery {kept}" in check.message
    registry = harness.registry(CT, day).set_index("sha256")
    assert registry.loc[kept, "status"] == FeedDayStatus.LOADED and registry.loc[check.sha256, "status"] == "rejected"
    assert harness.feed_day(CT, day)["sha256"] == kept
    harness.merge(day)
    assert set(harness.published(day)["source_sha256"]) == {kept}
    harness.assert_every_row_kept(day, expected_feeds={CT})


def test_directory_faults_are_retried_and_the_load_is_complete(harness, fresh_plan, tmp_path, s3_client):
    ids = harness.world.population.location_id
    fresh_plan.add(kind="rate_limited", target="directory", path="/locations$", times=1, retry_after=2)
    fresh_plan.add(kind="server_error", target="directory", path=f"/locations/{ids[0]}$", times=2)
    fresh_plan.add(kind="cut_short", target="directory", path=f"/locations/{ids[1]}$", times=1)
    fresh_plan.add(kind="corrupted", target="directory", path=f"/locations/{ids[2]}$", times=1)
    fresh_plan.add(kind="slow", target="directory", path=f"/locations/{ids[3]}$", times=1, delay_seconds=1.0)
    providers = harness.world.population.providers
    fresh_plan.add(kind="server_error", target="directory", path=f"/providers/{providers.provider_id[0]}$", times=1)
    platform = new_platform(tmp_path, f"sqlite:///{tmp_path / 'directory.db'}", s3_client)
    client = harness.directory_client(RetryPolicy(attempts=4, backoff_seconds=0.01, timeout_seconds=(2.0, 0.5)))
    summary = load_directory(platform, client, harness.clock())
    names = platform.warehouse.query_frame("reference/current_provider_names")
    platform.warehouse.engine.dispose()
    assert summary["locations_fetched"] == len(harness.world.population)
    assert summary["providers_unknown"] == 0
    assert dict(zip(names["provider_id"], names["name"], strict=True)) == dict(
        zip(providers.provider_id, providers.name, strict=True)
    )
    assert {f.kind for f in fresh_plan.fired} == {
        FaultKind.RATE_LIMITED,
        FaultKind.SERVER_ERROR,
        FaultKind.CUT_SHORT,
        FaultKind.CORRUPTED,
        FaultKind.SLOW,
    }
    assert 2.0 in harness.waits and len(harness.waits) == 7


def test_unusable_first_delivery_fails_only_its_feed(harness, fresh_plan):
    day = date(2020, 12, 2)
    fresh_plan.add(kind="file_mess", feed=CT, report_date=day, file_mess="truncated_file")
    results = harness.ingest(day)
    assert isinstance(results[CT], FeedDayFailed) and results[CT].rule == "file.truncated"
    assert {f: harness.feed_day(f, day)["status"] for f in ("ct_home_care", "cqc_update")} == {
        "ct_home_care": FeedDayStatus.LOADED,
        "cqc_update": FeedDayStatus.LOADED,
    }
    harness.merge(day)
    harness.assert_every_row_kept(day, expected_feeds={"ct_home_care", "cqc_update"})
