from __future__ import annotations

import gzip
import hashlib
import http.client
import json
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import pytest

from careshare_sim import FaultKind, FaultPlan, FaultRule, FileMess, Request, ServerModes, SimulatorServer
from careshare_sim.routes import DIRECTORY_KEY_HEADER, EXPORT_KEY_HEADER

API_KEY, DIRECTORY_KEY = "export-secret", "directory-secret"
DAY = date(2020, 12, 1)
EXPORT = f"/exports/ct_care_homes/{DAY.isoformat()}"


@pytest.fixture
def server(small_world):
    with SimulatorServer(small_world, API_KEY, DIRECTORY_KEY, faults=FaultPlan()) as running:
        yield running


def ask(server: SimulatorServer, path: str, method: str = "GET"):
    key = {DIRECTORY_KEY_HEADER: DIRECTORY_KEY} if path.startswith("/public/") else {EXPORT_KEY_HEADER: API_KEY}
    return server.respond(Request(method, path, headers=key, received_at=datetime.now(UTC)))


def test_rate_limited_and_server_error_replace_the_answer_for_the_first_n_requests(server):
    server.faults.add(kind="rate_limited", feed="ct_care_homes", report_date=DAY, times=1, retry_after=4)
    server.faults.add(kind="server_error", target="directory", times=2, status=502)
    limited = ask(server, EXPORT)
    assert (limited.status, limited.headers["Retry-After"]) == (429, "4")
    assert ask(server, EXPORT).status == 200
    assert [ask(server, "/public/v1/locations").status for _ in range(3)] == [502, 502, 200]
    assert server.faults.count(FaultKind.RATE_LIMITED) == 1 and server.faults.count("server_error") == 2


def test_rules_match_only_their_target_feed_date_and_path(server):
    server.faults.add(kind="server_error", feed="ct_home_care")
    server.faults.add(kind="server_error", report_date=date(2020, 12, 2))
    server.faults.add(kind="server_error", target="directory", path=r"/providers/")
    assert ask(server, EXPORT).status == 200
    assert ask(server, "/exports/ct_home_care/2020-12-01").status == 503
    assert ask(server, "/exports/ct_care_homes/2020-12-02").status == 503
    assert ask(server, "/public/v1/locations").status == 200
    assert ask(server, "/public/v1/providers/1-000").status == 503


def test_rules_can_hit_a_share_of_requests_deterministically_and_only_inside_a_window(small_world):
    def statuses(seed: int) -> list[int]:
        plan = FaultPlan([FaultRule(FaultKind.SERVER_ERROR, share=0.3)], seed=seed)
        with SimulatorServer(small_world, API_KEY, DIRECTORY_KEY, faults=plan) as running:
            return [ask(running, EXPORT).status for _ in range(40)]

    assert statuses(1) == statuses(1) != statuses(2)
    assert 4 <= statuses(1).count(503) <= 20
    window = FaultRule(FaultKind.NOT_PUBLISHED, active_from="2020-12-02T06:00:00Z", active_until="2020-12-02T09:00Z")
    inside = Request("GET", EXPORT, received_at=datetime(2020, 12, 2, 7, tzinfo=UTC))
    after = Request("GET", EXPORT, received_at=datetime(2020, 12, 2, 9, tzinfo=UTC))
    assert window.matches(inside) and not window.matches(after)


