"""The clients against the simulator in each of its server modes, over real HTTP: whatever a
server within SOURCES.md does, the file comes through and a correction is found."""

from __future__ import annotations

from datetime import date

import pytest
from tests.integration.ingestion_harness import MODES

from careshare.sources.cqc_directory import DirectoryClient
from careshare.sources.delivery import FeedEndpoint, Known
from careshare.sources.http import RetryPolicy
from careshare_sim import FaultPlan, SimulatorServer, World
from careshare_sim.routes import EXPORT_KEY_HEADER

KEY, DIRECTORY_KEY = "feeds-secret", "directory-secret"
DAY = date(2020, 12, 1)
PATH = f"/exports/ct_care_homes/{DAY.isoformat()}"
QUICK = RetryPolicy(attempts=3, backoff_seconds=0.01, timeout_seconds=(2.0, 10.0))
# What asking again for a known, unchanged file costs: (method, status) of each request of its export.
UNCHANGED_ASKED = {
    "default": [("HEAD", 200)],  # HEAD shows the known sha256
    "head-405-gzip-etag": [("HEAD", 405), ("GET", 304)],  # a conditional GET
    "head-501-deflate-bare-redirect": [("HEAD", 501), ("GET", 302)],  # the whole file, from the other host
}


@pytest.fixture(scope="module")
def world(local_authorities) -> World:
    return World(3, 60, 40, local_authorities, date(2024, 6, 30))


@pytest.fixture(params=list(MODES))
def mode(request) -> str:
    return request.param


@pytest.fixture
def server(mode, world):
    with SimulatorServer(world, KEY, DIRECTORY_KEY, faults=FaultPlan(), modes=MODES[mode]) as running:
        yield running


def endpoint(server: SimulatorServer) -> FeedEndpoint:
    return FeedEndpoint(server.base_url, KEY, QUICK, sleep=lambda _s: pytest.fail("no retry expected"))


def export_requests(server: SimulatorServer) -> list[tuple[str, int]]:
    return [(e.request.method, e.status) for e in server.exchanges() if e.request.path == PATH]


def test_the_file_comes_through_in_every_mode(server, world):
    delivery = endpoint(server).fetch("ct_care_homes", DAY)
    assert delivery is not None and delivery.data == world.rendered("ct_care_homes", DAY).content
    assert (delivery.etag is not None) is server.modes.etag
    assert (delivery.last_modified is not None) is server.modes.last_modified
    files_host = [e.request for e in server.exchanges() if e.request.path.startswith("/files/")]
    assert len(files_host) == int(server.modes.redirect_exports)
    assert all(r.header(EXPORT_KEY_HEADER) is None and r.header("Host").startswith("localhost:") for r in files_host)


def test_an_unchanged_file_costs_as_little_as_the_server_allows(mode, server):
    first = endpoint(server).fetch("ct_care_homes", DAY)
    known = Known(first.sha256, first.etag, first.last_modified)
    server.forget_exchanges()
    again = endpoint(server).fetch_if_changed("ct_care_homes", DAY, known)
    assert export_requests(server) == UNCHANGED_ASKED[mode]
    assert again is None or again.sha256 == first.sha256  # the same bytes from a bare server: the caller compares
    server.forget_exchanges()
    endpoint(server).fetch_if_changed("ct_care_homes", DAY, known)
    refused_head_again = [asked for asked in export_requests(server) if asked[0] == "HEAD" and asked[1] != 200]
    assert refused_head_again == []


def test_a_correction_is_found_in_every_mode(server):
    first = endpoint(server).fetch("ct_care_homes", DAY)
    server.faults.add(kind="corrected", feed="ct_care_homes", report_date=DAY)
    corrected = endpoint(server).fetch_if_changed(
        "ct_care_homes", DAY, Known(first.sha256, first.etag, first.last_modified)
    )
    assert corrected is not None and corrected.sha256 != first.sha256
    assert server.faults.replacements[corrected.sha256].corrections == 1


def test_the_directory_reads_every_mode(server, world):
    client = DirectoryClient(server.base_url, DIRECTORY_KEY, QUICK, workers=2)
    assert sorted(client.location_ids()) == sorted(world.population.location_id)
