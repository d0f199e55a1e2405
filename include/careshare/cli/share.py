"""`careshare share ...`: serve the releases over Delta Sharing, issue a recipient's profile, revoke.

    careshare share serve --host 0.0.0.0 --port 8090            # the protocol under /delta-sharing
    careshare share profile la-e08000035 --out leeds.share      # a new token, in the profile file only
    careshare share profile la-e08000035 --out leeds.share --rotate   # and every earlier one revoked
    careshare share revoke la-e08000035                         # every token of the recipient ends now

The token exists in one place outside this process: the profile file (readable by its owner only).
It is never printed or logged; the warehouse keeps its hash (careshare.share.tokens).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from careshare.config import RECIPIENTS_TOML
from careshare.share.tokens import DEFAULT_LIFETIME, MAX_LIFETIME

ENDPOINT_VARIABLE = "CARESHARE_SHARING_ENDPOINT"
INSECURE_HTTP_VARIABLE = "CARESHARE_ALLOW_INSECURE_HTTP"
PROTOCOL_PATH = "/delta-sharing"
MAX_URL_MINUTES = 60


def register_share(groups: Any) -> None:
    share = groups.add_parser("share", help="the Delta Sharing server and its recipients' profiles and tokens")
    commands = share.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve the published releases over the Delta Sharing protocol")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8090, help="port to listen on (default: %(default)s)")
    serve.add_argument(
        "--url-minutes",
        type=url_minutes,
        default=15,
        help=f"minutes each pre-signed file URL lasts, 1 to {MAX_URL_MINUTES} (default: %(default)s)",
    )
    serve.set_defaults(handler=_serve)

    profile = commands.add_parser(
        "profile", help="issue a token to a recipient and write its Delta Sharing profile file (the token is not shown)"
    )
    profile.add_argument("recipient", help="a recipient id (`careshare access check` lists them)")
    profile.add_argument("--out", type=Path, required=True, help="the profile file to write, e.g. leeds.share")
    profile.add_argument(
        "--days",
        type=lifetime_days,
        default=DEFAULT_LIFETIME,
        help=f"days until the token expires, 1 to {MAX_LIFETIME.days} (default: {DEFAULT_LIFETIME.days})",
    )
    profile.add_argument(
        "--endpoint",
        default=None,
        help=f"the server's address as the recipient reaches it, e.g. https://share.example.org{PROTOCOL_PATH} "
        f"(default: ${ENDPOINT_VARIABLE}); https unless on this machine or {INSECURE_HTTP_VARIABLE}=1",
    )
    profile.add_argument(
        "--rotate", action="store_true", help="revoke every earlier token of the recipient as this one is issued"
    )
    profile.set_defaults(handler=_profile)

    revoke = commands.add_parser("revoke", help="revoke every token of a recipient: its profile files stop working")
    revoke.add_argument("recipient", help="a recipient id (one no longer configured too)")
    revoke.set_defaults(handler=_revoke)

    for command in (serve, profile, revoke):
        command.add_argument("--config", type=Path, default=RECIPIENTS_TOML, help="recipients TOML")


def url_minutes(text: str) -> int:
    minutes = _integer(text)
    if not 1 <= minutes <= MAX_URL_MINUTES:
        raise argparse.ArgumentTypeError(f"{text}: pre-signed URLs last 1 to {MAX_URL_MINUTES} minutes")
    return minutes


def lifetime_days(text: str) -> timedelta:
    days = _integer(text)
    if not 1 <= days <= MAX_LIFETIME.days:
        raise argparse.ArgumentTypeError(f"{text}: a token lasts 1 to {MAX_LIFETIME.days} days")
    return timedelta(days=days)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def profile_endpoint(given: str | None, env: dict[str, str]) -> str:
    """The endpoint a profile names: the protocol's prefix is added to a bare host; a bearer token
    goes over https only, unless to this machine or the operator allows plain http."""
    endpoint = given or env.get(ENDPOINT_VARIABLE, "")
    if not endpoint:
        raise SystemExit(f"careshare: give --endpoint or set {ENDPOINT_VARIABLE} (the address recipients reach)")
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise SystemExit(f"careshare: --endpoint {endpoint!r} is not an http(s) address")
    if parts.scheme == "http" and not _loopback(parts.hostname) and env.get(INSECURE_HTTP_VARIABLE) != "1":
        raise SystemExit(
            f"careshare: the endpoint must be https: its token would cross the network in clear "
            f"({INSECURE_HTTP_VARIABLE}=1 allows http on a private network)"
        )
    path = parts.path.rstrip("/") or PROTOCOL_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _platform():
    from careshare.cli.environment import LocalEnvironment

    return LocalEnvironment.from_env().platform()


def _recipients(platform: Any, config: Path) -> list:
    from careshare.access.recipients import RecipientConfigError, load_recipients

    try:
        return load_recipients(platform.local_authorities, config)
    except RecipientConfigError as problem:
        raise SystemExit(f"careshare: {problem}") from None


def _configured(platform: Any, config: Path, recipient_id: str) -> bool:
    return any(r.id == recipient_id for r in _recipients(platform, config))


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from careshare.share.server import create_app
    from careshare.share.tokens import ShareTokens

    platform = _platform()
    recipients = _recipients(platform, args.config)
    try:
        app = create_app(
            platform,
            recipients,
            ShareTokens(platform.warehouse).recipient_of,
            url_lifetime=timedelta(minutes=args.url_minutes),
        )
    except (TypeError, ValueError) as problem:  # e.g. a publication that is not on S3
        raise SystemExit(f"careshare: {problem}") from None
    print(
        f"sharing {len(recipients)} recipients' tables on http://{args.host}:{args.port}{PROTOCOL_PATH}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


def _profile(args: argparse.Namespace) -> int:
    from careshare.share.tokens import ShareTokens, write_profile

    endpoint = profile_endpoint(args.endpoint, dict(os.environ))
    platform = _platform()
    recipient_id = args.recipient
    if not _configured(platform, args.config, recipient_id):
        raise SystemExit(
            f"careshare: no recipient {recipient_id!r} in {args.config} (`careshare access check` lists them)"
        )
    tokens = ShareTokens(platform.warehouse)
    issue = tokens.rotate if args.rotate else tokens.issue
    issued = issue(recipient_id, args.days)
    write_profile(args.out, endpoint, issued)
    rotated = "; every earlier token revoked" if args.rotate else ""
    print(
        f"profile for {recipient_id} written to {args.out} (endpoint {endpoint}, "
        f"expires {issued.expires_at:%Y-%m-%dT%H:%M:%SZ}){rotated}",
        file=sys.stderr,
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from careshare.share.tokens import ShareTokens

    platform = _platform()
    if not _configured(platform, args.config, args.recipient):  # a removed recipient's tokens still revoke
        print(f"note: {args.recipient!r} is not a recipient in {args.config}", file=sys.stderr)
    revoked = ShareTokens(platform.warehouse).revoke(args.recipient)
    print(f"{revoked} tokens of {args.recipient} revoked", file=sys.stderr)
    return 0
