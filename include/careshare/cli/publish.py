"""`careshare publish ...`: the data dictionary and schemas in docs/, and what was published when.

careshare publish docs [--check] [--repo DIR]
careshare publish as-of --dataset D --date R --published-on P [--la-code X]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from careshare.datasets import DATASETS


def register_publish(groups: Any) -> None:
    publish = groups.add_parser("publish", help="published datasets")
    commands = publish.add_subparsers(dest="command", metavar="COMMAND", required=True)
    docs = commands.add_parser("docs", help="write docs/data_dictionary.md and docs/schema/*.json")
    docs.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    docs.add_argument(
        "--repo", type=Path, default=Path(), help="the repository whose docs/ to write (default: the current folder)"
    )
    docs.set_defaults(handler=_docs)

    as_of = commands.add_parser(
        "as-of", help="the version of a report date in force at a time, its reason, manifest and files"
    )
    as_of.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="the published dataset")
    as_of.add_argument("--date", dest="report_date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    as_of.add_argument(
        "--published-on",
        required=True,
        type=date_or_timestamp,
        metavar="P",
        help="a date (up to the end of that day, UK time) or an ISO 8601 timestamp (UTC unless it has an offset)",
    )
    as_of.add_argument("--la-code", help="one council's manifest and files only")
    as_of.set_defaults(handler=_as_of)


def date_or_timestamp(text: str) -> datetime:
    from careshare.publish.revisions import published_on

    return published_on(text)


def _docs(args: argparse.Namespace) -> int:
    from careshare.publish.dictionary import stale_repo_docs, write_repo_docs

    if args.check:
        stale = stale_repo_docs(args.repo)
        for path in stale:
            print(f"stale: {path} (run `careshare publish docs`)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_repo_docs(args.repo):
        print(f"wrote {path}")
    return 0


def _as_of(args: argparse.Namespace) -> int:
    from careshare.cli.environment import LocalEnvironment
    from careshare.publish.revisions import in_force, release_history, utc_text
    from careshare.storage import open_store

    environment = LocalEnvironment.from_env()
    uri = environment.settings.publish_uri
    store = open_store(uri, environment.s3_client() if uri.startswith("s3://") else None)
    history = release_history(store, args.dataset, args.report_date)
    asked = f"{args.dataset} {args.report_date}"
    manifest = in_force(history, args.published_on)
    if manifest is None:
        first = f" (version 1 was published at {history[0]['published_at']})" if history else " (never published)"
        print(f"careshare: {asked}: nothing was published by {utc_text(args.published_on)}{first}", file=sys.stderr)
        return 1
    scopes = {**manifest["parts"], **manifest["withdrawn"]}
    if args.la_code and args.la_code not in scopes:
        print(f"careshare: {asked} version {manifest['version']} has no council {args.la_code}", file=sys.stderr)
        return 1
    newer = [m["version"] for m in history if m["version"] > manifest["version"]]
    print(f"{asked} as published on {utc_text(args.published_on)}: version {manifest['version']}")
    print(f"published_at  {manifest['published_at']}" + (f" (since superseded by {newer})" if newer else ""))
    print(f"reason        {(manifest.get('reason') or {}).get('text', 'not recorded')}")
    print(f"changes       {manifest['changes']}")
    print(f"manifest      {store.uri(_manifest_key(manifest, args.la_code))}")
    for label, entry in sorted(scopes.items()):
        if args.la_code in (None, label):
            files = "  ".join(store.uri(file["key"]) for file in entry.get("files", {}).values()) or "withdrawn"
            print(f"{label:<10}  {entry['rows']:>6} rows  {files}")
    return 0


def _manifest_key(manifest: dict, la_code: str | None) -> str:
    from careshare.publish import layout

    if la_code is not None:
        return {**manifest["parts"], **manifest["withdrawn"]}[la_code]["manifest"]
    report_date = date.fromisoformat(manifest["report_date"])
    return layout.release_manifest(manifest["dataset"], report_date, manifest["version"])
