"""One report date through the package path in a process of its own, as a worker runs it: fetch
each feed over HTTP, archive, load, merge, publish. With a crash point named, the process kills
itself (SIGKILL: no cleanup, no exception handlers) the moment it reaches that point.

    python -m tests.integration.day_process 2020-12-01 [crash-point]

Configuration comes from the environment: CARESHARE_* settings, plus TEST_S3_ENDPOINT,
TEST_FEEDS_URL and TEST_FEEDS_KEY.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from careshare.config import Settings
from careshare.feeds import Feed
from careshare.ingest import load_feed_day
from careshare.merge import merge_day
from careshare.pipeline import ARCHIVED, UNCHANGED, fetch_feed_day
from careshare.platform import Platform
from careshare.publish import publish_day
from careshare.sources.delivery import FeedEndpoint
from careshare.storage import S3Store
from careshare.warehouse import Warehouse
from tests.conftest import make_s3_client


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def around(
    owner: type, name: str, before: Callable[..., bool] | None = None, after: Callable[..., bool] | None = None
) -> None:
    """Wrap owner.name: die before the call when `before(*args)` holds, or after it when `after(*args)` does."""
    original = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before and before(*args, **kwargs):
            die()
        result = original(*args, **kwargs)
        if after and after(*args, **kwargs):
            die()
        return result

    setattr(owner, name, wrapped)


def _manifest(store: S3Store, key: str, *_: Any, **__: Any) -> bool:
    return key.startswith("_manifests/location_daily/")


def _raw_file_of(feed: str) -> Callable[..., bool]:
    return lambda store, key, *_, **__: key.startswith(f"{feed}/report_date=")


CRASH_POINTS: dict[str, Callable[[], None]] = {
    # the second feed's bytes are fetched but never archived
    "fetch": lambda: around(S3Store, "put", before=_raw_file_of(Feed.CT_HOME_CARE.value)),
    # the first feed's rows are inserted, the staging transaction never commits
    "staging": lambda: around(Warehouse, "insert_frame", after=lambda _w, _c, table, *a: table == "stg_submission"),
    # the merged rows are written, the merge transaction never commits
    "merge": lambda: around(Warehouse, "execute", after=lambda _w, _c, name, *a: name == "merge/insert_location_daily"),
    # the data files are staged and promoted, the manifest is never written
    "before manifest": lambda: around(S3Store, "put", before=_manifest),
    # the manifest is committed, the current view and the index are never brought up to date
    "after manifest": lambda: around(S3Store, "put", after=_manifest),
}


def run_day(day: date) -> None:
    platform = Platform.from_settings(Settings.from_env(), make_s3_client(os.environ["TEST_S3_ENDPOINT"]))
    platform.warehouse.migrate()
    endpoint = FeedEndpoint(os.environ["TEST_FEEDS_URL"], os.environ["TEST_FEEDS_KEY"])
    for feed in Feed:
        fetched = fetch_feed_day(platform, feed.value, day, endpoint=endpoint)
        if fetched.status in (ARCHIVED, UNCHANGED):
            load_feed_day(platform, feed.value, day)
    merge_day(platform, day)
    publish_day(platform, day)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        CRASH_POINTS[sys.argv[2]]()
    run_day(date.fromisoformat(sys.argv[1]))
