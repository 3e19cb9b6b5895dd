"""``paysim --version`` (the server's console script) and ``python -m paysim_cli --version``."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from tests.cli.conftest import PAYSIM


def test_both_commands_say_their_version() -> None:
    server = subprocess.run([PAYSIM, "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert server.stdout == f"paysim {version('paysim')}\n"
    client = subprocess.run(
        [sys.executable, "-m", "paysim_cli", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert client.stdout == f"paysim-client {version('paysim-client')}\n"
