"""The quality outputs of real report dates, produced by the package (no Airflow): two days of a
small simulated world are ingested, merged, checked and published on SQLite with a moto S3 server;
then the recorded runs, the Data Docs, the daily report (also rendered in headless Debian
chromium), the quarantine dataset and its release on rerun are checked."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from careshare.config import Settings
from careshare.datasets import DATASETS
from careshare.feeds import TRANSITION
from careshare.ingest import archive_delivery, load_feed_day
from careshare.merge import merge_day
from careshare.pipeline import FeedEndpoint, fetch_feed_day
from careshare.publish import publish_day
from careshare.quality.data_docs import build_data_docs, recorded_runs
from careshare.quality.downloads import download_key, write_downloads
from careshare.quality.links import DATA_DOCS_INDEX, data_docs_key, report_key, report_prefix
from careshare.quality.placement import UNKNOWN_COUNCIL
from careshare.quality.publication import QualityPublication, publish_quality
from careshare.quality.quarantine import export_quarantine, manifest_key, partition_key
from careshare.quality.runs import check_published_day, day_context
from careshare.reference_load import load_directory, load_local_authority_reference
from careshare.resources import Platform
from careshare.sources.cqc_directory import DirectoryClient
from careshare.sources.delivery import Delivery
from careshare_sim import SimulatorServer, World
from tests.conftest import REFERENCE_CSV, REPO_ROOT, create_buckets
from tests.unit.quality.data_docs_links import linked_keys

pytestmark = pytest.mark.slow

DAY_BEFORE, DAY = date(2020, 11, 29), TRANSITION  # a Sunday (care homes only), then all three feeds
FEEDS = ("ct_care_homes", "ct_home_care", "cqc_update")
BAD_BEDS = "-5"
ARTIFACTS = REPO_ROOT / "test-artifacts"


@dataclass
class QualityDays:
    platform: Platform
    world: World
    bad_row: dict  # the care-home row given negative vacant beds on DAY, and the other rows changed
    original_file: bytes
    publications: dict[date, QualityPublication]
    s3_endpoint: str


def with_rows_to_hold_back(world: World, local_authorities) -> tuple[bytes, dict]:
    """DAY's care-home file with cleanly identified rows changed: one given negative vacant beds
    (quarantined in its council A); two typing that row's CQC id, with a PPE answer not allowed, one
    still identified by its own ODS code as a location of another council B, one by nothing else
    (quarantined in B and in `unknown`, never A); one with more vacant beds than beds (published
    with a warning)."""
    directory = {d["locationId"]: d for d in world.directory_truth()}
    ods_codes = Counter(d["odsCode"] for d in directory.values())

    def council(truth: dict) -> str:
        return local_authorities.code_for(directory[truth["location_id"]]["localAuthority"], DAY).code

    clean = [
        r
        for r in world.ground_truth("ct_care_homes", DAY)
        if r["location_id"] in directory and not r["mess"] and r["duplicate_of"] is None
    ]
    bad = clean[0]
    stranger = next(
        r for r in clean if council(r) != council(bad) and ods_codes[directory[r["location_id"]]["odsCode"]] == 1
    )
    nameless, warned = [r for r in clean[1:] if r is not stranger][:2]
    rows = list(csv.reader(io.StringIO(world.rendered("ct_care_homes", DAY).content.decode("utf-8-sig"))))
    header = rows[0]
    for truth, cells in (
        (bad, {"Beds_Vacant": BAD_BEDS}),
        (stranger, {"CQC_Location_ID": bad["location_id"], "PPE_Gloves": "Purple"}),
        (
            nameless,
            {"CQC_Location_ID": bad["location_id"], "ODS_Code": "", "Home_Name": "No Such Home", "PPE_Masks": "Purple"},
        ),
        (warned, {"Beds_Total": "5", "Beds_Vacant": "9"}),
    ):
        for column, value in cells.items():
            rows[truth["source_row"]][header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8"), {
        **bad,
        "la_code": council(bad),
        "stranger_row": stranger["source_row"],
        "stranger_location_id": stranger["location_id"],
        "stranger_la_code": council(stranger),
        "nameless_row": nameless["source_row"],
        "warned_row": warned["source_row"],
        "warned_location_id": warned["location_id"],
        "warned_la_code": council(warned),
    }


def run_day(platform: Platform, endpoint: FeedEndpoint, day: date, replaced: dict[str, bytes]) -> QualityPublication:
    for feed in FEEDS:
        if feed in replaced:
            archive_delivery(platform, Delivery(feed, day, replaced[feed], "landing", f"test/{feed}/{day}.csv"))
        elif fetch_feed_day(platform, feed, day, endpoint=endpoint).status != "archived":
            continue
        load_feed_day(platform, feed, day)
    merge_day(platform, day)
    assert all(check.passed for check in check_published_day(platform, day))
    publish_day(platform, day)
    return publish_quality(platform, day, quarantine=True)


@pytest.fixture(scope="module")
def days(tmp_path_factory, s3_client, s3_endpoint, local_authorities, councils) -> Iterator[QualityDays]:
    """On SQLite: test_quality_dags runs the same code through the DAGs on PostgreSQL."""
    suffix = uuid.uuid4().hex[:8]
    buckets = {kind: f"careshare-q-{kind}-{suffix}" for kind in ("raw", "published", "quality")}
    create_buckets(s3_client, *buckets.values())
    home = tmp_path_factory.mktemp("quality")
    environment = {
        "CARESHARE_HOME": str(home),  # the warehouse: SQLite in here
        "CARESHARE_RAW_ARCHIVE_URI": f"s3://{buckets['raw']}",
        "CARESHARE_PUBLISH_URI": f"s3://{buckets['published']}",
        "CARESHARE_QUALITY_URI": f"s3://{buckets['quality']}",
        "CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV),
    }
    settings = Settings.from_env(environment)
    platform = Platform.from_settings(settings, s3_client)
    platform.warehouse.migrate()
    world = World(11, 300, 200, councils, date(2024, 6, 30))
    with SimulatorServer(world, "feeds-key", "directory-key") as simulator:
        load_local_authority_reference(platform)
        load_directory(
            platform, DirectoryClient(simulator.base_url, "directory-key"), datetime(2020, 11, 28, tzinfo=UTC)
        )
        endpoint = FeedEndpoint(simulator.base_url, "feeds-key")
        bad_file, bad_row = with_rows_to_hold_back(world, local_authorities)
        publications = {
            DAY_BEFORE: run_day(platform, endpoint, DAY_BEFORE, {}),
            DAY: run_day(platform, endpoint, DAY, {"ct_care_homes": bad_file}),
        }
        yield QualityDays(
            platform, world, bad_row, world.rendered("ct_care_homes", DAY).content, publications, s3_endpoint
        )
    platform.warehouse.engine.dispose()


def expected_care_homes(world: World, day: date) -> list[str]:
    """Care homes registered on the day, by the directory's own dates."""
    return [
        d["locationId"]
        for d in world.directory_truth()
        if d["careHome"] == "Y"
        and d["registrationDate"][:10] <= day.isoformat()
        and (not d.get("deregistrationDate") or d["deregistrationDate"][:10] >= day.isoformat())
    ]


