"""A report date's stages in a process of its own, as a worker runs a date: fetch each feed over
HTTP, archive, load, merge, publish. With a crash point named, the process kills itself
(SIGKILL: no cleanup, no exception handlers) the moment it reaches that point.

    python -m tests.integration.day_process 2020-12-01 [crash-point]

Configuration is the command line's: CARESHARE_* variables (include/careshare/cli/environment.py).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from careshare.cli import main
from careshare.feeds import Feed
from careshare.storage import S3Store
from careshare.warehouse import Warehouse


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
    # the data files are uploaded to their release keys, the manifest is never written
    "before manifest": lambda: around(S3Store, "put", before=_manifest),
    # the manifest is committed, the current view and the index are never brought up to date
    "after manifest": lambda: around(S3Store, "put", after=_manifest),
}


# `careshare run day` without its last stage: the quality stage writes only under the quality
# root, which no crash check compares, and would rebuild the report and Data Docs in every process.
STAGES_CHECKED = ("fetch", "load", "merge", "publish")


def run_day(day: str) -> int:
    for stage in STAGES_CHECKED:
        status = main(["run", "stage", stage, "--date", day])
        if status:
            return status
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2:
        CRASH_POINTS[sys.argv[2]]()
    sys.exit(run_day(sys.argv[1]))
