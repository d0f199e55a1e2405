"""What the Delta Sharing tests share: a small publication on moto's S3, the sharing server under
uvicorn, profile files, and independent readers of what was published.

The publication (`publish_story`) is three report dates around the Northamptonshire split of
2021-04-01 and one correction, for all three datasets, each release stamped with its own fixed
`published_at` (an hour apart), so table versions and timestamps are known in advance:

    version  published_at          report date  release  councils
    1        2021-04-02T08:00:00Z  2021-03-31   v0001    E10000021 (Northamptonshire), E08000035, E06000001
    2        2021-04-02T09:00:00Z  2021-04-01   v0001    E06000061, E06000062 (its successors), E08000035, E06000001
    3        2021-04-02T10:00:00Z  2021-04-02   v0001    E06000061, E06000062, E08000035, E06000001
    4        2021-04-02T11:00:00Z  2021-04-01   v0002    correction: E08000035 (Leeds) rows changed, others kept

Every dataset follows the same timeline (provider_daily is national: one file per date;
la_daily_summary has one row per council). The correction of Leeds's `location_daily` rows
(`corrected_locations`) keeps one location as it was, corrects two values of another, changes a
third's lineage alone, withdraws a fourth and adds a fifth; in the other datasets it changes every
value of Leeds's rows.

Use from a test module (pytest finds fixtures among a module's names: assign them, so that ruff
sees no import shadowed by the test's arguments)::

    from tests.integration import sharing_support
    from tests.integration.sharing_support import start_sharing_server, table_url, tokens_of, write_profile

    sharing_publication = sharing_support.sharing_publication
    sharing_recipients = sharing_support.sharing_recipients

    def test_x(sharing_publication, sharing_recipients, tmp_path):
        tokens = {"token-leeds": "la-e08000035"}
        with start_sharing_server(sharing_publication.platform, sharing_recipients, tokens_of(tokens)) as server:
            profile = write_profile(tmp_path / "leeds.share", server.endpoint, "token-leeds")
            frame = delta_sharing.load_as_pandas(table_url(profile, "location_daily"))

`story_server` and `story_profiles` are the same for a whole module: one server over the timeline
with the recipients of `TOKENS`: North Northamptonshire (which also reads Northamptonshire's data
from before the split), Leeds, and a national recipient.

The oracle helpers (`files_at`, `published_rows`, `hive_view_rows`) read the manifests and files
with the store's boto3 `get` and pyarrow alone, never through careshare.share.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from careshare.access.recipients import Recipient, recipients_from
from careshare.config import EXPECTATIONS_DIR, Settings
from careshare.datasets import DATASETS, Dataset
from careshare.platform import Platform
from careshare.publish.docs import schema_reference
from careshare.publish.release import publish_release
from careshare.reference import LocalAuthorities
from tests.conftest import REFERENCE_CSV, create_buckets
from tests.unit.publish.synthetic import synthetic_table

SHARE, SCHEMA = "careshare", "published"
BEFORE_SPLIT, SPLIT_DAY, AFTER_SPLIT = date(2021, 3, 31), date(2021, 4, 1), date(2021, 4, 2)
DAYS = (BEFORE_SPLIT, SPLIT_DAY, AFTER_SPLIT)
CORRECTED_DAY, CORRECTED_COUNCIL = SPLIT_DAY, "E08000035"
NORTHAMPTONSHIRE, NORTH_NORTHANTS, WEST_NORTHANTS = "E10000021", "E06000061", "E06000062"
LEEDS, HARTLEPOOL = "E08000035", "E06000001"
COUNCILS_ON = {
    BEFORE_SPLIT: {NORTHAMPTONSHIRE: 3, LEEDS: 4, HARTLEPOOL: 2},
    SPLIT_DAY: {NORTH_NORTHANTS: 2, WEST_NORTHANTS: 2, LEEDS: 4, HARTLEPOOL: 2},
    AFTER_SPLIT: {NORTH_NORTHANTS: 2, WEST_NORTHANTS: 3, LEEDS: 3, HARTLEPOOL: 2},
}
FIRST_COMMIT = datetime(2021, 4, 2, 8, 0, tzinfo=UTC)
TOKENS = {  # bearer token -> recipient id, for tests before careshare.share.tokens
    "token-north-northants": "la-e06000061",
    "token-leeds": "la-e08000035",
    "token-national": "national-dhsc",
}


@dataclass(frozen=True)
class Release:
    """One committed release: table version `table_version` of every dataset."""

    table_version: int
    report_date: date
    version: int  # the release version of the date (its manifest vNNNN)
    published_at: datetime
    edition_of: dict[str, int]  # la_code -> synthetic_table edition used


@dataclass
class Publication:
    """The published timeline: its platform (publication store = `bucket`) and releases in version order."""

    platform: Platform
    bucket: str
    releases: list[Release]

    def release(self, table_version: int) -> Release:
        return self.releases[table_version - 1]

    @property
    def latest_version(self) -> int:
        return len(self.releases)


def story_releases() -> list[Release]:
    """The timeline in the module docstring."""
    plain = {day: dict.fromkeys(COUNCILS_ON[day], 0) for day in DAYS}
    corrected = {**plain[CORRECTED_DAY], CORRECTED_COUNCIL: 1}
    steps = [
        (BEFORE_SPLIT, 1, plain[BEFORE_SPLIT]),
        (SPLIT_DAY, 1, plain[SPLIT_DAY]),
        (AFTER_SPLIT, 1, plain[AFTER_SPLIT]),
    ]
    steps.append((CORRECTED_DAY, 2, corrected))
    return [
        Release(n, day, version, FIRST_COMMIT + timedelta(hours=n - 1), editions)
        for n, (day, version, editions) in enumerate(steps, start=1)
    ]


def story_table(dataset: Dataset, release: Release) -> pa.Table:
    """The rows a release publishes: each council's rows in the edition the timeline gives it."""
    parts = [council_rows(dataset, release.report_date, code, e) for code, e in sorted(release.edition_of.items())]
    return pa.concat_tables(parts)


