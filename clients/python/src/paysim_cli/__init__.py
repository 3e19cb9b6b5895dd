"""The ``paysim`` command line's client commands, built on the :mod:`paysim_client` SDK.

``paysim login``, ``payments``, ``3ds``, ``customers``, ``api-keys``, ``gateways``,
``simulator``, ``merchants``, ``demo seed``… The server's ``paysim`` command offers them beside
``serve``; with only the client installed, ``python -m paysim_cli`` runs them. Standard library
and the SDK only.
"""

from paysim_cli.app import add_commands, build_parser, main, run

__all__ = ["add_commands", "build_parser", "main", "run"]