def query(platform: Platform, statement: str, **params) -> pd.DataFrame:
    with platform.warehouse.engine.connect() as connection:
        result = connection.execute(sa.text(statement), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def test_each_validation_run_is_recorded_and_sets_the_next_days_row_count_bounds(days):
    runs = query(days.platform, "SELECT suite, report_date, rows_checked, success FROM quality_run")
    runs["report_date"] = pd.to_datetime(runs["report_date"]).dt.date
    by_day = runs.groupby("report_date")["suite"].apply(set).to_dict()
    assert by_day == {DAY_BEFORE: {"ct_care_homes", *DATASETS}, DAY: {*FEEDS, *DATASETS}}
    assert runs["success"].astype(bool).all()

    care_homes_before = runs[(runs["suite"] == "ct_care_homes") & (runs["report_date"] == DAY_BEFORE)]
    context = day_context(days.platform, "ct_care_homes", DAY, {"care_home"})
    assert context["previous_day_rows"] == int(care_homes_before["rows_checked"].iloc[0])
    assert context["expected_locations"] == len(expected_care_homes(days.world, DAY))

    failures = query(
        days.platform,
        "SELECT r.suite, f.rule, f.severity, f.blocking, f.rows_failing "
        "FROM quality_rule_failure f JOIN quality_run r ON r.run_id = f.run_id WHERE r.report_date = :d",
        d=DAY,
    )
    negative = failures[failures["rule"] == "count.beds_vacant.non_negative"]
    assert negative[["suite", "severity", "rows_failing"]].values.tolist() == [["ct_care_homes", "critical", 1]]
    assert not negative["blocking"].astype(bool).any(), "one row in 300 stays within the rule's 5%"


def test_data_docs_are_one_self_contained_site_across_both_dates(days):
    store = days.platform.quality
    uploaded = set(store.keys())
    pages = sorted(k for k in uploaded if k.startswith("data_docs/") and k.endswith(".html"))
    runs = recorded_runs(days.platform)
    assert set(pages) == {DATA_DOCS_INDEX, data_docs_key(DAY_BEFORE), data_docs_key(DAY)} | {r.page_key for r in runs}
    for key in pages:
        for target in linked_keys(key, store.get(key).decode()):
            assert target in uploaded, (key, target)
    index = store.get(DATA_DOCS_INDEX).decode()
    assert all(run.name in index for run in runs)
    assert {(r.report_date, r.suite) for r in runs} == {(DAY_BEFORE, "ct_care_homes"), *((DAY, s) for s in FEEDS)} | {
        (day, dataset) for day in (DAY_BEFORE, DAY) for dataset in DATASETS
    }
    care_homes = next(r for r in runs if (r.report_date, r.suite) == (DAY, "ct_care_homes"))
    page = store.get(care_homes.page_key).decode()
    assert care_homes.name.startswith(f"ct_care_homes {DAY.isoformat()} ") and "conformed_feed" not in page
    assert care_homes.status == "Passed with warnings", "a quarantined row does not fail the run"
    assert '<tr id="rule-count.beds_vacant.non_negative" class="outcome-quarantined">' in page
    assert days.publications[DAY].data_docs_url.endswith(data_docs_key(DAY))


def test_the_daily_report_accounts_for_every_row_and_matches_the_warehouse(days):
    figures = json.loads(days.platform.quality.get(report_prefix(DAY) + "report.json"))
    html = days.platform.quality.get(report_key(DAY)).decode()

    feeds = {f["feed"]: f for f in figures["feeds"]}
    assert set(feeds) == set(FEEDS) and {f["status"] for f in feeds.values()} == {"loaded"}
    for feed in feeds.values():
        outcomes = feed["rows_quarantined"] + feed["rows_superseded"] + feed["rows_published"]
        assert feed["rows_delivered"] == outcomes and feed["rows_awaiting_merge"] == 0
        assert f'<tr id="feed-{feed["feed"]}">' in html and f"{feed['rows_delivered']:,}" in html
    for rule in ("count.beds_vacant.non_negative", "answer.ppe_masks.allowed", "answer.ppe_gloves.allowed"):
        assert feeds["ct_care_homes"]["quarantined_by_rule"][rule] == 1, rule
    assert feeds["ct_care_homes"]["rows_valid"] == feeds["ct_care_homes"]["rows_delivered"] - 3
    published = query(days.platform, "SELECT COUNT(*) AS n FROM location_daily WHERE report_date = :d", d=DAY)
    assert (
        sum(f["rows_published"] for f in feeds.values()) == published.at[0, "n"] == figures["completion"]["published"]
    )

    completion = figures["completion"]
    councils = completion["by_council"]
    assert sum(c["expected"] for c in councils) == completion["expected"]
    assert sum(c["reported"] for c in councils) == round(completion["national"] * completion["expected"])
    assert sum(r["reported"] for r in completion["by_region"]) == sum(c["reported"] for c in councils)
    assert f"{100 * completion['national']:.1f}%" in html
    rules = [(r["suite"], r["rule"]) for r in figures["top_rules"]]
    assert ("ct_care_homes", "count.beds_vacant.non_negative") in rules

    flagged = [c for c in councils if c["below_threshold"]]
    assert councils[: len(flagged)] == flagged, "councils under the threshold come first"
    assert [c["completion"] for c in flagged] == sorted(c["completion"] for c in flagged)
    assert all((c["completion"] < 0.5) == c["below_threshold"] for c in councils if c["completion"] is not None)
    beds = next(r for r in figures["warned"]["by_rule"] if r["rule"] == "bound.beds_vacant_le_total")
    assert beds["feed"] == "ct_care_homes" and beds["published"] >= 1
    assert f"{figures['warned']['published']:,} rows published despite a failed warning rule" in html

    trend = figures["trend"]
    assert trend["dates"][-2:] == [DAY_BEFORE.isoformat(), DAY.isoformat()] and len(trend["dates"]) == 30
    assert all(v is None for v in trend["completion"][:-2]) and None not in trend["completion"][-2:]
    assert html.count('src="data:image/png;base64,') == 3
    assert days.publications[DAY].report_url.endswith(report_key(DAY))


def test_a_merged_row_breaking_a_critical_rule_stops_the_days_publication(days):
    platform = days.platform
    with platform.warehouse.transaction() as connection:
        connection.execute(
            sa.text(
                "UPDATE location_daily SET la_code = 'E06000061' WHERE report_date = :d AND location_id = "
                "(SELECT MIN(location_id) FROM location_daily WHERE report_date = :d)"
            ),
            {"d": DAY},
        )
    try:
        checks = {c.dataset: c for c in check_published_day(platform, DAY)}
        assert [name for name, c in checks.items() if not c.passed] == ["location_daily"]
        check = checks["location_daily"]
        assert check.failure_message().startswith(f"location_daily {DAY.isoformat()}: critical rule failed")
        assert check.failure_message().endswith("[rule ref.la_code.valid_on_date]")
    finally:
        merge_day(platform, DAY)
    assert all(c.passed for c in check_published_day(platform, DAY))


def read_partition(platform: Platform, key: str) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(platform.quality.get(key))).to_pandas()


