"""Every example a command's ``--help`` shows runs as written, in order, for a new merchant (the
target swapped for the test server's). Commands that ask for a password at a terminal or run
until Ctrl-C (``login``, ``merchants register``, ``watch``) are run by their own tests."""

from __future__ import annotations

import argparse
import shlex

import pytest
from paysim_cli.app import build_parser

from tests.cli.conftest import Cli
from tests.support.factories import PASSWORD, register_merchant
from tests.support.harness import ServerHandle

INTERACTIVE_OR_ENDLESS = {("login",), ("merchants", "register"), ("watch",)}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Each command's path and its description (where the examples are)."""
    found: dict[tuple[str, ...], str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(_commands(child, (*path, name)))
    if path and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        found[path] = parser.description or ""
    return found


def _examples(description: str) -> list[list[str]]:
    return [shlex.split(line, comments=True)[1:] for line in description.splitlines() if line.startswith("  paysim ")]


COMMANDS = {path: _examples(text) for path, text in _commands(build_parser()).items()}
WITH_EXAMPLES = sorted(path for path, examples in COMMANDS.items() if examples and path not in INTERACTIVE_OR_ENDLESS)


def test_the_walk_finds_the_examples() -> None:
    assert ("payments", "create") in WITH_EXAMPLES
    assert len(WITH_EXAMPLES) >= 6


@pytest.mark.parametrize("path", WITH_EXAMPLES, ids=" ".join)
def test_every_example_of_a_commands_help_runs(cli: Cli, server: ServerHandle, path: tuple[str, ...]) -> None:
    account = register_merchant(server.stubs())  # a new merchant: what a newcomer has
    cli.ok("login", "--target", server.target, "--email", account.email, "--password-stdin", input=PASSWORD + "\n")
    for argv in COMMANDS[path]:
        cli.ok(*argv)
