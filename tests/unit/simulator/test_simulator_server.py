from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import zlib
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import pytest

from careshare_sim import Faults, Request, Response, ServerModes, SimulatorServer, World, publication_time
from careshare_sim.routes import DIRECTORY_KEY_HEADER, EXPORT_KEY_HEADER

API_KEY = "export-secret"
DIRECTORY_KEY = "directory-secret"


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def server(small_world):
    with SimulatorServer(small_world, API_KEY, DIRECTORY_KEY) as running:
        yield running


def get(server: SimulatorServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def export(server: SimulatorServer, feed: str, day: str, key: str | None = API_KEY):
    return get(server, f"/exports/{feed}/{day}", {EXPORT_KEY_HEADER: key} if key else {})


def directory(server: SimulatorServer, path: str, key: str | None = DIRECTORY_KEY):
    status, _, body = get(server, path, {DIRECTORY_KEY_HEADER: key} if key else {})
    return status, json.loads(body)


def test_export_is_the_rendered_file_with_its_length_and_digest(server, small_world):
    status, headers, body = export(server, "ct_care_homes", "2020-12-01")
    assert status == 200
    assert headers["Content-Type"] == "text/csv"
    assert int(headers["Content-Length"]) == len(body)
    assert headers["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    assert body == small_world.rendered("ct_care_homes", date(2020, 12, 1)).content


@pytest.mark.parametrize(
    ("feed", "day", "key", "status"),
    [
        ("ct_care_homes", "2020-12-01", None, 401),
        ("ct_care_homes", "2020-12-01", "wrong", 403),
        ("cqc_update", "2020-06-06", API_KEY, 404),  # Saturday
        ("cqc_update", "2020-12-14", API_KEY, 404),  # form closed
        ("ct_home_care", "2020-11-29", API_KEY, 404),  # before the section opened
        ("no_such_feed", "2020-12-01", API_KEY, 404),
        ("ct_care_homes", "2020-13-01", API_KEY, 404),
        ("cqc_update", "2020-06-05", API_KEY, 200),
    ],
)
def test_export_status_codes(server, feed, day, key, status):
    assert export(server, feed, day, key)[0] == status


def test_a_file_is_published_at_six_the_next_morning_uk_time(small_world):
    day = date(2020, 6, 1)
    opens = publication_time(day)
    assert opens == datetime(2020, 6, 2, 5, 0, tzinfo=UTC)
    clock = Clock(datetime(2020, 6, 2, 4, 59, 59, tzinfo=UTC))
    with SimulatorServer(small_world, API_KEY, DIRECTORY_KEY, clock=clock) as running:
        assert export(running, "ct_care_homes", "2020-06-01")[0] == 404
        clock.now = opens
        assert export(running, "ct_care_homes", "2020-06-01")[0] == 200


def test_directory_needs_its_own_key(server):
    assert directory(server, "/public/v1/locations", key=None)[0] == 401
    assert directory(server, "/public/v1/locations", key=API_KEY)[0] == 403
    assert get(server, "/exports/ct_care_homes/2020-12-01", {EXPORT_KEY_HEADER: DIRECTORY_KEY})[0] == 403


def test_directory_pages_cover_every_location_once(server, small_world):
    status, first = directory(server, "/public/v1/locations?page=1&perPage=250")
    assert status == 200
    seen = []
    for page in range(1, first["totalPages"] + 1):
        status, body = directory(server, f"/public/v1/locations?page={page}&perPage=250")
        assert status == 200 and body["page"] == page and body["total"] == first["total"]
        seen += [row["locationId"] for row in body["locations"]]
        assert all(set(row) == {"locationId", "locationName", "postalCode"} for row in body["locations"])
    assert len(seen) == len(set(seen)) == first["total"] == len(small_world.population)
    assert directory(server, "/public/v1/locations?page=0")[0] == 400
    assert directory(server, "/public/v1/locations?perPage=many")[0] == 400


def test_location_and_provider_detail(server, small_world):
    expected = small_world.directory_truth()[0]
    status, detail = directory(server, f"/public/v1/locations/{expected['locationId']}")
    assert status == 200
    truth_only = {"service", "ct_id", "ct_feed", "transition"}
    assert detail == {k: v for k, v in expected.items() if k not in truth_only}
    status, provider = directory(server, f"/public/v1/providers/{detail['providerId']}")
    assert status == 200 and set(provider) == {"providerId", "name", "locationIds"}
    assert detail["locationId"] in provider["locationIds"]
    assert directory(server, "/public/v1/locations/1-000")[0] == 404
    assert directory(server, "/public/v1/providers/1-000")[0] == 404


def test_changes_in_a_window(server, small_world):
    truth = small_world.directory_truth()
    closed_in_june = {row["locationId"] for row in truth if (row["deregistrationDate"] or "").startswith("2021-06")}
    status, body = directory(
        server,
        "/public/v1/changes/location?startTimestamp=2021-06-01T00:00:00Z&endTimestamp=2021-07-01T00:00:00Z",
    )
    assert status == 200
    assert closed_in_june and closed_in_june <= set(body["changes"])
    assert len(body["changes"]) < len(truth) / 5
    _, empty = directory(
        server,
        "/public/v1/changes/location?startTimestamp=2021-06-01T00:00:00Z&endTimestamp=2021-06-01T00:00:00Z",
    )
    assert empty == {"changes": []}
    assert directory(server, "/public/v1/changes/location?startTimestamp=yesterday")[0] == 400


def test_faults_hook_can_replace_or_alter_responses(small_world):
    class Flaky(Faults):
        def before(self, request: Request) -> Response | None:
            if request.path.endswith("2020-12-02"):
                return Response(429, b"slow down", {"Retry-After": "3"})
            return None

        def after(self, request: Request, response: Response) -> Response:
            if request.path.endswith("2020-12-03"):
                response.truncate_at = 100
            return response

    with SimulatorServer(small_world, API_KEY, DIRECTORY_KEY, faults=Flaky()) as running:
        status, headers, _ = export(running, "ct_care_homes", "2020-12-02")
        assert status == 429 and headers["Retry-After"] == "3"
        with pytest.raises(http.client.IncompleteRead):
            export(running, "ct_care_homes", "2020-12-03")
        assert export(running, "ct_care_homes", "2020-12-04")[0] == 200


def test_unknown_paths_are_404(server):
    assert get(server, "/")[0] == 404
    assert get(server, "/public/v2/locations", {DIRECTORY_KEY_HEADER: DIRECTORY_KEY})[0] == 404


def test_an_amended_location_changes_its_record_its_page_and_the_changes_window(local_authorities):
    from sim_helpers import DIRECTORY_AS_OF

    from careshare_sim import World

    world = World(9, 60, 40, local_authorities, DIRECTORY_AS_OF)
    location = world.population.location_id[5]
    at = datetime(2021, 3, 30, 12, tzinfo=UTC)
    window = "/public/v1/changes/location?startTimestamp=2021-03-30T00:00:00Z&endTimestamp=2021-03-31T00:00:00Z"
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY) as running:
        before = directory(running, window)[1]["changes"]
        world.directory.amend(location, at, name="Renamed House", postalCode="ZZ1 1ZZ")
        assert directory(running, window)[1]["changes"] == sorted({*before, location})
        detail = directory(running, f"/public/v1/locations/{location}")[1]
        assert (detail["name"], detail["postalCode"]) == ("Renamed House", "ZZ1 1ZZ")
        page = directory(running, "/public/v1/locations?page=1&perPage=100")[1]["locations"]
        assert {"locationId": location, "locationName": "Renamed House", "postalCode": "ZZ1 1ZZ"} in page
    with pytest.raises(ValueError, match="no field"):
        world.directory.amend(location, at, colour="red")


EXPORT = "/exports/ct_care_homes/2020-12-01"
KEYED = {EXPORT_KEY_HEADER: API_KEY}


@pytest.fixture(scope="module")
def world(local_authorities) -> World:
    from sim_helpers import DIRECTORY_AS_OF

    return World(5, 60, 40, local_authorities, DIRECTORY_AS_OF)


def file_of(world: World) -> bytes:
    return world.rendered("ct_care_homes", date(2020, 12, 1)).content


def test_the_default_mode_answers_head_sends_last_modified_and_no_etag(world):
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY) as running:
        status, headers, body = get(running, EXPORT, KEYED, method="HEAD")
        _, got, content = get(running, EXPORT, {**KEYED, "Accept-Encoding": "gzip, deflate"})
    assert (status, body) == (200, b"")
    assert headers["X-Content-SHA256"] == got["X-Content-SHA256"] and "ETag" not in got
    assert "Last-Modified" in got and "Content-Encoding" not in got and content == file_of(world)