def partition(la_code: str) -> str:
    return partition_key(la_code, DAY)


def held_rows(platform: Platform, key: str) -> set[int]:
    return set(read_partition(platform, key).query("feed == 'ct_care_homes'")["source_row"])


def test_quarantine_is_partitioned_by_the_council_the_directory_gives_never_by_a_typed_cqc_id(days):
    platform, bad = days.platform, days.bad_row
    held = read_partition(platform, partition(bad["la_code"]))
    row = held[(held["feed"] == "ct_care_homes") & (held["source_row"] == bad["source_row"])]
    assert row[["rule", "value", "location_id"]].values.tolist() == [
        ["count.beds_vacant.non_negative", BAD_BEDS, bad["location_id"]]
    ]
    assert (
        row["source_sha256"].iloc[0]
        == query(platform, "SELECT sha256 FROM feed_day WHERE feed = 'ct_care_homes' AND report_date = :d", d=DAY).at[
            0, "sha256"
        ]
    )
    assert json.loads(row["raw_record"].iloc[0])["Beds_Vacant"] == BAD_BEDS
    manifest = json.loads(platform.quality.get(manifest_key(DAY)))
    assert {partition(bad["la_code"]), partition(bad["stranger_la_code"]), partition(UNKNOWN_COUNCIL)} <= set(
        manifest["objects"]
    )

    assert {bad["stranger_row"], bad["nameless_row"]}.isdisjoint(held_rows(platform, partition(bad["la_code"])))
    stranger = read_partition(platform, partition(bad["stranger_la_code"])).set_index("source_row")
    assert stranger.loc[[bad["stranger_row"]], ["rule", "location_id"]].values.tolist() == [
        ["answer.ppe_gloves.allowed", bad["stranger_location_id"]]
    ]
    assert json.loads(stranger.at[bad["stranger_row"], "raw_record"])["CQC_Location_ID"] == bad["location_id"]
    nameless = read_partition(platform, partition(UNKNOWN_COUNCIL)).set_index("source_row").loc[[bad["nameless_row"]]]
    assert nameless[["feed", "rule", "value"]].values.tolist() == [
        ["ct_care_homes", "answer.ppe_masks.allowed", "Purple"]
    ]


