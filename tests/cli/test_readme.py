"""The README's five-minute path runs as written: its ``$ paysim …`` commands in order, then its
Python snippet, against a real server (names, ids and the target swapped for this run's)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Cli
from tests.support.factories import PASSWORD, register_merchant, unique, unique_email
from tests.support.harness import ServerHandle

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _section(start: str, end: str) -> str:
    return README[README.index(start) : README.index(end)]


def test_the_five_minute_cli_path(cli: Cli, server: ServerHandle) -> None:
    path = _section("### From nothing to a refunded 3-D Secure payment", "### The same in Python")
    commands = [shlex.split(line[2:]) for line in path.splitlines() if line.startswith("$ paysim ")]
    assert [c[1:3] for c in commands] == [
        ["merchants", "register"],
        ["payments", "create"],
        ["3ds", "approve"],
        ["payments", "refund"],
        ["payments", "refund"],
        ["payments", "list"],
    ]
    documented_id = commands[2][3]
    email, name = unique_email("owner"), unique("Acme Books")
    payment_id = ""
    for argv in commands:
        argv = [payment_id if a == documented_id else a for a in argv[1:]]
        argv = [email if a == "owner@acme.test" else name if a == "Acme Books" else a for a in argv]
        if argv[:2] == ["merchants", "register"]:  # no terminal here: the password comes on stdin
            argv += ["--target", server.target, "--password-stdin"]
        out = cli.ok(*argv, input=PASSWORD + "\n").stdout
        if argv[:2] == ["payments", "create"]:
            payment_id = re.search(r"^payment\s+(pay_\w+)", out, re.M).group(1)  # type: ignore[union-attr]
            assert f"paysim 3ds approve {payment_id}" in out
    assert out.splitlines()[1].split()[:4] == [payment_id, "refunded", "25.00", "EUR"]


def test_the_same_in_python(server: ServerHandle) -> None:
    python = _section("### The same in Python", "### Commands")
    code = python[python.index("```python\n") + len("```python\n") : python.index("```\n", python.index("```python"))]
    account = register_merchant(server.stubs())
    code = code.replace('"localhost:50051"', repr(server.target))
    code = code.replace('"owner@acme.test"', repr(account.email)).replace('"your password"', repr(PASSWORD))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"pay_\w+ PAYMENT_STATUS_REFUNDED\n", result.stdout)
