"""Every option of every `careshare` and `careshare-sim` command says what it is for, and
`careshare --version` works."""

from __future__ import annotations

import argparse
from importlib.metadata import version

import pytest

from careshare.cli import build_parser, main
from careshare_sim.cli import build_parser as build_simulator_parser

# Each command line's parser, and how many commands (itself included) it has at least.
COMMAND_LINES = {"careshare": (build_parser, 11), "careshare-sim": (build_simulator_parser, 3)}


def commands(parser: argparse.ArgumentParser, path: str):
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


@pytest.mark.parametrize("program", COMMAND_LINES)
def test_every_option_of_every_command_has_help(program):
    build, at_least = COMMAND_LINES[program]
    found = {path: undocumented(parser) for path, parser in commands(build(), program)}
    assert len(found) >= at_least
    assert {path: missing for path, missing in found.items() if missing} == {}


@pytest.mark.parametrize("program", COMMAND_LINES)
def test_every_command_has_help(program):
    build, _ = COMMAND_LINES[program]
    missing = []
    for path, command in commands(build(), program):
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                missing += [f"{path} {name}" for name in action.choices if not (helps.get(name) or "").strip()]
    assert missing == []


def test_without_a_command_the_help_is_printed(capsys):
    assert main([]) == 2
    assert capsys.readouterr().out.startswith("usage: careshare")


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"careshare {version('careshare')}"