def test_slow_cut_short_and_corrupted_alter_the_real_answer(server, small_world):
    content = small_world.rendered("ct_care_homes", DAY).content
    server.faults.add(kind="slow", feed="ct_care_homes", times=1, delay_seconds=2.5)
    slow = ask(server, EXPORT)
    assert slow.delay_seconds == 2.5 and slow.body == content
    server.faults.add(kind="cut_short", feed="ct_care_homes", times=1, keep_fraction=0.25)
    cut = ask(server, EXPORT)
    assert cut.truncate_at == len(content) // 4 and cut.body == content
    server.faults.add(kind="corrupted", feed="ct_care_homes", times=1, keep_fraction=0.5)
    corrupted = ask(server, EXPORT)
    assert corrupted.body == content[: len(content) // 2]
    assert corrupted.headers["X-Content-SHA256"] == hashlib.sha256(content).hexdigest()


def test_a_body_cut_short_on_the_wire_declares_the_whole_length(server):
    server.faults.add(kind="cut_short", feed="ct_care_homes", times=1, keep_fraction=0.5)
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("GET", EXPORT, headers={EXPORT_KEY_HEADER: API_KEY})
    response = connection.getresponse()
    declared = int(response.getheader("Content-Length"))
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    connection.close()
    assert len(caught.value.partial) == declared // 2


def test_not_published_answers_404_like_a_late_file(server):
    server.faults.add(kind="not_published", feed="ct_care_homes", report_date=DAY, times=2)
    answers = [ask(server, EXPORT) for _ in range(3)]
    assert [a.status for a in answers] == [404, 404, 200]
    assert json.loads(answers[0].body)["message"] == f"ct_care_homes for {DAY.isoformat()} is not published yet"


def test_a_corrected_file_replaces_the_published_one_and_is_remembered(server, small_world):
    published = ask(server, EXPORT)
    server.faults.add(kind="corrected", feed="ct_care_homes", report_date=DAY)
    corrected = ask(server, EXPORT)
    head = ask(server, EXPORT, method="HEAD")
    sha = corrected.headers["X-Content-SHA256"]
    assert corrected.status == 200 and sha == hashlib.sha256(corrected.body).hexdigest()
    assert sha != published.headers["X-Content-SHA256"] and head.headers["X-Content-SHA256"] == sha
    variant = server.faults.replacements[sha]
    assert variant.corrections == 1
    truth = small_world.ground_truth("ct_care_homes", DAY, variant)
    assert any("corrected" in row["mess"] for row in truth)


def test_a_file_mess_on_demand(server):
    server.faults.add(kind="file_mess", feed="ct_care_homes", report_date=DAY, file_mess="header_only", times=1)
    header_only = ask(server, EXPORT)
    assert header_only.body.decode("utf-8-sig").strip().splitlines()[0].startswith("CT_Home_ID")
    assert len(header_only.body.decode("utf-8-sig").strip().splitlines()) == 1
    assert len(ask(server, EXPORT).body.splitlines()) > 1
    variant = server.faults.replacements[header_only.headers["X-Content-SHA256"]]
    assert FileMess.HEADER_ONLY in variant.file_mess


def test_a_plan_loads_from_json_and_refuses_what_it_does_not_know(tmp_path):
    path = tmp_path / "faults.json"
    path.write_text(
        json.dumps(
            {
                "seed": 3,
                "rules": [
                    {"kind": "rate_limited", "target": "directory", "share": 0.05, "retry_after": 2},
                    {"kind": "not_published", "feed": "ct_care_homes", "report_date": "2020-12-01", "times": 3},
                ],
            }
        )
    )
    plan = FaultPlan.from_file(path)
    assert [r.kind for r in plan.rules] == [FaultKind.RATE_LIMITED, FaultKind.NOT_PUBLISHED]
    assert plan.rules[1].report_date == DAY and plan.rules[1].target == "exports"
    for bad, words in [
        ({"rules": [{"kind": "flood"}]}, "'flood' is not a valid FaultKind"),
        ({"rules": [{"kind": "slow", "colour": "red"}]}, "unknown fault rule field(s) colour"),
        ({"rules": [{"kind": "file_mess"}]}, "names the file_mess"),
        ({"rules": [{"kind": "slow", "feed": "ct_nowhere"}]}, "'ct_nowhere' is not a valid Feed"),
        ({}, "not a fault plan"),
    ]:
        path.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match="not a fault plan") as caught:
            FaultPlan.from_file(path)
        assert words in str(caught.value)


def test_every_request_is_seen(server):
    ask(server, EXPORT, method="HEAD")
    ask(server, "/public/v1/locations")
    assert server.faults.seen == [("HEAD", EXPORT), ("GET", "/public/v1/locations")]


def test_a_compressed_answer_is_cut_short_in_its_compressed_bytes(small_world):
    plan = FaultPlan([FaultRule(FaultKind.CUT_SHORT, times=1, keep_fraction=0.5)])
    with SimulatorServer(small_world, API_KEY, DIRECTORY_KEY, faults=plan, modes=ServerModes(compression="gzip")) as s:
        url = urlsplit(s.base_url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        connection.request("GET", EXPORT, headers={EXPORT_KEY_HEADER: API_KEY, "Accept-Encoding": "gzip"})
        response = connection.getresponse()
        declared = int(response.getheader("Content-Length"))
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        connection.close()
    packed = gzip.compress(small_world.rendered("ct_care_homes", DAY).content, mtime=0)
    partial = caught.value.partial
    assert declared == len(packed) and packed.startswith(partial) and abs(len(partial) - len(packed) / 2) <= 1


def test_faults_hit_the_api_and_a_redirect_serves_what_they_made(small_world):
    plan = FaultPlan([FaultRule(FaultKind.CORRECTED, feed="ct_care_homes", report_date=DAY)])
    with SimulatorServer(
        small_world, API_KEY, DIRECTORY_KEY, faults=plan, modes=ServerModes(redirect_exports=True)
    ) as s:
        redirect = ask(s, EXPORT)
        link = urlsplit(redirect.headers["Location"])
        served = s.respond(Request("GET", link.path, headers={"Host": link.netloc}))
    assert redirect.status == 302 and served.status == 200
    assert plan.seen == [("GET", EXPORT)] and plan.replacements[served.headers["X-Content-SHA256"]].corrections == 1
