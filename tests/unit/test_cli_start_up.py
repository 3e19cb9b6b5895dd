"""Start-up loads only what is used: building the command line, or running a client command,
loads nothing of the server's database layer; a server loads the dashboard's web framework and the
Redis client only when it was configured to use them."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
from paysim.cli import build_parser
build_parser()
heavy = sorted(name for name in sys.modules if name.split(".")[0] in {"sqlalchemy", "psycopg", "aiosqlite", "alembic"})
print(",".join(heavy))
"""


def test_building_the_command_line_loads_no_database_library() -> None:
    completed = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True)
    assert completed.stdout.strip() == "", f"loaded at start-up: {completed.stdout.strip()}"


_SERVER_PROBE = """
import sys
import paysim.app.serve, paysim.app.server
heavy = sorted(name for name in sys.modules if name.split(".")[0] in {"aiohttp", "redis"})
print(",".join(heavy))
"""


def test_a_server_without_the_dashboard_or_redis_loads_neither_library() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _SERVER_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == "", f"loaded by the server's modules: {completed.stdout.strip()}"
