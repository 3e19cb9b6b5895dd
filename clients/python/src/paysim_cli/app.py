"""The command tree and the one place commands are run: results, errors and exit codes.

``add_commands`` adds the client commands to a ``paysim`` parser (the server's ``paysim`` adds
them beside ``serve``; ``python -m paysim_cli`` has them alone); ``run`` executes the parsed
command and turns every failure into a line on stderr and an exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

from paysim_client import __version__, errors

from paysim_cli.config import ConfigError
from paysim_cli.context import Context
from paysim_cli.failures import (
    EXIT_INTERRUPTED,
    EXIT_REFUSED,
    EXIT_USAGE,
    Interrupted,
    UsageError,
    describe_rpc_error,
)
from paysim_cli.registrar import Handler, Registrar, Subparsers, global_options


def add_commands(subparsers: Subparsers) -> None:
    """Add every client command to a ``paysim`` parser's subcommands."""
    from paysim_cli.commands import ALL

    registrar = Registrar(subparsers, global_options())
    for module in ALL:
        module.register(registrar)


def _fail(lines: list[str], code: int) -> int:
    for line in lines:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return code


def honour_ctrl_c() -> None:
    """Make SIGINT interrupt the command, however it was started.

    A shell without job control starts ``paysim watch &`` (a line of a script) with SIGINT
    ignored, and Python then never raises KeyboardInterrupt: ``kill -INT`` or a Ctrl-C reaching
    the script's process group would do nothing, and a watch would never say where it stopped.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run(args: argparse.Namespace) -> int:
    """Run the parsed client command; returns the exit code (see :mod:`paysim_cli.failures`)."""
    handler: Handler = args.cli_handler
    ctx: Context | None = None
    honour_ctrl_c()
    try:
        ctx = Context.from_args(args)
        handler(ctx, args)
        return 0
    except UsageError as error:
        return _fail([f"error: {error}"], EXIT_USAGE)
    except errors.RpcError as error:
        target = ctx.target if ctx is not None else "?"
        lines, code = describe_rpc_error(error, target, session=ctx is not None and ctx.uses_session)
        return _fail(lines, code)
    except ConfigError as error:
        return _fail([f"error: {error}"], EXIT_REFUSED)
    except ValueError as error:  # the SDK refusing an argument before sending anything
        return _fail([f"error: {error}"], EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail(["interrupted"], EXIT_INTERRUPTED)
    except Interrupted:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``paysim payments list | head``): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_REFUSED
    except Exception as error:  # a bug here: still one line, with what to report
        return _fail([f"error: unexpected failure in the command line ({type(error).__name__}: {error})"], EXIT_REFUSED)
    finally:
        if ctx is not None:
            # Closing a channel must not turn a result into a traceback.
            with contextlib.suppress(Exception):
                ctx.close()


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m paysim_cli``: the client commands alone."""
    parser = argparse.ArgumentParser(prog="paysim", description="The paysim command line (client commands).")
    parser.add_argument("--version", action="version", version=f"paysim-client {__version__}")
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)