def council_rows(dataset: Dataset, day: date, la_code: str, edition: int) -> pa.Table:
    """Edition 1 is the correction: `corrected_locations` for location_daily, every value changed elsewhere."""
    count = 1 if dataset.name == "la_daily_summary" else COUNCILS_ON[day][la_code]
    if dataset.name == "location_daily" and edition == 1:
        return corrected_locations(dataset, day, la_code, count)
    return synthetic_table(dataset, day, {la_code: count}, edition=edition)


def corrected_locations(dataset: Dataset, day: date, la_code: str, count: int) -> pa.Table:
    """Edition 0's rows (count >= 4), corrected: the first kept, the second's `people_supported` and
    `visiting_status` corrected, the third's `source_row` alone changed (lineage), the fourth withdrawn,
    and one location added."""
    rows = synthetic_table(dataset, day, {la_code: count + 1}).to_pylist()  # the last row is the one added
    rows[1]["people_supported"] += 1
    answers = next(f.values for f in dataset.fields if f.name == "visiting_status")
    rows[1]["visiting_status"] = next(a for a in answers if a != rows[1]["visiting_status"])
    rows[2]["source_row"] += 100
    del rows[3]
    return pa.Table.from_pylist(rows, schema=dataset.arrow_schema())


def publish_story(platform: Platform) -> list[Release]:
    """Publish every release of the timeline, every dataset, with its fixed `published_at`."""
    releases = story_releases()
    for release in releases:
        for dataset in DATASETS.values():
            outcome = publish_release(
                platform.publication,
                dataset,
                release.report_date,
                story_table(dataset, release),
                platform.local_authorities,
                schema=schema_reference(dataset),
                now=lambda moment=release.published_at: moment,
            )
            assert outcome.new and outcome.version == release.version, outcome.as_dict()
    return releases


