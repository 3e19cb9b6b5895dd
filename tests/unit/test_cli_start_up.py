"""A command of the terminal's starts in a fraction of a second: building its parser, or running a
client command, loads nothing of the server's database layer."""

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