def read_download(platform: Platform, kind: str, la_code: str) -> list[dict[str, str]]:
    data = platform.quality.get(download_key(DAY, kind, la_code))
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data, "UTF-8 with a byte order mark, CRLF"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_every_held_back_and_warned_row_is_downloadable_by_council_from_the_report(days):
    platform, bad = days.platform, days.bad_row
    figures = json.loads(platform.quality.get(report_prefix(DAY) + "report.json"))
    html = platform.quality.get(report_key(DAY)).decode()
    downloads = {kind: {e["la_code"]: e for e in entries} for kind, entries in figures["downloads"].items()}
    for kind, entries in downloads.items():
        keys = {download_key(DAY, kind, la_code) for la_code in entries}
        assert set(platform.quality.keys(f"{report_prefix(DAY)}{kind}/")) == keys
        for la_code, entry in entries.items():
            assert entry["csv"] == f"{kind}/la_code={la_code}.csv" and f'href="{entry["csv"]}"' in html
            assert len({(r["feed"], r["source_row"]) for r in read_download(platform, kind, la_code)}) == entry["rows"]
    held = query(
        platform, "SELECT COUNT(DISTINCT feed || source_row) AS n FROM quarantine_row WHERE report_date = :d", d=DAY
    )
    assert sum(e["rows"] for e in downloads["quarantined"].values()) == held.at[0, "n"]
    assert downloads["quarantined"][UNKNOWN_COUNCIL]["parquet"] == f"../../{partition(UNKNOWN_COUNCIL)}"

    council = {int(r["source_row"]): r for r in read_download(platform, "quarantined", bad["la_code"])}
    assert council[bad["source_row"]]["value"] == f"'{BAD_BEDS}", "a spreadsheet reads it as text, not a formula"
    assert {bad["stranger_row"], bad["nameless_row"]}.isdisjoint(council)
    stranger = read_download(platform, "quarantined", bad["stranger_la_code"])
    assert bad["stranger_row"] in {int(r["source_row"]) for r in stranger}
    assert bad["nameless_row"] in {
        int(r["source_row"]) for r in read_download(platform, "quarantined", UNKNOWN_COUNCIL)
    }

    warned = [
        r
        for r in read_download(platform, "warned", bad["warned_la_code"])
        if r["feed"] == "ct_care_homes" and int(r["source_row"]) == bad["warned_row"]
    ]
    assert [(r["rule"], r["outcome"], r["location_id"]) for r in warned] == [
        ("bound.beds_vacant_le_total", "published", bad["warned_location_id"])
    ]
    stored = query(platform, "SELECT rule, value FROM warned_row WHERE report_date = :d AND source_row = :r "
                   "AND feed = 'ct_care_homes'", d=DAY, r=bad["warned_row"])  # fmt: skip
    assert stored.values.tolist() == [["bound.beds_vacant_le_total", warned[0]["value"].lstrip("'")]]


