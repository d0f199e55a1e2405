"""Delta Sharing isolation: 26 recipients, each against every other's councils, through the real
`delta_sharing` client and through raw HTTP, checked against council codes written by hand below.

The publication is the real release protocol (`publish_release`) to moto's S3 over HTTP: every
dataset on three report dates on both sides of two code changes (Northamptonshire, E10000021, is
replaced by E06000061 and E06000062 from 2021-04-01; Cumbria, E10000006, and North Yorkshire,
E10000023, by E06000063, E06000064 and E06000065 from 2023-04-01), and one correction. Every row
names its council inside the file (`la_name` is "council <code>"), so rows are checked by their
content, not only by the partition values the server declares.

The oracle is `EXPECTED` (the published councils each recipient may read, read off the ONS
reference by hand: successors read their predecessors) and `PUBLISHED` (what was published on each
date), both literal; file keys and checksums come from the release manifests, read from the bucket
with the store alone. Nothing here asks `Recipient.la_codes`, `reads()` or the server's code.

moto does not check when a pre-signed URL expires, so the S3 endpoint of this module is moto's
application behind a small WSGI layer that answers 403 "Request has expired" as S3 does once a
SigV4 (or SigV2) query signature's lifetime is over.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from careshare.access.recipients import Recipient, recipients_from
from careshare.datasets import DATASETS
from careshare.publish.docs import schema_reference
from careshare.publish.parallel import in_parallel
from careshare.publish.release import publish_release
from careshare.share.tokens import ShareTokens
from tests.conftest import REFERENCE_CSV, S3_REGION, create_buckets, make_s3_client
from tests.integration.sharing_support import (
    SCHEMA,
    SHARE,
    SharingServer,
    sharing_platform,
    start_sharing_server,
    table_url,
    write_profile,
)
from tests.unit.publish.synthetic import synthetic_table

pytestmark = pytest.mark.slow

COUNCIL_TABLES = ("la_daily_summary", "location_daily")
NATIONAL_TABLE = "provider_daily"
ROWS_PER_COUNCIL = {"location_daily": 2, "la_daily_summary": 1}  # la_daily_summary: one row per council
BEFORE_NORTHANTS, AFTER_NORTHANTS = date(2021, 3, 31), date(2021, 4, 1)  # Cumbria is still there on both
AFTER_CUMBRIA = date(2023, 4, 1)  # Cumbria and North Yorkshire county replaced
DATES = (BEFORE_NORTHANTS, AFTER_NORTHANTS, AFTER_CUMBRIA)

# Published on every date (councils valid throughout 2021-2023).
STABLE = (
    "E06000001",  # Hartlepool, North East
    "E06000006",  # Halton, North West
    "E08000035",  # Leeds, Yorkshire and The Humber
    "E08000032",  # Bradford, Yorkshire and The Humber
    "E09000001",  # City of London
    "E06000023",  # Bristol, South West
    "E10000016",  # Kent, South East
    "E06000060",  # Buckinghamshire, South East (its predecessor E10000002 ended 2020-03-31)
    "E10000034",  # Worcestershire, West Midlands (no sampled recipient but the national one)
)
PUBLISHED = {  # report date -> every council published on it (the councils valid that day)
    BEFORE_NORTHANTS: (*STABLE, "E10000021", "E10000006", "E10000023"),
    AFTER_NORTHANTS: (*STABLE, "E06000061", "E06000062", "E10000006", "E10000023"),
    AFTER_CUMBRIA: (*STABLE, "E06000061", "E06000062", "E06000063", "E06000064", "E06000065"),
}
CORRECTED_DATE, CORRECTED = AFTER_NORTHANTS, ("E06000061", "E08000035")  # a second release of the date
RELEASES = [(day, 1) for day in DATES] + [(CORRECTED_DATE, 2)]  # table version n = RELEASES[n - 1]
FIRST_COMMIT = datetime(2023, 4, 2, 8, 0, tzinfo=UTC)  # table version n is published n - 1 hours later
AT_VERSION_2 = "2023-04-02T09:30:00Z"  # after version 2's commit, before version 3's

RECIPIENTS_TOML = """
[councils]
each = true
successors_read_predecessors = true

[[groups]]
id = "lrf-northamptonshire"
name = "Northamptonshire Local Resilience Forum"
kind = "lrf"
la_codes = ["E06000061", "E06000062"]

[[groups]]
id = "lrf-cumbria"
name = "Cumbria Local Resilience Forum"
kind = "lrf"
la_codes = ["E10000006", "E06000063", "E06000064"]

[[groups]]
id = "lrf-west-yorkshire"
name = "West Yorkshire Resilience Forum"
kind = "lrf"
la_codes = ["E08000032", "E08000033", "E08000034", "E08000035", "E08000036"]

[[groups]]
id = "lrf-north-yorkshire"
name = "North Yorkshire Local Resilience Forum"
kind = "lrf"
la_codes = ["E06000065", "E06000014"]

[[groups]]
id = "lrf-london"
name = "London Resilience Forum"
kind = "lrf"
regions = ["E12000007"]

[[groups]]
id = "lrf-merseyside"
name = "Merseyside Resilience Forum"
kind = "lrf"
la_codes = ["E06000006", "E08000011", "E08000012", "E08000013", "E08000014", "E08000015"]

[[groups]]
id = "ccg-leeds"
name = "NHS Leeds CCG"
kind = "ccg"
la_codes = ["E08000035"]

[[groups]]
id = "ccg-kent-and-medway"
name = "NHS Kent and Medway CCG"
kind = "ccg"
la_codes = ["E10000016", "E06000035"]

