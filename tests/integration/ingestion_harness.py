"""Ingestion driven through the package, as the DAG tasks call it, against the real HTTP simulator
(with a fault plan), a moto S3 server and a SQLite or PostgreSQL warehouse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from careshare.config import Settings
from careshare.feeds import FEEDS, Feed
from careshare.ingest import FeedDayFailed, FeedDayResult, load_feed_day
from careshare.merge import MergeResult, merge_day
from careshare.pipeline import CorrectionCheck, FetchOutcome, fetch_feed_day, recheck_past_days
from careshare.platform import Platform
from careshare.reference_data import load_directory, load_local_authority_reference
from careshare.sources.cqc_directory import DirectoryClient
from careshare.sources.delivery import FeedEndpoint
from careshare.sources.http import RetryPolicy
from careshare.storage import ObjectStore
from careshare_sim import FaultPlan, ServerModes, SimulatorServer, World
from tests.conftest import REFERENCE_CSV, create_buckets
from tests.integration.merge_support import warehouse_database

FEEDS_KEY = "feeds-key"
DIRECTORY_KEY = "directory-key"
FAST = RetryPolicy(attempts=4, backoff_seconds=0.01, timeout_seconds=(2.0, 10.0))
DIRECTORY_AS_OF = date(2024, 6, 30)
# Real servers the ingestion suites run across (SOURCES.md promises GET only, may compress and redirect).
MODES = {
    "default": ServerModes(),
    "head-405-gzip-etag": ServerModes(head="405", compression="gzip", etag=True),
    "head-501-deflate-bare-redirect": ServerModes(
        head="501", compression="deflate", etag=False, last_modified=False, redirect_exports=True
    ),
}


class Clock:
    """The simulator's clock, set by the test; `None` means the real time."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)