def sharing_platform(home: Path, bucket: str, s3_client: Any) -> Platform:
    """A platform whose publication store is `bucket` (the warehouse, raw and quality stores are unused)."""
    settings = Settings(
        home=home,
        warehouse_url=f"sqlite:///{home / 'warehouse.db'}",
        raw_archive_uri=f"s3://{bucket}-unused-raw",
        publish_uri=f"s3://{bucket}",
        quality_uri=f"s3://{bucket}-unused-quality",
        reference_csv=REFERENCE_CSV,
        expectations_dir=EXPECTATIONS_DIR,
    )
    return Platform.from_settings(settings, s3_client)


@pytest.fixture(scope="module")
def sharing_publication(s3_client, tmp_path_factory) -> Iterator[Publication]:
    """The timeline published once per test module in a fresh bucket (a few seconds)."""
    bucket = f"careshare-share-{uuid.uuid4().hex[:10]}"
    create_buckets(s3_client, bucket)
    platform = sharing_platform(tmp_path_factory.mktemp("sharing"), bucket, s3_client)
    releases = publish_story(platform)
    yield Publication(platform, bucket, releases)
    platform.warehouse.engine.dispose()


def story_recipients(reference: LocalAuthorities) -> list[Recipient]:
    """Every council (successors read their predecessors), one forum, and one national recipient."""
    config = {
        "councils": {"each": True, "successors_read_predecessors": True},
        "groups": [
            {"id": "lrf-test", "name": "Test forum", "kind": "lrf", "la_codes": [LEEDS, HARTLEPOOL]},
        ],
        "national": [{"id": "national-dhsc", "name": "DHSC"}],
    }
    return recipients_from(config, reference, Path("tests/integration/sharing_support.py"))


@pytest.fixture(scope="module")
def sharing_recipients(local_authorities) -> list[Recipient]:
    """`story_recipients` of the real reference: `la-<code>` per council, `lrf-test`, `national-dhsc`."""
    return story_recipients(local_authorities)


def tokens_of(tokens: dict[str, str]) -> Callable[[str], str | None]:
    """A `recipient_of` from a dict of bearer token -> recipient id (until share.tokens exists)."""
    return lambda token: tokens.get(token)


@dataclass
class SharingServer:
    base_url: str  # http://127.0.0.1:<port>

    @property
    def endpoint(self) -> str:
        """What a profile file names: the protocol's prefix."""
        return f"{self.base_url}/delta-sharing"


@contextmanager
def serve_app(app: Any) -> Iterator[SharingServer]:
    """Run an ASGI app under uvicorn in a thread on 127.0.0.1, a free port; stopped on exit."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="sharing-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sharing server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield SharingServer(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def start_sharing_server(
    platform: Platform,
    recipients: Sequence[Recipient],
    recipient_of: Callable[[str], str | None],
    *,
    url_lifetime: timedelta = timedelta(minutes=15),
) -> Iterator[SharingServer]:
    """`careshare.share.server.create_app(...)` served on 127.0.0.1 (see `serve_app`)."""
    from careshare.share.server import create_app

    with serve_app(create_app(platform, recipients, recipient_of, url_lifetime=url_lifetime)) as server:
        yield server


@pytest.fixture(scope="module")
def story_server(sharing_publication, sharing_recipients) -> Iterator[SharingServer]:
    """One server for a test module: the timeline, every story recipient, the `TOKENS` dict."""
    with start_sharing_server(sharing_publication.platform, sharing_recipients, tokens_of(TOKENS)) as server:
        yield server


@pytest.fixture(scope="module")
def story_profiles(story_server, tmp_path_factory) -> dict[str, Path]:
    """recipient id -> a profile file for `story_server`, for each recipient in `TOKENS`."""
    folder = tmp_path_factory.mktemp("profiles")
    return {
        recipient: write_profile(folder / f"{recipient}.share", story_server.endpoint, token)
        for token, recipient in TOKENS.items()
    }


def write_profile(path: Path, endpoint: str, token: str, expiration: datetime | None = None) -> Path:
    """A Delta Sharing profile file (shareCredentialsVersion 1), as a recipient gets it."""
    profile: dict[str, Any] = {"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token}
    if expiration is not None:
        profile["expirationTime"] = expiration.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def table_url(profile: Path, table: str) -> str:
    """The client's `<profile>#<share>.<schema>.<table>`."""
    return f"{profile}#{SHARE}.{SCHEMA}.{table}"


