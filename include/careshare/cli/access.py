"""`careshare access ...`: check the recipients, write or apply their IAM policies, sign links."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from careshare.config import RECIPIENTS_TOML

DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def register_access(groups: Any) -> None:
    access = groups.add_parser("access", help="recipients, IAM policies and pre-signed links")
    commands = access.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser("check", help="validate the recipients configuration against the reference")
    check.set_defaults(handler=_check)

    policies = commands.add_parser(
        "policies", help="write each recipient's IAM policy documents, and the sharing server's, as JSON"
    )
    policies.add_argument("--out", type=Path, required=True, help="folder for the <policy name>.json files")
    policies.set_defaults(handler=_policies)

    provision = commands.add_parser(
        "provision",
        help="create, update or delete the recipients' IAM users and policies to match the configuration, "
        "and the Delta Sharing server's read-only user careshare-sharing",
    )
    provision.add_argument(
        "--dry-run", action="store_true", help="print what would be created, changed and deleted, and change nothing"
    )
    provision.set_defaults(handler=_provision)

    presign = commands.add_parser("presign", help="time-limited links to a recipient's files of one release")
    presign.add_argument("--recipient", required=True, help="a recipient id (`careshare access check` lists them)")
    presign.add_argument("--dataset", required=True, help="a published dataset, e.g. location_daily")
    presign.add_argument("--date", type=date.fromisoformat, required=True, help="the report date, YYYY-MM-DD")
    presign.add_argument("--version", type=int, default=None, help="default: the current version")
    presign.add_argument("--expires", type=duration, default=timedelta(hours=24), help="e.g. 30m, 24h, 7d")
    presign.set_defaults(handler=_presign)

    for command in (check, policies, provision, presign):
        command.add_argument("--config", type=Path, default=RECIPIENTS_TOML, help="recipients TOML")


def duration(text: str) -> timedelta:
    match = DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number and s, m, h or d, e.g. 24h")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def _context(args: argparse.Namespace):
    from careshare.access.recipients import load_recipients
    from careshare.config import Settings
    from careshare.councils import load_local_authorities

    settings = Settings.from_env()
    reference = load_local_authorities(settings.reference_csv)
    return settings, reference, load_recipients(reference, args.config)


def _grants(args: argparse.Namespace):
    from careshare.access.policy import Publication, recipient_policies
    from careshare.datasets import DATASETS

    settings, reference, recipients = _context(args)
    publication = Publication.from_uri(settings.publish_uri)
    return {r: recipient_policies(r, publication, DATASETS.values(), reference) for r in recipients}


def _service_grants() -> dict:
    """careshare's own services' users: the Delta Sharing server reads the publication, nothing else."""
    from careshare.access.policy import SHARING_USER, Publication, sharing_server_policy
    from careshare.config import Settings
    from careshare.datasets import DATASETS

    publication = Publication.from_uri(Settings.from_env().publish_uri)
    return {SHARING_USER: [sharing_server_policy(publication, DATASETS.values())]}


def _check(args: argparse.Namespace) -> int:
    _, _, recipients = _context(args)
    for r in recipients:
        scope = "every council" if r.national else f"{len(r.la_codes)} councils"
        print(f"{r.id:32} {r.kind:9} {scope:16} {r.name}")
    print(f"{len(recipients)} recipients, valid", file=sys.stderr)
    return 0


def _policies(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    for policies in [*_grants(args).values(), *_service_grants().values()]:
        for policy in policies:
            (args.out / f"{policy.name}.json").write_text(json.dumps(policy.document, indent=2) + "\n")
            print(f"{policy.name}: {policy.size} characters")
    return 0


def _provision(args: argparse.Namespace) -> int:
    """One line per change, as it is made (or, with --dry-run, as it would be)."""
    import boto3

    from careshare.access.iam import plan

    iam = boto3.client("iam")
    try:
        planned = plan(iam, _grants(args), _service_grants())
    except ValueError as problem:
        raise SystemExit(f"careshare: {problem}") from None
    if args.dry_run:
        for change in planned.changes:
            print(change)
    else:
        planned.apply(iam, lambda change: print(change, flush=True))
    done = "would be made (dry run)" if args.dry_run else "made"
    print(f"{len(planned.changes)} changes {done}; {len(planned.unchanged)} policies unchanged", file=sys.stderr)
    return 0


def _presign(args: argparse.Namespace) -> int:
    from careshare.access.presign import presign_release
    from careshare.access.recipients import recipient
    from careshare.storage import S3Store, open_store

    settings, _, recipients = _context(args)
    store = open_store(settings.publish_uri)
    if not isinstance(store, S3Store):
        raise SystemExit("careshare: pre-signed links need an s3:// CARESHARE_PUBLISH_URI")
    links = presign_release(
        store,
        recipient(recipients, args.recipient),
        args.dataset,
        args.date,
        expires_in=args.expires,
        version=args.version,
    )
    print(json.dumps(links, indent=2))
    return 0