@pytest.mark.parametrize("refusal", ["405", "501"])
def test_head_can_be_refused_while_get_is_served(world, refusal):
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY, modes=ServerModes(head=refusal)) as running:
        status, headers, _ = get(running, EXPORT, KEYED, method="HEAD")
        assert status == int(refusal) and headers["Allow"] == "GET"
        assert get(running, EXPORT, KEYED)[0] == 200


@pytest.mark.parametrize(("coding", "decode"), [("gzip", gzip.decompress), ("deflate", zlib.decompress)])
def test_answers_are_compressed_only_when_the_request_accepts_it(world, coding, decode):
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY, modes=ServerModes(compression=coding)) as running:
        _, plain_headers, plain = get(running, EXPORT, KEYED)
        _, refused_headers, refused = get(running, EXPORT, {**KEYED, "Accept-Encoding": f"{coding};q=0, br"})
        status, headers, packed = get(running, EXPORT, {**KEYED, "Accept-Encoding": f"br, {coding}"})
        _, listing_headers, listing = get(
            running, "/public/v1/locations", {DIRECTORY_KEY_HEADER: DIRECTORY_KEY, "Accept-Encoding": coding}
        )
    assert plain == refused == file_of(world)
    assert "Content-Encoding" not in plain_headers and "Content-Encoding" not in refused_headers
    assert status == 200 and headers["Content-Encoding"] == coding and headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(packed) < len(plain)
    assert decode(packed) == plain and headers["X-Content-SHA256"] == hashlib.sha256(plain).hexdigest()
    assert listing_headers["Content-Encoding"] == coding and json.loads(decode(listing))["total"] == len(
        world.population
    )


