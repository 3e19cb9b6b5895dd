"""Fixtures for the command line: ``paysim`` run as a subprocess, as a person runs it, against the
session server, with its configuration file in a temporary directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