[[groups]]
id = "ccg-bristol-north-somerset-south-glos"
name = "NHS Bristol, North Somerset and South Gloucestershire CCG"
kind = "ccg"
la_codes = ["E06000023", "E06000024", "E06000025"]

[[groups]]
id = "region-east-midlands"
name = "East Midlands regional body"
kind = "region"
regions = ["E12000004"]

[[groups]]
id = "adass-north-west"
name = "ADASS North West"
kind = "region"
regions = ["E12000002"]

[[groups]]
id = "other-north-east-and-kent"
name = "North East councils and Kent"
kind = "other"
regions = ["E12000001"]
la_codes = ["E10000016"]

[[national]]
id = "dhsc"
name = "Department of Health and Social Care"
"""

# Written by hand from the council reference (local_authorities.csv): the published councils each
# recipient may read (its own, its predecessors', its group's or region's), on any date.
EXPECTED: dict[str, frozenset[str]] = {
    "la-e06000061": frozenset({"E06000061", "E10000021"}),  # North Northamptonshire and its predecessor
    "la-e06000062": frozenset({"E06000062", "E10000021"}),  # West Northamptonshire and its predecessor
    "la-e10000021": frozenset({"E10000021"}),  # Northamptonshire, until 2021-03-31
    "la-e06000063": frozenset({"E06000063", "E10000006"}),  # Cumberland and Cumbria
    "la-e06000064": frozenset({"E06000064", "E10000006"}),  # Westmorland and Furness and Cumbria
    "la-e10000006": frozenset({"E10000006"}),  # Cumbria, until 2023-03-31
    "la-e06000065": frozenset({"E06000065", "E10000023"}),  # North Yorkshire (unitary) and the county
    "la-e10000023": frozenset({"E10000023"}),  # North Yorkshire county, until 2023-03-31
    "la-e08000035": frozenset({"E08000035"}),  # Leeds
    "la-e09000001": frozenset({"E09000001"}),  # City of London
    "la-e06000060": frozenset({"E06000060"}),  # Buckinghamshire (E10000002 is not on these dates)
    "la-e06000001": frozenset({"E06000001"}),  # Hartlepool
    "la-e10000016": frozenset({"E10000016"}),  # Kent
    "lrf-northamptonshire": frozenset({"E06000061", "E06000062", "E10000021"}),
    "lrf-cumbria": frozenset({"E10000006", "E06000063", "E06000064"}),
    "lrf-west-yorkshire": frozenset({"E08000032", "E08000035"}),
    "lrf-north-yorkshire": frozenset({"E06000065", "E10000023"}),
    "lrf-london": frozenset({"E09000001"}),
    "lrf-merseyside": frozenset({"E06000006"}),
    "ccg-leeds": frozenset({"E08000035"}),
    "ccg-kent-and-medway": frozenset({"E10000016"}),
    "ccg-bristol-north-somerset-south-glos": frozenset({"E06000023"}),
    "region-east-midlands": frozenset({"E06000061", "E06000062", "E10000021"}),
    "adass-north-west": frozenset({"E06000006", "E10000006", "E06000063", "E06000064"}),
    "other-north-east-and-kent": frozenset({"E06000001", "E10000016"}),
    "dhsc": frozenset(
        {
            *STABLE,
            "E10000021",
            "E06000061",
            "E06000062",
            "E10000006",
            "E06000063",
            "E06000064",
            "E10000023",
            "E06000065",
        }
    ),
}
NATIONAL = {"dhsc"}
EXPIRED_RECIPIENT, REVOKED_RECIPIENT = "la-e06000052", "la-e06000009"  # outside the sample: their tokens die
TABLES_OF = {r: (*COUNCIL_TABLES, NATIONAL_TABLE) if r in NATIONAL else COUNCIL_TABLES for r in EXPECTED}
RELEASE_KEY = re.compile(
    r"^(?P<table>[a-z_]+)/(?:la_code=(?P<la_code>E\d{8})/)?_releases/report_date=(?P<day>\d{4}-\d{2}-\d{2})/"
    r"(?P<sha>[0-9a-f]{64})(?:\.cdf)?\.parquet$"
)  # a release's Parquet, or its change data (`.cdf.parquet`)
CHANGE_DATA = -1  # world.keys[(table, CHANGE_DATA)]: the change data files of every release


# --- an S3 endpoint whose pre-signed URLs expire -------------------------------------------------


EXPIRING_S3 = r"""
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

EXPIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)


def expired(query, now):
    if "X-Amz-Expires" in query and "X-Amz-Date" in query:
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return now > signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))
    if "Expires" in query and "Signature" in query:
        return now.timestamp() > int(query["Expires"][0])
    return False


class ExpiringSignatures:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if expired(parse_qs(environ.get("QUERY_STRING", "")), datetime.now(UTC)):
            headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(EXPIRED)))]
            start_response("403 Forbidden", headers)
            return [EXPIRED]
        return self.app(environ, start_response)


