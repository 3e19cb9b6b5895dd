"""Run one server process until SIGTERM/SIGINT: bootstrap, serve, drain, close."""

from __future__ import annotations

import sys

from paysim.app.bootstrap import bootstrap
from paysim.app.server import PaysimServer, PortInUseError, serve_until_signalled
from paysim.config import Settings


async def serve(settings: Settings, *, run_migrations: bool = True) -> int:
    app = await bootstrap(settings, run_migrations=run_migrations)
    try:
        await serve_until_signalled(PaysimServer(app))
    except PortInUseError as error:
        reason = str(error).rstrip(". ")
        print(f"paysim: {reason}. Is another server running? Choose another with --listen.", file=sys.stderr)
        return 2
    finally:
        await app.close()
    return 0
