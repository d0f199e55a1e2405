"""The `careshare` command line: `python -m careshare.cli GROUP COMMAND [options]`.

Every command sits in this subpackage, a module per group (db, run and registry, publish, access,
share); `stages.py` runs a report date's stages through the same functions as the DAG tasks, with
the resources `environment.py` builds from the environment. Each group registers its subcommands
through a function in COMMAND_GROUPS; a command sets `handler`, a function of the parsed arguments
that returns the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

from careshare.cli.access import register_access
from careshare.cli.db import register_db
from careshare.cli.publish import register_publish
from careshare.cli.run import register_registry, register_run
from careshare.cli.share import register_share

Subparsers = Any  # argparse's _SubParsersAction is private


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from careshare.warehouse import NotMigrated

    try:
        return handler(args)
    except NotMigrated as behind:
        print(f"careshare: {behind}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careshare", description="CareShare platform commands")
    parser.add_argument("--version", action="version", version=f"careshare {version('careshare')}")
    groups = parser.add_subparsers(dest="group", metavar="GROUP")
    for register in COMMAND_GROUPS:
        register(groups)
    return parser


COMMAND_GROUPS: tuple[Callable[[Subparsers], None], ...] = (
    register_db,
    register_run,
    register_registry,
    register_publish,
    register_access,
    register_share,
)