# --- the report in a real browser -------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_binary() -> str:
    found = shutil.which("chromium")
    if found is None:
        subprocess.run([str(REPO_ROOT / "scripts" / "ensure_chromium.sh")], check=True)
        found = shutil.which("chromium")
    assert found, "Debian's chromium is needed: run scripts/ensure_chromium.sh"
    return found


class DevTools:
    """A minimal Chrome DevTools Protocol client over the browser's websocket."""

    def __init__(self, url: str):
        from websockets.sync.client import connect

        self.socket = connect(url, max_size=None, open_timeout=20)
        self.events: list[dict] = []
        self._next = 0

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=30))
            if reply.get("id") == self._next:
                assert "error" not in reply, reply["error"]
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = next((e for e in self.events if e.get("method") == method), None)
            if seen:
                return seen
            self.events.append(json.loads(self.socket.recv(timeout=deadline - time.monotonic())))
        raise TimeoutError(method)

    def close(self) -> None:
        self.socket.close()


@contextmanager
def browser(profile: Path) -> Iterator[DevTools]:
    """Headless chromium with a fresh profile, driven over its DevTools websocket."""
    process = subprocess.Popen(
        [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) == 2):
            assert process.poll() is None and time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()
        tools = DevTools(f"ws://127.0.0.1:{port}{path}")
        try:
            yield tools
        finally:
            tools.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


PROBLEMS = ("Runtime.exceptionThrown", "Network.loadingFailed")


def read_by_anyone(bucket: str) -> str:
    """A bucket policy letting a browser read every object, as a site serving the quality root does."""
    grant = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [grant]})


LINKS = """(async () => {
  const hrefs = [...new Set(Array.from(document.querySelectorAll('a[href]'), a => a.getAttribute('href')))];
  const statuses = [];
  for (const href of hrefs.filter(h => !h.startsWith('#'))) {
    const response = await fetch(href);
    statuses.push([href, response.status, (await response.arrayBuffer()).byteLength]);
  }
  return {statuses, missing_anchors: hrefs.filter(h => h.startsWith('#') && !document.getElementById(h.slice(1)))};
})()"""
SORT_BY_COMPLETION = """(() => {
  const table = document.getElementById('councils'), column = 5;
  const heading = table.tHead.rows[0].cells[column];
  const values = () => Array.from(table.tBodies[0].rows, r => r.cells[column].dataset.sort);
  const rows = document.querySelectorAll('#flagged-councils tbody tr');
  const flagged = Array.from(rows, r => r.cells[column].dataset.sort);
  heading.querySelector('button').click();
  const ascending = values();
  heading.querySelector('button').click();
  const descending = values();
  return {heading: heading.innerText, flagged, ascending, descending, sort: heading.getAttribute('aria-sort')};
})()"""


