"""How a command module adds its commands: the global options every command accepts, and
:class:`Registrar`, which each module's ``register`` receives from :mod:`paysim_cli.app`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from paysim_cli.context import Context

Handler = Callable[[Context, argparse.Namespace], None]
Subparsers = Any  # argparse's _SubParsersAction is private; its type is not worth spelling out


def global_options() -> argparse.ArgumentParser:
    """``--target``, ``--api-key``, ``--tls-*``, ``--json``, ``--timeout``: accepted by every client command at
    every level (``paysim payments --json list`` and ``paysim payments list --json``)."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument(
        "--target",
        default=argparse.SUPPRESS,
        metavar="HOST:PORT",
        help="the paysim server ($PAYSIM_TARGET; default: the last login's, else localhost:50051)",
    )
    group.add_argument(
        "--api-key",
        default=argparse.SUPPRESS,
        metavar="KEY",
        help="act with this API key (sk_test_…) instead of the saved login ($PAYSIM_API_KEY)",
    )
    for flag, meaning in (
        ("--tls-ca", "connect with TLS, trusting the CA certificates in this PEM file"),
        ("--tls-cert", "connect with TLS, presenting this PEM client certificate (mutual TLS; with --tls-key)"),
        ("--tls-key", "the PEM private key of --tls-cert"),
    ):
        group.add_argument(flag, default=argparse.SUPPRESS, metavar="FILE", help=meaning)
    group.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the result as one JSON document (the contract's messages, proto field names)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="give up on each call after this long, retries included (default 30)",
    )
    return common


class Registrar:
    """Adds commands and groups of commands, each with the global options."""

    def __init__(self, subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
        self._subparsers = subparsers
        self._common = common

    def group(self, name: str, help: str) -> Registrar:
        parser = self._subparsers.add_parser(name, help=help, description=help, parents=[self._common])
        nested = parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")
        return Registrar(nested, self._common)

    def command(
        self, name: str, help: str, handler: Handler, *, description: str | None = None
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._subparsers.add_parser(
            name,
            help=help,
            description=description or help,
            parents=[self._common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(cli_handler=handler)
        return parser
