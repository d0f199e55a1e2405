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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from careshare.config import REPO_ROOT, Settings
from careshare.datasets import DATASETS
from careshare.feeds import TRANSITION
from careshare.ingest import archive_delivery, load_feed_day
from careshare.merge import merge_day
from careshare.pipeline import FeedEndpoint, fetch_feed_day
from careshare.platform import Platform
from careshare.publish import publish_day
from careshare.quality.docs import site_prefix
from careshare.quality.links import report_key, report_prefix
from careshare.quality.publication import QualityPublication, publish_quality
from careshare.quality.quarantine import UNKNOWN_COUNCIL, export_quarantine, manifest_key
from careshare.quality.runs import check_published_day, day_context
from careshare.reference_data import load_directory, load_local_authority_reference
from careshare.simulator import SimulatorServer, World
from careshare.sources.cqc_directory import DirectoryClient
from careshare.sources.delivery import Delivery
from tests.conftest import REFERENCE_CSV, create_buckets

pytestmark = pytest.mark.slow

DAY_BEFORE, DAY = date(2020, 11, 29), TRANSITION  # a Sunday (care homes only), then all three feeds
FEEDS = ("ct_care_homes", "ct_home_care", "cqc_update")
BAD_BEDS = "-5"
ARTIFACTS = REPO_ROOT / "test-artifacts"


@dataclass
class QualityDays:
    platform: Platform
    world: World
    bad_row: dict  # the care-home row given negative vacant beds on DAY, with its location and council
    original_file: bytes
    publications: dict[date, QualityPublication]
    s3_endpoint: str


def with_negative_vacant_beds(world: World, local_authorities) -> tuple[bytes, dict]:
    """DAY's care-home file with one cleanly identified row's Beds_Vacant made negative."""
    rendered = world.rendered("ct_care_homes", DAY)
    directory = {d["locationId"]: d for d in world.directory_truth()}
    truth = next(
        r
        for r in world.ground_truth("ct_care_homes", DAY)
        if r["location_id"] in directory and not r["mess"] and r["duplicate_of"] is None
    )
    text = rendered.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, row = rows[0], rows[truth["source_row"]]
    row[header.index("Beds_Vacant")] = BAD_BEDS
    nameless = rows[truth["source_row"] + 1]  # no id to place it: its council is unknown
    for column, value in (("CQC_Location_ID", ""), ("ODS_Code", ""), ("PPE_Masks", "Purple")):
        nameless[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    council = local_authorities.code_for(directory[truth["location_id"]]["localAuthority"], DAY).code
    return out.getvalue().encode("utf-8"), {**truth, "la_code": council, "nameless_row": truth["source_row"] + 1}


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
def days(tmp_path_factory, s3_client, s3_endpoint, local_authorities) -> Iterator[QualityDays]:
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
    world = World(11, 300, 200, local_authorities, date(2024, 6, 30))
    with SimulatorServer(world, "feeds-key", "directory-key") as simulator:
        load_local_authority_reference(platform)
        load_directory(
            platform, DirectoryClient(simulator.base_url, "directory-key"), datetime(2020, 11, 28, tzinfo=UTC)
        )
        endpoint = FeedEndpoint(simulator.base_url, "feeds-key")
        bad_file, bad_row = with_negative_vacant_beds(world, local_authorities)
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


def test_data_docs_are_built_and_uploaded_for_the_date(days):
    keys = days.platform.quality.keys(site_prefix(DAY))
    pages = [k.removeprefix(site_prefix(DAY)) for k in keys if k.endswith(".html")]
    assert "index.html" in pages
    for suite in (*FEEDS, *DATASETS):
        assert any(p.startswith(f"validations/{suite}/{DAY.isoformat()}/") for p in pages), suite
        assert f"expectations/{suite}.html" in pages
    assert any(k.endswith("static/styles/data_docs_default_styles.css") for k in keys)
    assert list((days.platform.settings.home / "data_docs").iterdir()) == [], "local builds are cleaned up"
    index = days.platform.quality.get(site_prefix(DAY) + "index.html").decode()
    assert all(suite in index for suite in (*FEEDS, *DATASETS))
    assert days.publications[DAY].data_docs_url.endswith(f"{site_prefix(DAY)}index.html")


def test_the_daily_report_accounts_for_every_row_and_matches_the_warehouse(days):
    figures = json.loads(days.platform.quality.get(report_prefix(DAY) + "report.json"))
    html = days.platform.quality.get(report_key(DAY)).decode()

    feeds = {f["feed"]: f for f in figures["feeds"]}
    assert set(feeds) == set(FEEDS) and {f["status"] for f in feeds.values()} == {"loaded"}
    for feed in feeds.values():
        outcomes = feed["rows_quarantined"] + feed["rows_superseded"] + feed["rows_published"]
        assert feed["rows_delivered"] == outcomes and feed["rows_awaiting_merge"] == 0
        assert f'<tr id="feed-{feed["feed"]}">' in html and f"{feed['rows_delivered']:,}" in html
    assert feeds["ct_care_homes"]["quarantined_by_rule"]["count.beds_vacant.non_negative"] == 1
    assert feeds["ct_care_homes"]["quarantined_by_rule"]["answer.ppe_masks.allowed"] == 1
    assert feeds["ct_care_homes"]["rows_valid"] == feeds["ct_care_homes"]["rows_delivered"] - 2
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


def test_quarantine_is_partitioned_by_council_and_released_by_a_corrected_file(days):
    """Runs last in this module: it replaces DAY's care-home file."""
    platform, bad = days.platform, days.bad_row
    council_key = f"quarantine/la_code={bad['la_code']}/report_date={DAY.isoformat()}/part-0.parquet"
    held = read_partition(platform, council_key)
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
    unknown = f"quarantine/la_code={UNKNOWN_COUNCIL}/report_date={DAY.isoformat()}/part-0.parquet"
    assert council_key in manifest["objects"] and unknown in manifest["objects"]
    nameless = read_partition(platform, unknown).set_index("source_row").loc[[bad["nameless_row"]]]
    assert nameless[["feed", "rule", "value"]].values.tolist() == [
        ["ct_care_homes", "answer.ppe_masks.allowed", "Purple"]
    ]

    archive_delivery(platform, Delivery("ct_care_homes", DAY, days.original_file, "landing", "corrected"))
    load_feed_day(platform, "ct_care_homes", DAY)
    merge_day(platform, DAY)
    export = export_quarantine(platform, DAY)

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
    for key, row_number in ((council_key, bad["source_row"]), (unknown, bad["nameless_row"])):
        if key in export.objects:
            assert row_number not in set(read_partition(platform, key)["source_row"])
        else:
            assert key in export.removed and not platform.quality.exists(key)
    assert set(json.loads(platform.quality.get(manifest_key(DAY)))["objects"]) == set(export.objects)


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


@pytest.mark.browser
def test_the_report_renders_in_chromium_without_errors(days, tmp_path):
    figures = days.publications[DAY].figures
    store = days.platform.quality
    assert days.publications[DAY].report_url == f"{days.s3_endpoint}/{store.bucket}/{report_key(DAY)}"
    # the uploaded object itself, from the S3 endpoint (private: a pre-signed GET, as a browser would)
    url = store.client.generate_presigned_url("get_object", Params={"Bucket": store.bucket, "Key": report_key(DAY)})

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
    os.environ.get("CI") and print(f"screenshot kept at {screenshot}")
