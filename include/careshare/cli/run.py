"""`careshare run ...` and `careshare registry show`: run report dates locally, without Airflow,
and look at what was delivered.

    careshare run stage {reference,fetch,load,merge,publish,quality,recheck} --date D
    careshare run stage merge --date D --repin-directory   # merge against the newest directory load
    careshare run stage publish --date D --note "why"      # the note every new release of D states
    careshare run day --date D            # or --from D1 --to D2, one progress line per stage
    careshare registry show [--feed F] [--date D] [--json]

Settings come from the environment (config.py's ENVIRONMENT_VARIABLES; environment.py for the sources).
Exit status: 0 when every stage was ok, 1 when one warned or a date stopped (a missing setting
stops it, naming the variables), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date, timedelta
from typing import Any, TextIO

from careshare.feeds import FEEDS
from careshare.status import StageStatus

MARKS = {StageStatus.OK: "ok  ", StageStatus.WARN: "WARN", StageStatus.FAILED: "FAIL"}


def register_run(groups: Any) -> None:
    run = groups.add_parser("run", help="run stages or whole report dates locally (no Airflow)")
    commands = run.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from careshare.cli.stages import STAGES

    stage = commands.add_parser("stage", help="one stage for each date")
    stage.add_argument("stage", choices=STAGES, help="the stage to run")
    _date_options(stage)
    stage.add_argument(
        "--repin-directory",
        action="store_true",
        help="merge only: a merged date keeps reading the CQC directory load of its first merge, so a rerun "
        "gives the same result; this moves the date to the newest load, on purpose, and merges it again",
    )
    stage.add_argument(
        "--note",
        help="publish only: why the date is published again (a crosswalk fix, say), stated as the reason of "
        "every new release and in the changelogs; published, so write it for readers (at most 500 characters)",
    )
    stage.set_defaults(handler=_run_stage)

    day = commands.add_parser("day", help="every stage of each date, in order; a date stops at a failed stage")
    _date_options(day)
    day.set_defaults(handler=_run_days)


def register_registry(groups: Any) -> None:
    registry = groups.add_parser("registry", help="the delivery registry")
    commands = registry.add_subparsers(dest="command", metavar="COMMAND", required=True)
    show = commands.add_parser("show", help="deliveries with status, sha256, rows and what superseded them")
    show.add_argument("--feed", choices=[feed.value for feed in FEEDS], help="one feed only")
    show.add_argument("--date", type=date.fromisoformat, help="one report date, YYYY-MM-DD")
    show.add_argument("--json", action="store_true", help="one JSON object per line, every field in full")
    show.add_argument(
        "--receipts",
        action="store_true",
        help="every receipt of one feed's day, oldest first (needs --feed and --date): the newest builds the day",
    )
    show.set_defaults(handler=_show_registry)


def _date_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", metavar="D", type=date.fromisoformat, help="the report date, YYYY-MM-DD")
    parser.add_argument(
        "--from", dest="first", metavar="D", type=date.fromisoformat, help="first report date of a range"
    )
    parser.add_argument("--to", dest="last", metavar="D", type=date.fromisoformat, help="last report date, inclusive")
    parser.add_argument("-v", "--verbose", action="store_true", help="the package's own log lines too")


def report_dates(args: argparse.Namespace) -> list[date]:
    """--date alone, or --from with --to; anything else is a usage error."""
    if args.date and not (args.first or args.last):
        return [args.date]
    if args.first and args.last and not args.date:
        if args.last < args.first:
            raise SystemExit(_usage("--to is before --from"))
        return [args.first + timedelta(days=n) for n in range((args.last - args.first).days + 1)]
    raise SystemExit(_usage("give --date D, or --from D1 --to D2"))


def _usage(problem: str) -> int:
    print(f"careshare: {problem}", file=sys.stderr)
    return 2


def _run_stage(args: argparse.Namespace) -> int:
    days = report_dates(args)
    if args.repin_directory and args.stage != "merge":
        raise SystemExit(_usage("--repin-directory is an option of the merge stage only"))
    if args.note is not None and args.stage != "publish":
        raise SystemExit(_usage("--note is an option of the publish stage only"))
    note = _release_note(args.note)
    run = _local_run(args)
    run.repin_directory, run.note = args.repin_directory, note
    worst = 0
    for number, day in enumerate(days, start=1):
        report = run.stage(args.stage, day)
        print_report(report, _counter(number, len(days)))
        worst = max(worst, 0 if report.status == StageStatus.OK else 1)
    return worst


def _release_note(note: str | None) -> str | None:
    from careshare.publish.revisions import BadNote, checked_note

    try:
        return checked_note(note)
    except BadNote as refused:
        raise SystemExit(_usage(str(refused))) from refused


def _run_days(args: argparse.Namespace) -> int:
    days = report_dates(args)
    run = _local_run(args)
    started, stopped, warned = time.perf_counter(), [], []
    for number, day in enumerate(days, start=1):
        counter, day_started = _counter(number, len(days)), time.perf_counter()
        reports = []
        for report in run.day(day):
            print_report(report, counter)
            reports.append(report)
        last = reports[-1]
        done = last.stage == "quality" and last.status == StageStatus.OK
        if not done:
            stopped.append(day)
        elif any(r.status == StageStatus.WARN for r in reports):
            warned.append(day)
        outcome = "published" if done else f"stopped at {last.stage}"
        print(f"{counter}{day} {outcome} in {time.perf_counter() - day_started:.1f}s", flush=True)
    published = len(days) - len(stopped)
    print(
        f"{len(days)} report dates: {published} published ({len(warned)} with warnings), {len(stopped)} stopped"
        f" in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return 1 if stopped or warned else 0


def print_report(report: Any, counter: str = "", out: TextIO | None = None) -> None:
    print(
        f"{counter}{report.report_date} {report.stage:<9} {MARKS[report.status]} {report.summary}"
        f" ({report.seconds:.1f}s)",
        file=out or sys.stdout,
        flush=True,
    )


def _counter(number: int, total: int) -> str:
    return f"[{number}/{total}] " if total > 1 else ""


def _local_run(args: argparse.Namespace):
    from careshare.cli.stages import LocalRun

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="  %(name)s: %(message)s")
    return LocalRun.from_env()


def _show_registry(args: argparse.Namespace) -> int:
    from careshare.cli.environment import LocalEnvironment

    if args.receipts and not (args.feed and args.date):
        raise SystemExit(_usage("--receipts needs --feed and --date"))
    platform = LocalEnvironment.from_env().platform()
    statement = "registry/receipts" if args.receipts else "registry/deliveries"
    rows = platform.warehouse.query_frame(statement, {"feed": args.feed, "report_date": args.date})
    if args.json or args.receipts:
        for record in rows.to_dict(orient="records"):
            print(json.dumps(record, default=str))
        return 0
    print(format_registry(rows))
    return 0


def _count(value: Any) -> str:
    """Rows delivered: unknown (blank) until the file has been parsed."""
    return "" if value is None or value != value else str(int(value))  # NaN != NaN


def format_registry(rows: Any) -> str:
    """A fixed-width table; hashes cut to 12 characters (`--json` has them whole)."""
    header = ("report_date", "feed", "status", "sha256", "rows", "bytes", "route", "received_at", "superseded_by")
    lines = [
        (
            str(row.report_date)[:10],
            row.feed,
            row.status,
            row.sha256[:12],
            _count(row.rows_delivered),
            str(row.bytes),
            row.route,
            str(row.received_at)[:19],
            (row.superseded_by or "")[:12],
        )
        for row in rows.itertuples()
    ]
    if not lines:
        return "no deliveries"
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in [header, *lines]
    )