def completions(values: list[str]) -> list[float]:
    return [float(v) if v else float("inf") for v in values]


@pytest.mark.browser
def test_the_report_renders_in_chromium_without_errors(days, tmp_path):
    figures = days.publications[DAY].figures
    store = days.platform.quality
    url = days.publications[DAY].report_url
    assert url == f"{days.s3_endpoint}/{store.bucket}/{report_key(DAY)}"
    # the uploaded object at the report's own address, the quality root readable as a deployment's site serves it
    store.client.put_bucket_policy(Bucket=store.bucket, Policy=read_by_anyone(store.bucket))

    with browser(tmp_path / "profile") as tools:
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.call(f"{domain}.enable", session)
        tools.call("Page.navigate", session, url=url)
        tools.wait_for("Page.loadEventFired")
        page = tools.call(
            "Runtime.evaluate",
            session,
            returnByValue=True,
            expression="JSON.stringify({text: document.body.innerText, title: document.title, "
            "images: Array.from(document.images).map(i => [i.id, i.complete, i.naturalWidth])})",
        )
        content = json.loads(page["result"]["value"])
        size = tools.call("Page.getLayoutMetrics", session)["cssContentSize"]
        shot = tools.call(
            "Page.captureScreenshot",
            session,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        requested = [
            e["params"]["request"]["url"] for e in tools.events if e.get("method") == "Network.requestWillBeSent"
        ]
        links = tools.call("Runtime.evaluate", session, returnByValue=True, awaitPromise=True, expression=LINKS)
        sorting = tools.call("Runtime.evaluate", session, returnByValue=True, expression=SORT_BY_COMPLETION)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"quality_report_{DAY.isoformat()}.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))

    problems = [e for e in tools.events if e.get("method") in PROBLEMS]
    problems += [
        e for e in tools.events if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
    ]
    responses = [e["params"]["response"] for e in tools.events if e.get("method") == "Network.responseReceived"]
    assert problems == []
    assert [(r["status"], r["mimeType"]) for r in responses if r["url"] == url] == [(200, "text/html")]
    assert content["title"] == f"careshare quality report {DAY.isoformat()}"
    assert [i[0] for i in content["images"]] == ["chart-completion", "chart-quarantine_rate", "chart-stale_share"]
    assert all(complete and width == 640 for _, complete, width in content["images"]), content["images"]
    text = content["text"]
    assert f"National completion: {100 * figures['completion']['national']:.1f}%" in text
    for feed in figures["feeds"]:
        assert f"{feed['feed']}\tloaded\t{feed['rows_delivered']:,}\t{feed['rows_valid']:,}" in text
    assert "count.beds_vacant.non_negative" in text and "Every feed that arrived passed" in text
    assert screenshot.stat().st_size > 50_000

    assert all(u == url or u.startswith("data:") for u in requested), "self-contained: nothing else is loaded"
    statuses, missing_anchors = links["result"]["value"]["statuses"], links["result"]["value"]["missing_anchors"]
    downloads = figures["downloads"]
    files = {link for entries in downloads.values() for e in entries for link in (e["csv"], e["parquet"]) if link}
    assert {href for href, _, _ in statuses} >= {"report.json", f"../../{manifest_key(DAY)}", *files}
    assert [(href, status) for href, status, size in statuses if status != 200 or not size] == []
    assert missing_anchors == []
    sort = sorting["result"]["value"]
    threshold = figures["completion"]["threshold"]
    assert completions(sort["flagged"]) == sorted(completions(sort["flagged"])) and all(
        c < threshold for c in completions(sort["flagged"])
    )
    assert completions(sort["ascending"]) == sorted(completions(sort["ascending"]))
    assert completions(sort["descending"]) == sorted(completions(sort["ascending"]), reverse=True)
    assert sort["heading"] == "Completion" and sort["sort"] == "descending"
    os.environ.get("CI") and print(f"screenshot kept at {screenshot}")


def mirror(store, folder: Path) -> Path:
    """The quality root copied to a local folder, to open offline over file URLs."""
    for key in store.keys(""):
        target = folder / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.get(key))
    return folder


