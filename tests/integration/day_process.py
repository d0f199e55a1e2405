"""A report date's stages in a process of its own, as a worker runs a date: fetch each feed over
HTTP, archive, load, merge, publish. With a crash point named, the process kills itself
(SIGKILL: no cleanup, no exception handlers) the moment it reaches that point.

    python -m tests.integration.day_process serve

starts a server that imports the command line, its stages and GX once, then answers each request
on stdin (a JSON line: {"runs": [{"day", "crash", "env", "output"}, ...]}) by forking one process
per run, all at once, and writing one JSON line of their return codes (-9 for SIGKILL) when all
have ended. Each forked process is such a worker: the request's environment only (configuration is
the command line's, CARESHARE_* variables, include/careshare/cli/environment.py), its output to the
named file, nothing of the server's state but the imported modules.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
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


def warm_up() -> None:
    """What every run imports, imported once before the server forks."""
    import great_expectations  # noqa: F401

    import careshare.merge
    import careshare.pipeline
    import careshare.publish
    import careshare.quality.validate  # noqa: F401


def worker(run: dict[str, Any]) -> int:
    """In the forked process: become the worker the request describes and run its day."""
    output = os.open(run["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(0)
    os.environ.clear()
    os.environ.update(run["env"])
    try:
        if run.get("crash"):
            CRASH_POINTS[run["crash"]]()
        return run_day(run["day"])
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def return_code(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def serve() -> None:
    warm_up()
    for line in sys.stdin:
        sys.stdout.flush()
        children = []
        for run in json.loads(line)["runs"]:
            child = os.fork()
            if child == 0:
                os._exit(worker(run))
            children.append(child)
        codes = [return_code(os.waitpid(child, 0)[1]) for child in children]
        print(json.dumps({"returncodes": codes}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: python -m tests.integration.day_process serve")
    serve()
