"""Fixtures for the command line: ``paysim`` run as a subprocess, as a person runs it, against the
session server, with its configuration file in a temporary directory."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from paysim.app.bootstrap import ensure_admin
from tests.support.factories import PASSWORD, MerchantAccount, register_merchant, unique_email
from tests.support.harness import ServerHandle

# The console script the venv installs: the command the README tells people to run.
PAYSIM = str(Path(sys.executable).with_name("paysim"))


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass
class Cli:
    """Runs ``paysim …`` with a private configuration file and no PAYSIM_* from the caller."""

    config: Path
    env: dict[str, str]

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        completed = subprocess.run(
            [PAYSIM, *args],
            input=input,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in completed.stderr, completed.stderr
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.code == 0, f"paysim {' '.join(args)} exited {result.code}: {result.stderr}"
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)

    def saved(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.config.read_text())
        return data


# What a shell without job control does to a command it starts in the background (`paysim watch &`
# in a script): SIGINT ignored, a disposition exec keeps.
_IGNORING_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"
)


def started(argv: list[str], how: str) -> list[str]:
    """``argv`` as started ``"in the foreground"`` or ``"in the background"`` by a shell script."""
    assert how in {"in the foreground", "in the background"}
    return argv if how == "in the foreground" else [sys.executable, "-c", _IGNORING_SIGINT, *argv]


def at_a_terminal_prompt(argv: list[str], env: dict[str, str], prompt: str, keys: bytes) -> Result:
    """Run ``argv`` with a terminal as its standard input, wait for ``prompt`` on stderr, type
    ``keys`` (``b"\\x04"``: Ctrl-D), and collect the result.

    The process gets a session of its own, so it has no controlling terminal: getpass then reads
    the pseudo-terminal on stdin (never the terminal of whoever runs the tests)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            argv, env=env, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    finally:
        os.close(terminal)
    assert process.stderr is not None and process.stdout is not None
    try:
        seen = b""
        deadline = time.monotonic() + 60
        while prompt.encode() not in seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no prompt {prompt!r} within 60s; stderr so far: {seen!r}"
            ready, _, _ = select.select([process.stderr], [], [], remaining)
            chunk = os.read(process.stderr.fileno(), 4096) if ready else b""
            assert chunk or not ready, f"stderr closed before the prompt: {seen!r}"
            seen += chunk
        os.write(controller, keys)
        stdout, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.close(controller)
    stderr = (seen + rest).decode()
    assert "Traceback" not in stderr, stderr
    return Result(process.returncode, stdout.decode(), stderr)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYSIM_", "XDG_"))}
    return {**env, **extra}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    config = tmp_path / "config" / "cli.json"
    return Cli(config, clean_env(PAYSIM_CLI_CONFIG=str(config), HOME=str(tmp_path / "home")))


@pytest.fixture
def merchant(server: ServerHandle) -> MerchantAccount:
    return register_merchant(server.stubs())


@pytest.fixture
def logged_in(cli: Cli, server: ServerHandle, merchant: MerchantAccount) -> MerchantAccount:
    """``cli`` logged in as the owner of a new merchant: later commands need no credentials."""
    cli.ok("login", "--target", server.target, "--email", merchant.email, "--password-stdin", input=PASSWORD + "\n")
    return merchant


@dataclass(frozen=True)
class AdminAccount:
    email: str
    password: str


@pytest.fixture(scope="session")
def admin_account(server: ServerHandle) -> AdminAccount:
    email = unique_email("cli-admin")
    server.run(ensure_admin(server.app, email, PASSWORD))
    return AdminAccount(email, PASSWORD)


def payment_id(document: dict[str, Any]) -> str:
    value = document["id"]
    assert isinstance(value, str) and value.startswith("pay_")
    return value
