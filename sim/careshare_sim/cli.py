"""The `careshare-sim` command line: `python -m careshare_sim.cli COMMAND [options]`.

`serve` answers the feeds and the CQC directory over HTTP (the demo, compose); `generate` writes
feed files and their ground truth to a landing folder.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from careshare.config import Settings
from careshare.feeds import Feed
from careshare.reference import load_local_authorities

from .faults import FaultPlan
from .mess import MessRates
from .modes import ServerModes
from .server import SimulatorServer
from .world import World

PROG = "careshare-sim"
DEFAULT_DIRECTORY_AS_OF = date(2024, 6, 30)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="the deterministic feed simulator")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve the feeds and the directory over HTTP")
    _world_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    serve.add_argument("--api-key-env", default="CARESHARE_SIM_API_KEY", help="variable holding the exports key")
    serve.add_argument(
        "--directory-key-env",
        default="CARESHARE_SIM_DIRECTORY_KEY",
        help="variable holding the directory key",
    )
    serve.add_argument("--faults", type=Path, default=None, help="a fault plan (JSON) to serve faults on demand")
    _mode_options(serve)
    serve.set_defaults(handler=_serve)

    generate = commands.add_parser("generate", help="write feed files and their truth to a landing folder")
    _world_options(generate)
    generate.add_argument("--start", type=date.fromisoformat, required=True, help="first report date")
    generate.add_argument("--end", type=date.fromisoformat, required=True, help="last report date, inclusive")
    generate.add_argument(
        "--out", type=Path, required=True, help="landing folder: {feed}/{YYYY-MM-DD}.csv, and their truth in _truth/"
    )
    generate.add_argument("--feed", action="append", dest="feeds", help="only this feed (repeatable)")
    generate.add_argument(
        "--version",
        choices=("latest", "first"),
        default="latest",
        help="which version of each file to write: the final one, or the first published (maybe unusable)",
    )
    generate.set_defaults(handler=_generate)
    return parser


def _world_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="the same seed gives the same world and files")
    parser.add_argument("--care-homes", type=int, default=15_500, help="care homes in the world")
    parser.add_argument("--community", type=int, default=10_000, help="homecare, extra care, supported living")
    parser.add_argument("--shared-lives", type=int, default=None, help="default: 3%% of --community")
    parser.add_argument(
        "--directory-as-of",
        type=date.fromisoformat,
        default=DEFAULT_DIRECTORY_AS_OF,
        help="the day the CQC directory is served as of, YYYY-MM-DD (default: %(default)s)",
    )
    parser.add_argument("--reference", type=Path, default=None, help="local_authorities.csv")
    parser.add_argument("--clean", action="store_true", help="no mess: every rate zero")
    parser.add_argument(
        "--mess-rate",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help="set one mess rate after --clean, e.g. truncated_file=0.05 (repeatable)",
    )


def _mode_options(parser: argparse.ArgumentParser) -> None:
    """How the server behaves to every request, as real servers within SOURCES.md differ."""
    modes = parser.add_argument_group("server behaviour")
    modes.add_argument(
        "--head",
        choices=("served", "405", "501"),
        default="served",
        help="answer HEAD like GET without the body (default), or refuse it with 405 or 501",
    )
    modes.add_argument(
        "--compression",
        choices=("none", "gzip", "deflate"),
        default="none",
        help="compress answers whose request accepts it (Accept-Encoding); Content-Length counts the bytes sent",
    )
    modes.add_argument(
        "--redirect-exports",
        action="store_true",
        help="answer exports with a 302 to another host that serves the file once, without a key",
    )
    modes.add_argument(
        "--file-host-url",
        default=None,
        help="that other host, the same server under another name (default: localhost for 127.0.0.1 and back)",
    )
    modes.add_argument(
        "--etag",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="send an ETag (the file's sha256) and answer a matching If-None-Match with 304 (default: off)",
    )
    modes.add_argument(
        "--last-modified",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send Last-Modified and answer an If-Modified-Since not older with 304 (default: on)",
    )


def _modes(args: argparse.Namespace) -> ServerModes:
    return ServerModes(
        head=args.head,
        compression=args.compression,
        redirect_exports=args.redirect_exports,
        etag=args.etag,
        last_modified=args.last_modified,
    )


def _world(args: argparse.Namespace) -> Any:
    reference = args.reference or Settings.from_env().reference_csv
    rates = MessRates.clean() if args.clean else MessRates()
    return World(
        args.seed,
        args.care_homes,
        args.community,
        load_local_authorities(Path(reference)),
        args.directory_as_of,
        shared_lives=args.shared_lives,
        mess=rates.with_rates(**_mess_rates(args.mess_rate, rates)),
    )


def _mess_rates(settings: list[str], rates: MessRates) -> dict[str, float]:
    chosen: dict[str, float] = {}
    for setting in settings:
        kind, _, value = setting.partition("=")
        if not hasattr(rates, kind):
            raise SystemExit(f"{PROG}: no mess kind {kind!r}")
        try:
            chosen[kind] = float(value)
        except ValueError:
            raise SystemExit(f"{PROG}: --mess-rate {setting!r} is not KIND=RATE") from None
    return chosen


def _secret(variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise SystemExit(f"{PROG}: environment variable {variable} is not set")
    return value


def _serve(args: argparse.Namespace) -> int:
    api_key, directory_key = _secret(args.api_key_env), _secret(args.directory_key_env)
    try:
        faults = FaultPlan.from_file(args.faults) if args.faults else None
        server = SimulatorServer(
            _world(args),
            api_key,
            directory_key,
            host=args.host,
            port=args.port,
            faults=faults,
            modes=_modes(args),
            file_host_url=args.file_host_url,
        )
    except ValueError as problem:
        raise SystemExit(f"{PROG}: {problem}") from None
    stopping = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopping.set())
    with server:
        rules = f" with {len(faults.rules)} fault rules" if faults else ""
        print(f"simulator serving {len(server.app.world.population)} locations on {server.base_url}{rules}", flush=True)
        stopping.wait()
    return 0


def _generate(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise SystemExit(f"{PROG}: --end is before --start")
    feeds = [Feed(name) for name in args.feeds] if args.feeds else list(Feed)
    world = _world(args)
    truth_root = args.out / "_truth"
    truth_root.mkdir(parents=True, exist_ok=True)
    _write_jsonl(truth_root / "directory.jsonl", world.directory_truth())
    written = 0
    day = args.start
    while day <= args.end:
        for feed in feeds:
            versions = world.versions(feed, day)
            if not versions:
                continue
            rendered = world.rendered(feed, day, versions[0 if args.version == "first" else -1].variant)
            if rendered is None:
                continue
            target = args.out / feed.value / f"{day.isoformat()}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(rendered.content)
            truth = truth_root / feed.value / f"{day.isoformat()}.jsonl"
            truth.parent.mkdir(parents=True, exist_ok=True)
            _write_jsonl(truth, [row.to_dict() for row in rendered.rows])
            file_truth = rendered.file.to_dict() | {"versions": world.file_truth(feed, day)["versions"]}
            truth.with_suffix(".file.json").write_text(json.dumps(file_truth, indent=2) + "\n")
            written += 1
        day += timedelta(days=1)
    print(f"wrote {written} files to {args.out}", file=sys.stderr)
    return 0


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main())