app = ExpiringSignatures(DomainDispatcherApplication(create_backend_app))
server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
print(server.server_port, flush=True)
import threading
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
"""


@pytest.fixture(scope="module")
def expiring_s3() -> Iterator[str]:
    """moto's S3 in a process of its own (it works while the tests' threads work), answering a
    pre-signed request after its lifetime with S3's 403 "Request has expired"."""
    process = subprocess.Popen(
        [sys.executable, "-c", EXPIRING_S3], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()
        process.wait(timeout=30)


# --- the world: publication, recipients, tokens, server ------------------------------------------


@dataclass
class World:
    platform: Any
    s3_endpoint: str
    recipients: list[Recipient]
    tokens: dict[str, str]  # recipient id -> bearer token
    server: SharingServer
    profiles: dict[str, Path]
    dead_tokens: dict[str, str]  # unknown / expired / revoked -> bearer token
    keys: dict[tuple[str, int], dict[tuple[str | None, date], dict[str, Any]]] = field(default_factory=dict)
    # (table, table version) -> (la_code or None, report date) -> the manifest's parquet entry

    def expected_files(self, recipient_id: str, table: str, version: int | None = None) -> dict[str, tuple]:
        """object key -> (la_code or None, report date): the release files the recipient may be given."""
        everything = self.keys[(table, version or len(RELEASES))]
        return {
            entry["key"]: where
            for where, entry in everything.items()
            if recipient_id in NATIONAL or where[0] in EXPECTED[recipient_id]
        }


def release_table(dataset_name: str, day: date, version: int) -> pa.Table:
    """Each council's rows; `la_name` names the council inside the file; a correction edits some."""
    dataset = DATASETS[dataset_name]
    rows = ROWS_PER_COUNCIL.get(dataset_name, 2)
    parts = []
    for code in sorted(PUBLISHED[day]):
        edition = 1 if version == 2 and code in CORRECTED else 0
        part = synthetic_table(dataset, day, {code: rows}, edition=edition)
        if "la_name" in part.column_names:
            at = part.column_names.index("la_name")
            part = part.set_column(at, part.schema.field(at), pa.array([f"council {code}"] * part.num_rows))
        parts.append(part)
    return pa.concat_tables(parts)


def publish(platform) -> dict[tuple[str, int], dict[tuple[str | None, date], dict[str, Any]]]:
    """Every release in RELEASES for every dataset; then what each table version holds, from the
    release manifests read back from the bucket."""

    def timeline(dataset) -> None:  # the datasets' keys are disjoint: one thread each
        for number, (day, version) in enumerate(RELEASES, start=1):
            moment = FIRST_COMMIT + timedelta(hours=number - 1)
            outcome = publish_release(
                platform.publication,
                dataset,
                day,
                release_table(dataset.name, day, version),
                platform.local_authorities,
                schema=schema_reference(dataset),
                now=lambda moment=moment: moment,
            )
            assert outcome.new and outcome.version == version, outcome.as_dict()

    in_parallel(timeline, list(DATASETS.values()))
    keys = {}
    for table in DATASETS:
        for table_version in range(1, len(RELEASES) + 1):
            newest = dict(RELEASES[:table_version])  # report date -> its newest release by then
            found = {}
            for day, version in newest.items():
                manifest_key = f"_manifests/{table}/report_date={day.isoformat()}/v{version:04d}.json"
                manifest = json.loads(platform.publication.get(manifest_key))
                for label, part in manifest["parts"].items():
                    found[(None if label == "national" else label, day)] = part["files"]["parquet"]
            keys[(table, table_version)] = found
        keys[(table, CHANGE_DATA)] = {
            (None if label == "national" else label, day): entry["change_data"]
            for day, version in RELEASES
            for label, entry in change_data_of(platform, table, day, version).items()
        }
    return keys


def change_data_of(platform, table: str, day: date, version: int) -> dict[str, dict[str, Any]]:
    """label -> the change data file a release's manifest names (parts and withdrawn councils)."""
    manifest = json.loads(
        platform.publication.get(f"_manifests/{table}/report_date={day.isoformat()}/v{version:04d}.json")
    )
    scopes = {**manifest["parts"], **manifest["withdrawn"]}
    return {label: entry for label, entry in scopes.items() if entry.get("change_data")}


@pytest.fixture(scope="module")
def world(expiring_s3, tmp_path_factory) -> Iterator[World]:
    s3 = make_s3_client(expiring_s3)
    bucket = f"careshare-isolation-{uuid.uuid4().hex[:10]}"
    create_buckets(s3, bucket)
    home = tmp_path_factory.mktemp("sharing-isolation")
    platform = sharing_platform(home, bucket, s3)
    platform.warehouse.migrate()
    keys = publish(platform)
    recipients = recipients_from(tomllib.loads(RECIPIENTS_TOML), platform.local_authorities, home / "recipients.toml")
    tokens = ShareTokens(platform.warehouse)
    issued = {r: tokens.issue(r, timedelta(hours=1)).token for r in EXPECTED}
    expired = tokens.issue(EXPIRED_RECIPIENT, timedelta(minutes=5), now=datetime.now(UTC) - timedelta(hours=1))
    revoked = tokens.issue(REVOKED_RECIPIENT, timedelta(hours=1))
    assert tokens.revoke(REVOKED_RECIPIENT) == 1
    dead = {"unknown": "not-a-token-" + uuid.uuid4().hex, "expired": expired.token, "revoked": revoked.token}
    with start_sharing_server(platform, recipients, tokens.recipient_of) as server:
        profiles = {r: write_profile(home / f"{r}.share", server.endpoint, token) for r, token in issued.items()}
        yield World(platform, expiring_s3, recipients, issued, server, profiles, dead, keys)
    platform.warehouse.engine.dispose()


# --- raw HTTP -------------------------------------------------------------------------------------


def http(world: World, token: str | None, method: str, path: str, **options) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.request(method, f"{world.server.endpoint}{path}", headers=headers, timeout=30, **options)


def table_path(table: str, what: str) -> str:
    return f"/shares/{SHARE}/schemas/{SCHEMA}/tables/{table}/{what}"


def ndjson(response: requests.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def file_actions(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every action that points at a file (parquet format `file`; change feed `add`, `cdf`, `remove`)."""
    return [line[kind] for line in lines for kind in ("file", "add", "cdf", "remove") if kind in line]


def all_items(world: World, token: str, path: str) -> list[dict[str, Any]]:
    """Every page of a listing, one item a page (`maxResults=1`), following `nextPageToken`."""
    items, page = [], None
    for _ in range(50):
        params = {"maxResults": 1} | ({"pageToken": page} if page else {})
        response = http(world, token, "GET", path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        body = response.json()
        items += body.get("items", [])
        page = body.get("nextPageToken")
        if not page:
            return items
    raise AssertionError(f"{path}: more than 50 pages")


@dataclass
class Answer:
    """One recipient's answer to one request that lists files."""

    recipient: str
    request: str
    table: str
    files: list[dict[str, Any]]


def key_of(url: str) -> str:
    """The object key a pre-signed URL reads (path style: /<bucket>/<key>)."""
    return unquote(urlsplit(url).path.split("/", 2)[2])


def file_problems(world: World, answer: Answer, expected: dict[str, tuple], *, exact: bool) -> list[str]:
    """What is wrong with an answer's files: another council's, a key that is not the manifest's
    release file, partition values that contradict the key, or (`exact`) missing files."""
    problems = []
    allowed = expected
    seen = set()
    for entry in answer.files:
        url = entry.get("url", "")
        if not url.startswith(world.s3_endpoint + "/"):
            problems.append(f"{answer.recipient} {answer.request}: URL not on the S3 endpoint: {url[:120]}")
            continue
        key = key_of(url)
        match = RELEASE_KEY.match(key)
        values = entry.get("partitionValues", {})
        if match is None or match["table"] != answer.table:
            problems.append(f"{answer.recipient} {answer.request}: {key} is not a release file of {answer.table}")
            continue
        if match["la_code"] and match["la_code"] not in EXPECTED[answer.recipient]:
            problems.append(f"{answer.recipient} {answer.request}: another recipient's council: {key}")
        if key not in allowed:
            problems.append(f"{answer.recipient} {answer.request}: not a file it may see there: {key}")
        if values.get("la_code") != match["la_code"] or values.get("report_date") != match["day"]:
            problems.append(f"{answer.recipient} {answer.request}: partitionValues {values} but key {key}")
        seen.add(key)
    if exact and seen != set(allowed):
        missing = sorted(set(allowed) - seen)
        problems.append(f"{answer.recipient} {answer.request}: {len(missing)} files missing, e.g. {missing[:3]}")
    return problems


def raw_answers(world: World, recipient: str) -> list[Answer]:
    """Latest, every older version, the change feed and hostile hints, for every table it sees."""
    token = world.tokens[recipient]
    answers = []
    for table in TABLES_OF[recipient]:
        for request, body in [
            ("query", {}),
            *((f"query version {v}", {"version": v}) for v in range(1, len(RELEASES) + 1)),
            ("query timestamp of version 2", {"timestamp": AT_VERSION_2}),
        ]:
            response = http(world, token, "POST", table_path(table, "query"), json=body)
            assert response.status_code == 200, (recipient, table, request, response.status_code, response.text)
            assert "delta-table-version" in response.headers, (recipient, table, request)
            answers.append(Answer(recipient, request, table, file_actions(ndjson(response))))
        for request, params in [
            ("changes from version 1", {"startingVersion": 1}),
            ("changes from the first commit", {"startingTimestamp": "2023-04-02T08:00:00Z", "endingVersion": 4}),
        ]:
            response = http(world, token, "GET", table_path(table, "changes"), params=params)
            assert response.status_code == 200, (recipient, table, request, response.status_code, response.text)
            answers.append(Answer(recipient, request, table, file_actions(ndjson(response))))
    return answers


@pytest.fixture(scope="module")
def answers(world) -> dict[str, list[Answer]]:
    found = in_parallel(lambda r: raw_answers(world, r), list(EXPECTED))
    return dict(zip(EXPECTED, found, strict=True))


# --- the sample itself ----------------------------------------------------------------------------


def test_the_sample_is_large_varied_and_its_expectation_names_published_councils(world):
    configured = {r.id: r for r in world.recipients}
    assert len(EXPECTED) >= 20 and set(EXPECTED) <= set(configured)
    assert {configured[r].kind for r in EXPECTED} == {"council", "lrf", "ccg", "region", "other", "national"}
    published = set().union(*map(set, PUBLISHED.values()))
    assert all(codes <= published for codes in EXPECTED.values())
    assert EXPECTED["dhsc"] == published
    # every published council is seen by some non-national recipient or deliberately by none
    unseen = published - set().union(*(codes for r, codes in EXPECTED.items() if r not in NATIONAL))
    assert unseen == {"E10000034"}
    assert world.platform.settings.reference_csv == REFERENCE_CSV  # the reference EXPECTED was read from


# --- raw HTTP ---------------------------------------------------------------------------------------


def test_each_recipient_lists_exactly_its_share_schema_and_tables(world):
    def check(recipient: str) -> list[str]:
        token, problems = world.tokens[recipient], []
        listings = {
            "shares": ([i["name"] for i in all_items(world, token, "/shares")], [SHARE]),
            "schemas": ([i["name"] for i in all_items(world, token, f"/shares/{SHARE}/schemas")], [SCHEMA]),
            "tables": (
                sorted(i["name"] for i in all_items(world, token, f"/shares/{SHARE}/schemas/{SCHEMA}/tables")),
                sorted(TABLES_OF[recipient]),
            ),
            "all-tables": (
                sorted(i["name"] for i in all_items(world, token, f"/shares/{SHARE}/all-tables")),
                sorted(TABLES_OF[recipient]),
            ),
        }
        for what, (got, wanted) in listings.items():
            if got != wanted:
                problems.append(f"{recipient} {what}: got {got}, expected {wanted}")
        return problems

    assert [p for found in in_parallel(check, list(EXPECTED)) for p in found] == []


def test_each_recipient_gets_exactly_its_councils_files_at_the_latest_version(world, answers):
    problems = []
    for recipient, found in answers.items():
        for answer in (a for a in found if a.request == "query"):
            expected = world.expected_files(recipient, answer.table)
            problems += file_problems(world, answer, expected, exact=True)
            councils = {f.get("partitionValues", {}).get("la_code") for f in answer.files}
            wanted = {None} if answer.table == NATIONAL_TABLE else set(EXPECTED[recipient])
            if councils != wanted:
                problems.append(f"{recipient} {answer.table}: la_code values {sorted(map(str, councils))}")
            pairs = {
                (f["partitionValues"].get("la_code"), f["partitionValues"].get("report_date")) for f in answer.files
            }
            wanted_pairs = (
                {(None, d.isoformat()) for d in DATES}
                if answer.table == NATIONAL_TABLE
                else {(c, d.isoformat()) for d in DATES for c in PUBLISHED[d] if c in EXPECTED[recipient]}
            )
            if pairs != wanted_pairs:
                problems.append(f"{recipient} {answer.table}: (la_code, date) {sorted(pairs, key=str)}")
    assert problems == []


def test_older_versions_and_the_change_feed_stay_within_the_recipients_councils(world, answers):
    problems = []
    for recipient, found in answers.items():
        for answer in found:
            if answer.request.startswith("query version") or answer.request.startswith("query timestamp"):
                version = int(answer.request.rsplit(" ", 1)[1])
                expected = world.expected_files(recipient, answer.table, version)
                problems += file_problems(world, answer, expected, exact=True)
            elif answer.request.startswith("changes"):
                every_version = {}
                for version in (*range(1, len(RELEASES) + 1), CHANGE_DATA):
                    every_version |= world.expected_files(recipient, answer.table, version)
                problems += file_problems(world, answer, every_version, exact=False)
                if not answer.files:
                    problems.append(f"{recipient} {answer.table}: the change feed lists no file")
    assert problems == []


def test_no_url_of_a_council_reaches_a_recipient_not_entitled_to_it(world, answers):
    keys_of = {r: {key_of(f["url"]) for a in found for f in a.files if "url" in f} for r, found in answers.items()}
    problems = []
    for owner, keys in keys_of.items():
        for key in keys:
            match = RELEASE_KEY.match(key)
            council = match["la_code"] if match else None
            for other, their_keys in keys_of.items():
                entitled = other in NATIONAL or (council is not None and council in EXPECTED[other])
                if not entitled and key in their_keys:
                    problems.append(f"{key} (seen by {owner}) also reached {other}")
    assert problems == []
    assert all(keys_of[r] for r in EXPECTED)


def test_every_url_reads_the_release_file_its_manifest_names_and_lives_minutes(world, answers):
    sha_of = {entry["key"]: entry["sha256"] for found in world.keys.values() for entry in found.values()}
    urls = {}
    for found in answers.values():
        for answer in found:
            for entry in answer.files:
                urls.setdefault(key_of(entry["url"]), entry["url"])
    lifetimes = {int(parse_qs(urlsplit(url).query).get("X-Amz-Expires", ["0"])[0]) for url in urls.values()}
    assert lifetimes and all(0 < lifetime <= 15 * 60 for lifetime in lifetimes), lifetimes

    def read(key: str) -> str | None:
        """The bytes the manifest names, whose every row is the council of the key."""
        response = requests.get(urls[key], timeout=30)
        if response.status_code != 200:
            return f"{key}: {response.status_code}"
        if hashlib.sha256(response.content).hexdigest() != sha_of.get(key):
            return f"{key}: other bytes"
        council = RELEASE_KEY.match(key)["la_code"]
        rows = pq.read_table(io.BytesIO(response.content))
        if council and set(rows.column("la_name").to_pylist()) != {f"council {council}"}:
            return f"{key}: rows of {sorted(set(rows.column('la_name').to_pylist()))}"
        return None

    assert [p for p in in_parallel(read, sorted(urls)) if p] == []


def test_provider_daily_does_not_exist_for_a_non_national_recipient(world):
    problems = []
    for recipient in sorted(set(EXPECTED) - NATIONAL):
        token = world.tokens[recipient]
        for name in ("PROVIDER_DAILY", "Provider_Daily", "provider_daily ", "provider_daily.parquet"):
            variant = http(world, token, "POST", table_path(name, "query"), json={})
            if variant.status_code != 404 or "url" in variant.text:
                problems.append(f"{recipient} {name!r}: {variant.status_code} {variant.text[:200]}")
        head = http(world, token, "HEAD", f"/shares/{SHARE}/schemas/{SCHEMA}/tables/{NATIONAL_TABLE}")
        unknown_head = http(world, token, "HEAD", f"/shares/{SHARE}/schemas/{SCHEMA}/tables/no_such_table")
        if head.status_code != unknown_head.status_code or head.headers.get("delta-table-version"):
            problems.append(f"{recipient} HEAD provider_daily: {head.status_code} {dict(head.headers)}")
        for what, method, options in [
            ("query", "POST", {"json": {}}),
            ("metadata", "GET", {}),
            ("version", "GET", {}),
            ("changes", "GET", {"params": {"startingVersion": 1}}),
        ]:
            hidden = http(world, token, method, table_path(NATIONAL_TABLE, what), **options)
            unknown = http(world, token, method, table_path("no_such_table", what), **options)
            if hidden.status_code != 404 or unknown.status_code != 404:
                problems.append(
                    f"{recipient} {what}: provider_daily {hidden.status_code}, unknown {unknown.status_code}"
                )
            if "url" in hidden.text or "provider_id" in hidden.text:
                problems.append(f"{recipient} {what}: provider_daily answered {hidden.text[:200]}")
            if hidden.status_code == 404 and hidden.json().get("errorCode") != unknown.json().get("errorCode"):
                problems.append(f"{recipient} {what}: provider_daily {hidden.text} vs unknown {unknown.text}")
    assert problems == []


def test_hints_and_page_tokens_never_widen_what_a_recipient_sees(world):
    foreign = "E10000034"  # Worcestershire: published, no sampled recipient but the national one reads it
    equal_foreign = {
        "op": "equal",
        "children": [
            {"op": "column", "name": "la_code", "valueType": "string"},
            {"op": "literal", "value": foreign, "valueType": "string"},
        ],
    }
    any_council = {
        "op": "or",
        "children": [
            {
                "op": "equal",
                "children": [
                    {"op": "column", "name": "la_code", "valueType": "string"},
                    {"op": "literal", "value": code, "valueType": "string"},
                ],
            }
            for code in sorted(EXPECTED["dhsc"])
        ],
    }
    bodies = {
        "json hint on a foreign council": {"jsonPredicateHints": json.dumps(equal_foreign)},
        "json hint on every council": {"jsonPredicateHints": json.dumps(any_council)},
        "sql hint on a foreign council": {"predicateHints": [f"la_code = '{foreign}'"]},
        "sql hint that is always true": {"predicateHints": ["1 = 1 OR la_code <> ''"]},
        "limit": {"limitHint": 1000000},
    }
    national_page = http(world, world.tokens["dhsc"], "GET", f"/shares/{SHARE}/all-tables", params={"maxResults": 2})
    page_token = national_page.json().get("nextPageToken")
    national_query = http(
        world, world.tokens["dhsc"], "POST", table_path("location_daily", "query"), json={"maxFiles": 3}
    )
    file_page = next(
        line["endStreamAction"]["nextPageToken"] for line in ndjson(national_query) if "endStreamAction" in line
    )
    problems = []
    for recipient in sorted(set(LOADED) - NATIONAL):  # a sample: the hints' path is the same for all
        token = world.tokens[recipient]
        for name, body in bodies.items():
            response = http(world, token, "POST", table_path("location_daily", "query"), json=body)
            if response.status_code != 200:
                if response.status_code >= 500:
                    problems.append(f"{recipient} {name}: {response.status_code} {response.text[:200]}")
                continue
            answer = Answer(recipient, name, "location_daily", file_actions(ndjson(response)))
            problems += file_problems(world, answer, world.expected_files(recipient, "location_daily"), exact=False)
        paged, page, pages = [], None, 0
        while pages < 60:  # the recipient's own pages, two files each: together exactly its files
            body = {"maxFiles": 2} | ({"pageToken": page} if page else {})
            response = http(world, token, "POST", table_path("location_daily", "query"), json=body)
            assert response.status_code == 200, (recipient, response.status_code, response.text)
            lines, pages = ndjson(response), pages + 1
            paged += file_actions(lines)
            page = next(
                (line["endStreamAction"].get("nextPageToken") for line in lines if "endStreamAction" in line), None
            )
            if not page:
                break
        answer = Answer(recipient, "query in pages of 2", "location_daily", paged)
        problems += file_problems(world, answer, world.expected_files(recipient, "location_daily"), exact=True)
        if len(paged) != len(world.expected_files(recipient, "location_daily")):
            problems.append(f"{recipient}: {len(paged)} files in {pages} pages")
        response = http(
            world, token, "POST", table_path("location_daily", "query"), json={"maxFiles": 50, "pageToken": file_page}
        )
        if response.status_code >= 500:
            problems.append(f"{recipient}: the national recipient's query page token -> {response.status_code}")
        elif response.status_code == 200:
            answer = Answer(recipient, "query with dhsc's page token", "location_daily", file_actions(ndjson(response)))
            problems += file_problems(world, answer, world.expected_files(recipient, "location_daily"), exact=False)
        if page_token:
            response = http(world, token, "GET", f"/shares/{SHARE}/all-tables", params={"pageToken": page_token})
            if response.status_code == 200 and NATIONAL_TABLE in response.text:
                problems.append(f"{recipient}: the national recipient's page token listed {NATIONAL_TABLE}")
            if response.status_code >= 500:
                problems.append(f"{recipient}: page token -> {response.status_code}")
    assert problems == []


def test_the_oracle_catches_a_server_that_leaks_one_council(world):
    """The checks above are not vacuous: a server told that Leeds's CCG also reads Worcestershire
    answers with a file the hand-written expectation refuses."""
    leaky = [
        Recipient(r.id, r.name, r.kind, r.la_codes | {"E10000034"}) if r.id == "ccg-leeds" else r
        for r in world.recipients
    ]
    with start_sharing_server(world.platform, leaky, ShareTokens(world.platform.warehouse).recipient_of) as server:
        response = requests.post(
            f"{server.endpoint}{table_path('location_daily', 'query')}",
            headers={"Authorization": f"Bearer {world.tokens['ccg-leeds']}"},
            json={},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    answer = Answer("ccg-leeds", "query (leaky server)", "location_daily", file_actions(ndjson(response)))
    problems = file_problems(world, answer, world.expected_files("ccg-leeds", "location_daily"), exact=True)
    assert any("another recipient's council" in p and "E10000034" in p for p in problems), problems


# --- the delta_sharing client -------------------------------------------------------------------


def client_of(profile: Path):
    """The client's REST client, without its retries (a failing server would make them minutes)."""
    from delta_sharing.protocol import DeltaSharingProfile
    from delta_sharing.rest_client import DataSharingRestClient

    return DataSharingRestClient(DeltaSharingProfile.read_from_file(str(profile)), num_retries=0)


def load_as_pandas(profile: Path, table: str, **options):
    """`delta_sharing.load_as_pandas(table_url(profile, table), ...)`, through a client without retries."""
    from delta_sharing.protocol import Table
    from delta_sharing.reader import DeltaSharingReader

    return DeltaSharingReader(
        table=Table(name=table, share=SHARE, schema=SCHEMA), rest_client=client_of(profile), **options
    ).to_pandas()


def test_the_client_lists_exactly_each_recipients_tables_and_files(world):
    import delta_sharing
    from delta_sharing.protocol import Table

    def check(recipient: str) -> list[str]:
        profile, problems = world.profiles[recipient], []
        listed = sorted(t.name for t in delta_sharing.SharingClient(str(profile)).list_all_tables())
        if listed != sorted(TABLES_OF[recipient]):
            problems.append(f"{recipient}: list_all_tables {listed}")
        for table in TABLES_OF[recipient]:
            response = client_of(profile).list_files_in_table(Table(name=table, share=SHARE, schema=SCHEMA))
            files = [{"url": f.url, "partitionValues": f.partition_values} for f in response.add_files]
            answer = Answer(recipient, "client list_files_in_table", table, files)
            problems += file_problems(world, answer, world.expected_files(recipient, table), exact=True)
        return problems

    assert [p for found in in_parallel(check, list(EXPECTED)) for p in found] == []


# Rows through `load_as_pandas` (every file of every answer is also read and checked row by row in
# test_every_url_reads_...): councils on both sides of each code change, and each kind of group.
LOADED = {
    "la-e06000061": COUNCIL_TABLES,
    "la-e10000021": COUNCIL_TABLES,
    "la-e06000064": COUNCIL_TABLES,
    "lrf-cumbria": COUNCIL_TABLES,
    "lrf-north-yorkshire": ("location_daily",),
    "region-east-midlands": ("location_daily",),
    "adass-north-west": ("la_daily_summary",),
    "ccg-leeds": ("location_daily",),
    "other-north-east-and-kent": ("la_daily_summary",),
    "dhsc": (NATIONAL_TABLE,),
}


def test_the_client_loads_exactly_the_rows_of_each_recipients_councils(world):
    def check(recipient: str) -> list[str]:
        profile, problems = world.profiles[recipient], []
        for table in LOADED[recipient]:
            frame = load_as_pandas(profile, table)
            if table == NATIONAL_TABLE:
                wanted_rows = 2 * sum(len(codes) for codes in PUBLISHED.values())
                if len(frame) != wanted_rows:
                    problems.append(f"{recipient} {table}: {len(frame)} rows, expected {wanted_rows}")
                continue
            codes = set(frame["la_code"])
            if codes != EXPECTED[recipient]:
                problems.append(f"{recipient} {table}: rows of {sorted(codes)}, expected {sorted(EXPECTED[recipient])}")
            named = set(frame["la_name"])
            if named != {f"council {c}" for c in EXPECTED[recipient]}:
                problems.append(f"{recipient} {table}: file contents name {sorted(named)}")
            if any(frame["la_name"] != "council " + frame["la_code"]):
                problems.append(f"{recipient} {table}: a file's rows are not the council its partition names")
            pairs = {(c, d) for d in DATES for c in PUBLISHED[d] if c in EXPECTED[recipient]}
            if set(zip(frame["la_code"], frame["report_date"], strict=True)) != pairs:
                problems.append(f"{recipient} {table}: (council, date) of the rows differ from those published")
            wanted = ROWS_PER_COUNCIL[table] * len(pairs)
            if len(frame) != wanted:
                problems.append(f"{recipient} {table}: {len(frame)} rows, expected {wanted}")
        return problems

    assert [p for found in in_parallel(check, list(LOADED)) for p in found] == []


def test_the_clients_change_feed_holds_only_the_recipients_councils(world):
    from delta_sharing.protocol import CdfOptions, Table
    from delta_sharing.reader import DeltaSharingReader

    for recipient in ("la-e06000061", "ccg-leeds", "lrf-northamptonshire", "la-e10000021"):
        reader = DeltaSharingReader(
            table=Table(name="location_daily", share=SHARE, schema=SCHEMA),
            rest_client=client_of(world.profiles[recipient]),
        )
        frame = reader.table_changes_to_pandas(CdfOptions(starting_version=1))
        assert len(frame) and set(frame["la_code"]) == EXPECTED[recipient], (recipient, set(frame["la_code"]))
        assert all(frame["la_name"] == "council " + frame["la_code"]), recipient


def test_the_client_with_a_hint_on_a_foreign_council_loads_nothing_of_it(world):
    hint = json.dumps(
        {
            "op": "equal",
            "children": [
                {"op": "column", "name": "la_code", "valueType": "string"},
                {"op": "literal", "value": "E06000061", "valueType": "string"},
            ],
        }
    )
    for recipient in ("la-e10000021", "la-e08000035", "lrf-cumbria", "adass-north-west"):
        frame = load_as_pandas(world.profiles[recipient], "location_daily", jsonPredicateHints=hint)
        assert set(frame["la_code"]) <= EXPECTED[recipient] and "E06000061" not in set(frame["la_code"]), recipient
    assert table_url(world.profiles["dhsc"], "location_daily").endswith("#careshare.published.location_daily")


# --- URLs and tokens that have died ---------------------------------------------------------------


def test_a_pre_signed_url_once_expired_no_longer_reads(world):
    tokens = ShareTokens(world.platform.warehouse)
    with start_sharing_server(
        world.platform, world.recipients, tokens.recipient_of, url_lifetime=timedelta(seconds=2)
    ) as short:
        response = requests.post(
            f"{short.endpoint}{table_path('location_daily', 'query')}",
            headers={"Authorization": f"Bearer {world.tokens['la-e06000061']}"},
            json={},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    urls = [f["url"] for f in file_actions(ndjson(response))]
    assert urls and all(key_of(u).startswith("location_daily/la_code=E") for u in urls)
    query = parse_qs(urlsplit(urls[0]).query)
    assert int(query["X-Amz-Expires"][0]) <= 2, query["X-Amz-Expires"]
    fresh = requests.get(urls[0], timeout=30)
    assert fresh.status_code == 200 and fresh.content.startswith(b"PAR1")
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ends = signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))
    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 1.1)
    for url in urls:
        stale = requests.get(url, timeout=30)
        assert stale.status_code == 403 and b"Request has expired" in stale.content, (stale.status_code, url)


def test_unknown_expired_and_revoked_tokens_get_401_naming_nothing(world):
    requests_to_try = [
        ("GET", "/shares", {}),
        ("GET", f"/shares/{SHARE}", {}),
        ("GET", f"/shares/{SHARE}/schemas", {}),
        ("GET", f"/shares/{SHARE}/schemas/{SCHEMA}/tables", {}),
        ("GET", f"/shares/{SHARE}/all-tables", {}),
        ("POST", table_path("location_daily", "query"), {"json": {}}),
        ("POST", table_path(NATIONAL_TABLE, "query"), {"json": {}}),
        ("GET", table_path("la_daily_summary", "metadata"), {}),
        ("GET", table_path("la_daily_summary", "version"), {}),
        ("GET", table_path("location_daily", "changes"), {"params": {"startingVersion": 1}}),
        ("POST", "/shares/no-such-share/schemas/nothing/tables/none/query", {"json": {}}),
    ]
    names = {
        SHARE,
        SCHEMA,
        *DATASETS,
        *EXPECTED,
        EXPIRED_RECIPIENT,
        REVOKED_RECIPIENT,
        *EXPECTED["dhsc"],
        "no-such-share",
        "nothing",
    }
    tokens = dict(world.dead_tokens) | {"missing": None, "empty": "", "oversized": "x" * 5000}
    bodies, problems = set(), []
    for kind, token in tokens.items():
        for method, path, options in requests_to_try:
            if token is None:
                response = requests.request(method, f"{world.server.endpoint}{path}", timeout=30, **options)
            else:
                response = http(world, token, method, path, **options)
            if response.status_code != 401:
                problems.append(f"{kind} token {method} {path}: {response.status_code} {response.text[:200]}")
                continue
            named = sorted(n for n in names | {token or "-"} if n.lower() in response.text.lower())
            if named:
                problems.append(f"{kind} token {method} {path}: the body names {named}: {response.text[:200]}")
            bodies.add(response.text)
    assert problems == []
    assert len(bodies) == 1, bodies  # one answer, whatever was asked and whichever token failed
    still = ShareTokens(world.platform.warehouse)
    assert still.recipient_of(world.dead_tokens["expired"]) is None
    assert still.recipient_of(world.dead_tokens["revoked"]) is None
    assert still.recipient_of(world.tokens["dhsc"]) == "dhsc"


def test_a_token_that_runs_out_while_in_use_gets_the_same_401(world):
    tokens = ShareTokens(world.platform.warehouse)
    issued = tokens.issue("la-e06000063", timedelta(seconds=2))
    path = table_path("location_daily", "query")
    before = http(world, issued.token, "POST", path, json={})
    assert before.status_code == 200, before.text
    time.sleep(max(0.0, (issued.expires_at - datetime.now(UTC)).total_seconds()) + 0.5)
    after = http(world, issued.token, "POST", path, json={})
    unknown = http(world, world.dead_tokens["unknown"], "POST", path, json={})
    assert (after.status_code, after.text) == (401, unknown.text)
    assert http(world, world.tokens["la-e06000063"], "POST", path, json={}).status_code == 200  # its other token


def test_s3_endpoint_itself_expires_signatures(world):
    """The oracle of the expiry test: this endpoint refuses a boto3 URL signed for one second, once
    the second is over, and serves it before."""
    s3 = make_s3_client(world.s3_endpoint)
    key = world.keys[("location_daily", 1)][("E06000001", BEFORE_NORTHANTS)]["key"]
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": world.platform.publication.bucket, "Key": key}, ExpiresIn=1
    )
    assert requests.get(url, timeout=30).status_code == 200
    time.sleep(2.1)
    assert requests.get(url, timeout=30).status_code == 403
    assert S3_REGION in parse_qs(urlsplit(url).query)["X-Amz-Credential"][0]
