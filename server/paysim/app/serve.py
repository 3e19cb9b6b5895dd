"""Run one server process until SIGTERM/SIGINT: bootstrap, serve, drain, close."""

from __future__ import annotations

import sys

from paysim.app import gc_tuning, observability_setup
from paysim.app.bootstrap import bootstrap
from paysim.app.listen_address import AddressInUse, ListenError
from paysim.app.server import PaysimServer, serve_until_signalled
from paysim.app.tls import TransportError
from paysim.config import Settings


async def serve(settings: Settings, *, run_migrations: bool = True, parent_lifeline: int | None = None) -> int:
    """``parent_lifeline``: for a worker, a descriptor that reaches end-of-file when its parent is
    gone; the worker then shuts down as on SIGTERM."""
    try:
        endpoint = observability_setup.start_in_process(settings, worker=parent_lifeline is not None)
    except observability_setup.ObservabilityError as error:
        print(f"paysim: {error}", file=sys.stderr)
        return 2
    gc_tuning.collect_less_often()
    app = await bootstrap(settings, run_migrations=run_migrations)
    gc_tuning.freeze_what_exists()
    try:
        await serve_until_signalled(PaysimServer(app), parent_lifeline=parent_lifeline)
    except ListenError as error:
        reason = str(error).rstrip(". ")
        hint = " Is another server running? Choose another with --listen." if isinstance(error, AddressInUse) else ""
        print(f"paysim: {reason}.{hint}", file=sys.stderr)
        return 2
    except TransportError as error:
        print(f"paysim: {error}.", file=sys.stderr)
        return 2
    finally:
        await app.close()
        observability_setup.stop(endpoint)
    return 0