# --- the oracle: manifests and files read with boto3 and pyarrow, not through the server ---------------


def read_manifest(publication: Publication, dataset: str, report_date: date, version: int) -> dict[str, Any]:
    key = f"_manifests/{dataset}/report_date={report_date.isoformat()}/v{version:04d}.json"
    body = publication.platform.publication.get(key)
    return json.loads(body)


def files_at(
    publication: Publication, dataset: str, table_version: int, councils: Sequence[str] | None
) -> dict[tuple[str | None, date], dict[str, Any]]:
    """(la_code or None, report date) -> the manifest's parquet entry, for the table at `table_version`:
    every date's newest release by then; `councils` None means every council (national reader)."""
    newest: dict[date, Release] = {}
    for release in publication.releases[:table_version]:
        newest[release.report_date] = release
    found = {}
    for day, release in newest.items():
        manifest = read_manifest(publication, dataset, day, release.version)
        for label, part in manifest["parts"].items():
            la_code = None if label == "national" else label
            if councils is None or la_code in councils:
                found[(la_code, day)] = part["files"]["parquet"]
    return found


def published_rows(
    publication: Publication, dataset: str, table_version: int, councils: Sequence[str] | None
) -> pa.Table:
    """The rows of `files_at`, with `la_code` and `report_date` from the path, sorted by every key."""
    tables = []
    for (la_code, day), entry in sorted(files_at(publication, dataset, table_version, councils).items(), key=str):
        rows = pq.read_table(io.BytesIO(publication.platform.publication.get(entry["key"])))
        if la_code is not None and "la_code" not in rows.column_names:
            rows = rows.append_column("la_code", pa.array([la_code] * rows.num_rows, pa.string()))
        if "report_date" not in rows.column_names:
            rows = rows.append_column("report_date", pa.array([day] * rows.num_rows, pa.date32()))
        tables.append(rows)
    return pa.concat_tables(tables, promote_options="default")


def hive_view_rows(publication: Publication, dataset: str, councils: Sequence[str]) -> pa.Table:
    """The current hive view of `councils` (each `part-0.parquet` of the story's dates), with `la_code`
    and `report_date` from the path: what a reader of the bucket sees today."""
    store = publication.platform.publication
    keys = [
        f"{dataset}/la_code={code}/report_date={day.isoformat()}/part-0.parquet"
        for code in councils
        for day in DAYS
        if store.exists(f"{dataset}/la_code={code}/report_date={day.isoformat()}/part-0.parquet")
    ]
    tables = []
    for key in keys:
        code, day = key.split("/")[1].removeprefix("la_code="), date.fromisoformat(key.split("/")[2][12:])
        rows = pq.read_table(io.BytesIO(store.get(key)))
        rows = rows.append_column("la_code", pa.array([code] * rows.num_rows, pa.string()))
        tables.append(rows.append_column("report_date", pa.array([day] * rows.num_rows, pa.date32())))
    return pa.concat_tables(tables, promote_options="default")


def change_list(publication: Publication, dataset: str, release: Release, label: str) -> dict[str, Any]:
    """The release's list of one council's changed keys (`changes_detail`): added, removed, changed
    (each column's before and after) and the count of lineage-only rows."""
    manifest = read_manifest(publication, dataset, release.report_date, release.version)
    return json.loads(publication.platform.publication.get(manifest["parts"][label]["changes_detail"]["key"]))
