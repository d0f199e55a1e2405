"""`careshare publish docs`: regenerate (or check) the data dictionary and schemas in docs/."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register_publish(groups: Any) -> None:
    publish = groups.add_parser("publish", help="published datasets")
    commands = publish.add_subparsers(dest="command", metavar="COMMAND", required=True)
    docs = commands.add_parser("docs", help="write docs/data_dictionary.md and docs/schema/*.json")
    docs.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    docs.set_defaults(handler=_docs)


def _docs(args: argparse.Namespace) -> int:
    from careshare.config import REPO_ROOT
    from careshare.publish.docs import stale_repo_docs, write_repo_docs

    if args.check:
        stale = stale_repo_docs(REPO_ROOT)
        for path in stale:
            print(f"stale: {path} (run `careshare publish docs`)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_repo_docs(REPO_ROOT):
        print(f"wrote {path}")
    return 0