@pytest.mark.browser
def test_the_data_docs_index_renders_offline_in_chromium(days, tmp_path):
    build_data_docs(days.platform, DAY)  # with the runs the tests above recorded
    root = mirror(days.platform.quality, tmp_path / "quality")
    runs = recorded_runs(days.platform)
    rows = "Array.from(document.querySelectorAll('#runs tbody tr')).filter(r => !r.hidden)"
    with browser(tmp_path / "profile") as tools:
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.call(f"{domain}.enable", session)
        tools.call("Page.navigate", session, url=(root / DATA_DOCS_INDEX).as_uri())
        tools.wait_for("Page.loadEventFired")

        def evaluate(expression: str):
            return tools.call("Runtime.evaluate", session, returnByValue=True, expression=expression)["result"]["value"]

        shown = evaluate(f"{rows}.map(r => r.innerText)")
        filters_shown = evaluate("!document.getElementById('filters').hidden")
        evaluate(
            f"(() => {{ const s = document.getElementById('filter-date'); s.value = '{DAY_BEFORE.isoformat()}';"
            " return s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )
        filtered = evaluate(f"{rows}.map(r => r.dataset.date)")
        shot = tools.call("Page.captureScreenshot", session, format="png")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "quality_data_docs_index.png").write_bytes(base64.b64decode(shot["data"]))

    problems = [e for e in tools.events if e.get("method") in PROBLEMS]
    requested = [e["params"]["request"]["url"] for e in tools.events if e.get("method") == "Network.requestWillBeSent"]
    assert problems == [] and all(url.startswith(("file://", "data:")) for url in requested), requested
    assert len(shown) == len(runs) and all(run.name in " ".join(shown) for run in runs)
    assert filters_shown and filtered == [DAY_BEFORE.isoformat()] * sum(r.report_date == DAY_BEFORE for r in runs)


def test_a_corrected_file_releases_its_rows_from_the_quarantine_and_the_downloads(days):
    """Runs last in this module: it replaces DAY's care-home file."""
    platform, bad = days.platform, days.bad_row
    archive_delivery(platform, Delivery("ct_care_homes", DAY, days.original_file, "landing", "corrected"))
    load_feed_day(platform, "ct_care_homes", DAY)
    merge_day(platform, DAY)
    export = export_quarantine(platform, DAY)
    downloads = write_downloads(platform, DAY)

    published = query(
        platform,
        "SELECT source_row, beds_vacant FROM location_daily WHERE report_date = :d AND location_id = :loc",
        d=DAY,
        loc=bad["location_id"],
    )
    assert published["beds_vacant"].iloc[0] >= 0
    still_held = query(
        platform,
        "SELECT COUNT(*) AS n FROM quarantine_row WHERE report_date = :d AND "
        "value = :v AND rule = 'count.beds_vacant.non_negative'",
        d=DAY,
        v=BAD_BEDS,
    )
    assert still_held.at[0, "n"] == 0
    for la_code, row_number in (
        (bad["la_code"], bad["source_row"]),
        (bad["stranger_la_code"], bad["stranger_row"]),
        (UNKNOWN_COUNCIL, bad["nameless_row"]),
    ):
        key, csv_key = partition(la_code), download_key(DAY, "quarantined", la_code)
        if key in export.objects:
            assert row_number not in held_rows(platform, key)
            assert str(row_number) not in {r["source_row"] for r in read_download(platform, "quarantined", la_code)}
        else:
            assert key in export.removed and not platform.quality.exists(key)
            assert not platform.quality.exists(csv_key)
    assert set(json.loads(platform.quality.get(manifest_key(DAY)))["objects"]) == set(export.objects)
    warned = {e["la_code"] for e in downloads["warned"]}
    if bad["warned_la_code"] in warned:
        rows = read_download(platform, "warned", bad["warned_la_code"])
        assert (str(bad["warned_row"]), "bound.beds_vacant_le_total") not in {
            (r["source_row"], r["rule"]) for r in rows
        }
    assert set(platform.quality.keys(f"{report_prefix(DAY)}warned/")) == {
        download_key(DAY, "warned", la_code) for la_code in warned
    }