def test_an_etag_is_the_files_digest_and_a_matching_if_none_match_is_answered_304(world):
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY, modes=ServerModes(etag=True)) as running:
        _, headers, _ = get(running, EXPORT, KEYED)
        etag = headers["ETag"]
        unchanged = get(running, EXPORT, {**KEYED, "If-None-Match": f'"other", W/{etag}'})
        changed = get(
            running, EXPORT, {**KEYED, "If-None-Match": '"other"', "If-Modified-Since": headers["Last-Modified"]}
        )
    assert etag == f'"{headers["X-Content-SHA256"]}"'
    assert (unchanged[0], unchanged[1]["ETag"], unchanged[2]) == (304, etag, b"")
    assert changed[0] == 200  # If-None-Match decides when it is sent


def test_last_modified_answers_if_modified_since_and_can_be_switched_off(world):
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY) as running:
        modified = get(running, EXPORT, KEYED)[1]["Last-Modified"]
        assert get(running, EXPORT, {**KEYED, "If-Modified-Since": modified})[0] == 304
        assert get(running, EXPORT, {**KEYED, "If-Modified-Since": "Mon, 30 Nov 2020 00:00:00 GMT"})[0] == 200
    modes = ServerModes(last_modified=False)
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY, modes=modes) as running:
        status, headers, _ = get(running, EXPORT, {**KEYED, "If-Modified-Since": modified})
    assert status == 200 and "Last-Modified" not in headers and "ETag" not in headers


def test_exports_can_redirect_to_another_host_that_serves_each_link_once_without_a_key(world):
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY, modes=ServerModes(redirect_exports=True)) as running:
        status, headers, _ = get(running, EXPORT, KEYED)
        link = urlsplit(headers["Location"])
        other_host = {"Host": link.netloc}
        assert (status, link.scheme, link.netloc) == (302, "http", f"localhost:{running.port}")
        assert get(running, link.path, {"Host": f"127.0.0.1:{running.port}"})[0] == 404  # only on the other host
        served, served_headers, body = get(running, link.path, other_host)
        assert get(running, link.path, other_host)[0] == 410
        assert get(running, EXPORT)[0] == 401 and get(running, "/exports/cqc_update/2020-12-05", KEYED)[0] == 404
        exchanges = running.exchanges()
    assert (served, body) == (200, file_of(world))
    assert served_headers["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    on_the_other_host = [e for e in exchanges if e.request.header("Host") == link.netloc]
    assert [e.status for e in on_the_other_host] == [200, 410]
    assert all(e.request.header(EXPORT_KEY_HEADER) is None for e in on_the_other_host)
    assert [e.status for e in exchanges] == [302, 404, 200, 410, 401, 404]


def test_a_redirecting_server_bound_elsewhere_needs_its_file_host(world):
    with pytest.raises(ValueError, match="need a file host URL"):
        SimulatorServer(world, API_KEY, DIRECTORY_KEY, host="0.0.0.0", modes=ServerModes(redirect_exports=True))
    modes = ServerModes(redirect_exports=True)
    with SimulatorServer(world, API_KEY, DIRECTORY_KEY, modes=modes, file_host_url="http://files.test:9") as running:
        assert get(running, EXPORT, KEYED)[1]["Location"].startswith("http://files.test:9/files/")


def test_modes_refuse_what_they_do_not_know():
    with pytest.raises(ValueError, match="'406' is not a valid HeadAnswer"):
        ServerModes(head="406")
    with pytest.raises(ValueError, match="'br' is not a valid Compression"):
        ServerModes(compression="br")