@dataclass
class Harness:
    platform: Platform
    world: World
    server: SimulatorServer
    plan: FaultPlan
    clock: Clock
    waits: list[float] = field(default_factory=list)  # every back-off the clients asked for

    def endpoint(self, policy: RetryPolicy = FAST, key: str = FEEDS_KEY) -> FeedEndpoint:
        return FeedEndpoint(self.server.base_url, key, policy, sleep=self.waits.append)

    def directory_client(self, policy: RetryPolicy = FAST) -> DirectoryClient:
        return DirectoryClient(self.server.base_url, DIRECTORY_KEY, policy, workers=4, sleep=self.waits.append)

    def load_reference(self, as_of: datetime = datetime(2021, 1, 1, tzinfo=UTC)) -> dict[str, Any]:
        load_local_authority_reference(self.platform)
        return load_directory(self.platform, self.directory_client(), as_of)

    def fetch(self, feed: str, day: date, landing: ObjectStore | None = None, http: bool = True) -> FetchOutcome:
        endpoint = self.endpoint() if http else None
        return fetch_feed_day(self.platform, feed, day, endpoint=endpoint, landing=landing)

    def load(self, feed: str, day: date) -> FeedDayResult | FeedDayFailed:
        try:
            return load_feed_day(self.platform, feed, day)
        except FeedDayFailed as failure:
            return failure

    def ingest(self, day: date, feeds: tuple[str, ...] = tuple(Feed)) -> dict[str, Any]:
        """Fetch and load each feed's day as its DAG would; the result per feed."""
        results: dict[str, Any] = {}
        for feed in feeds:
            fetched = self.fetch(feed, day)
            results[feed] = fetched if fetched.status != "archived" else self.load(feed, day)
        return results

    def recheck(self, feed: str, run_date: date, landing: ObjectStore | None = None) -> list[CorrectionCheck]:
        endpoint = self.endpoint() if landing is None else None
        return recheck_past_days(self.platform, feed, run_date, endpoint=endpoint, landing=landing)

    def merge(self, day: date) -> MergeResult:
        return merge_day(self.platform, day)

    def frame(self, query: str, **params: Any) -> pd.DataFrame:
        with self.platform.warehouse.engine.connect() as connection:
            result = connection.execute(sa.text(query), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def registry(self, feed: str, day: date) -> pd.DataFrame:
        return self.frame(
            "SELECT sha256, status, superseded_by, rows_delivered, message, route, received_at FROM raw_delivery"
            " WHERE feed = :feed AND report_date = :day ORDER BY received_at, sha256",
            feed=feed,
            day=day,
        )

    def feed_day(self, feed: str, day: date) -> dict[str, Any]:
        rows = self.frame("SELECT * FROM feed_day WHERE feed = :feed AND report_date = :day", feed=feed, day=day)
        return rows.iloc[0].to_dict() if len(rows) else {}

    def quarantine(self, feed: str, day: date) -> pd.DataFrame:
        return self.frame(
            "SELECT source_row, stage, rule, column_name, value, message FROM quarantine_row"
            " WHERE feed = :feed AND report_date = :day ORDER BY source_row, rule",
            feed=feed,
            day=day,
        )

    def published(self, day: date) -> pd.DataFrame:
        return self.frame("SELECT * FROM location_daily WHERE report_date = :day ORDER BY location_id", day=day)

    def superseded(self, day: date) -> pd.DataFrame:
        return self.frame("SELECT * FROM superseded_row WHERE report_date = :day", day=day)

    def staged(self, feed: str, day: date) -> pd.DataFrame:
        return self.frame(
            "SELECT * FROM stg_submission WHERE feed = :feed AND report_date = :day ORDER BY source_row",
            feed=feed,
            day=day,
        )

    def accounts(self, day: date) -> dict[str, dict[str, int]]:
        """Per loaded feed: rows delivered, and where each ended (include/careshare/sql/checks/row_accounting.sql)."""
        rows = self.platform.warehouse.query_frame("checks/row_accounting", {"report_date": day})
        return {
            r.feed: {k: int(getattr(r, k)) for k in ("rows_delivered", "quarantined", "superseded", "published")}
            for r in rows.itertuples()
        }

    def assert_every_row_kept(self, day: date, *, expected_feeds: set[str] | None = None) -> None:
        """Rows kept (published + quarantined + superseded) equal the rows of the file as delivered."""
        accounts = self.accounts(day)
        feeds = {f.value for f in Feed if FEEDS[f].expected_on(day)} if expected_feeds is None else expected_feeds
        assert set(accounts) == feeds, accounts
        for feed, account in accounts.items():
            kept = account["quarantined"] + account["superseded"] + account["published"]
            delivered = len(self.world.ground_truth(feed, day, self.served_variant(feed, day)))
            assert account["rows_delivered"] == kept == delivered, (feed, account, delivered)

    def served_variant(self, feed: str, day: date):
        """The variant of the file the day is built from (the loaded delivery's)."""
        sha = self.feed_day(feed, day)["sha256"]
        for version in self.world.versions(feed, day):
            if self.world.rendered(feed, day, version.variant).file.sha256 == sha:
                return version.variant
        if sha in self.plan.replacements:
            return self.plan.replacements[sha]
        raise AssertionError(f"{feed} {day}: delivery {sha} is no version the simulator published")

    def archived(self, feed: str, day: date) -> dict[str, bytes]:
        prefix = f"{feed}/report_date={day.isoformat()}/"
        return {key: self.platform.raw_archive.get(key) for key in self.platform.raw_archive.keys(prefix)}


def publication(day: date, after: timedelta = timedelta(minutes=1)) -> datetime:
    from careshare_sim import publication_time

    return publication_time(day) + after


def new_platform(tmp: Path, warehouse_url: str, s3_client) -> Platform:
    """The platform as the DAGs configure it from the environment, on fresh buckets."""
    suffix = uuid.uuid4().hex[:10]
    stores = {
        f"CARESHARE_{kind}_URI": f"s3://careshare-ingest-{kind.lower().replace('_', '-')}-{suffix}"
        for kind in ("RAW_ARCHIVE", "PUBLISH", "QUALITY")
    }
    create_buckets(s3_client, *(uri.removeprefix("s3://") for uri in stores.values()))
    environment = {"CARESHARE_HOME": str(tmp), "CARESHARE_WAREHOUSE_URL": warehouse_url, **stores}
    settings = Settings.from_env(environment | {"CARESHARE_REFERENCE_CSV": str(REFERENCE_CSV)})
    platform = Platform.from_settings(settings, s3_client)
    platform.warehouse.migrate()
    return platform


@contextmanager
def running_harness(platform: Platform, world: World, modes: ServerModes | None = None) -> Iterator[Harness]:
    plan, clock = FaultPlan(), Clock()
    with SimulatorServer(world, FEEDS_KEY, DIRECTORY_KEY, clock=clock, faults=plan, modes=modes) as server:
        yield Harness(platform, world, server, plan, clock)
    platform.warehouse.engine.dispose()


@contextmanager
def module_harness(
    request, tmp: Path, s3_client, world: World, backend: str = "sqlite", modes: ServerModes | None = None
) -> Iterator[Harness]:
    """A harness with its own warehouse and buckets, the councils and the directory loaded, its
    simulator in `modes` (default: ServerModes())."""
    with (
        warehouse_database(backend, tmp, request) as url,
        running_harness(new_platform(tmp, url, s3_client), world, modes) as h,
    ):
        h.load_reference()
        yield h
