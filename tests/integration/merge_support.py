"""The package path of a report date without Airflow, for the merge suites: reference data, the
directory, real ingestion of feed files (parse, conform, GX, stage), then the merge."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from careshare.ingest import archive_delivery, load_feed_day
from careshare.reference_load import load_directory, load_local_authority_reference
from careshare.resources import Platform
from careshare.sources.delivery import Delivery
from careshare.storage import ObjectStore
from careshare_sim import World
from tests.conftest import drop_postgres_database, migrated_platform, new_postgres_database, settings_for

FEEDS = ("ct_care_homes", "ct_home_care", "cqc_update")


class InProcessDirectory:
    """The simulator's directory, answered in-process: the records its HTTP API serves, without
    the 25,000 detail requests a national load makes (the HTTP client is tested with the feeds)."""

    def __init__(self, world: World):
        self.directory = world.directory

    def location_ids(self) -> list[str]:
        return list(self.directory.population.location_id)

    def locations(self, location_ids: list[str]) -> list[dict[str, Any]]:
        return [self.directory.location(location_id) for location_id in location_ids]

    def providers(self, provider_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        return {provider_id: self.directory.provider(provider_id) for provider_id in provider_ids}


@contextmanager
def warehouse_database(backend: str, tmp_path: Path, request) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    url = new_postgres_database(admin)
    try:
        yield url
    finally:
        drop_postgres_database(admin, url)


def local_platform(warehouse_url: str, home: Path) -> Platform:
    """Warehouse plus local-folder stores: the embedded default without an S3 endpoint."""
    return migrated_platform(settings_for(home, warehouse_url))


def load_reference(platform: Platform, world: World) -> None:
    load_local_authority_reference(platform)
    as_of = datetime.combine(world.directory_as_of, datetime.min.time(), UTC)
    load_directory(platform, InProcessDirectory(world), as_of)


def stage(platform: Platform, feed: str, day: date, content: bytes) -> None:
    archive_delivery(platform, Delivery(feed, day, content, "landing", f"test/{feed}/{day.isoformat()}.csv"))
    load_feed_day(platform, feed, day)


def read_csv(content: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def write_csv(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def query(platform: Platform, statement: str, **params: Any) -> list[tuple]:
    with platform.warehouse.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(statement), params)]


def execute(platform: Platform, statement: str, **params: Any) -> None:
    with platform.warehouse.transaction() as connection:
        connection.execute(sa.text(statement), params)


def published_bytes(platform: Platform) -> dict[str, bytes]:
    return reader_objects(platform.publication)


def reader_objects(store: ObjectStore) -> dict[str, bytes]:
    """Every published object, with the instants blanked in JSON documents
    and changelogs (when a release was published, when its input files were received): the one thing
    two publications of the same rows may differ in, e.g. when a crash made the rerun fetch again."""
    return {
        key: re.sub(rb'("published_at": "|"received_at": "|, published | received )[0-9TZ:-]+', rb"\1", store.get(key))
        for key in store.keys("")
    }
