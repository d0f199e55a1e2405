"""Every option of every `careshare` command says what it is for, and `careshare --version` works."""

from __future__ import annotations

import argparse
from importlib.metadata import version

import pytest

from careshare.cli import build_parser, main


def commands(parser: argparse.ArgumentParser, path: str = "careshare"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from commands(subparser, f"{path} {name}")


def undocumented(parser: argparse.ArgumentParser) -> list[str]:
    return [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not (action.help or "").strip()
    ]


def test_every_option_of_every_command_has_help():
    found = {path: undocumented(parser) for path, parser in commands(build_parser())}
    assert len(found) > 10
    assert {path: missing for path, missing in found.items() if missing} == {}


def test_every_command_has_help():
    parser = build_parser()
    missing = []
    for path, command in commands(parser):
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                missing += [f"{path} {name}" for name in action.choices if not (helps.get(name) or "").strip()]
    assert missing == []


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"careshare {version('careshare')}"
