"""Each example script runs against a started server and exits 0, with the environment a user
would set: by API key, by the owner's login, and with no credentials at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle

EXAMPLES = Path(__file__).resolve().parents[2] / "clients" / "python" / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAYSIM_")}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_examples_are_there() -> None:
    assert SCRIPTS == [
        "gateway_failover.py",
        "quickstart.py",
        "receive_webhooks.py",
        "refunds.py",
        "three_ds_challenge.py",
        "watch_payments.py",
    ]


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_example_runs_with_an_api_key(server: ServerHandle, merchant: MerchantAccount, script: str) -> None:
    result = _run(script, {"PAYSIM_TARGET": server.target, "PAYSIM_API_KEY": merchant.api_key})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip()


def test_the_quickstart_with_a_login_and_with_no_credentials(server: ServerHandle, merchant: MerchantAccount) -> None:
    login = {"PAYSIM_TARGET": server.target, "PAYSIM_EMAIL": merchant.email, "PAYSIM_PASSWORD": merchant.password}
    result = _run("quickstart.py", login)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"acting for merchant {merchant.merchant_id}" in result.stdout
    fresh = _run("quickstart.py", {"PAYSIM_TARGET": server.target})
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "registered merchant mer_" in fresh.stdout and "declined, insufficient_funds" in fresh.stdout
