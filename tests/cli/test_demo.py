"""``paysim demo seed``: merchants with API keys and a mix of payments; a progress bar on a
terminal, and nothing but the result when the output is piped."""

from __future__ import annotations

import os
import pty
import subprocess

from tests.cli.conftest import PAYSIM, Cli
from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle


def test_seeding_new_merchants_gives_each_a_working_key_and_its_payments(cli: Cli, server: ServerHandle) -> None:
    result = cli("demo", "seed", "--target", server.target, "--merchants", "2", "--payments", "6", "--seed", "7")
    assert "\r" not in result.stdout + result.stderr  # not a terminal: no bar at all
    assert result.stderr == ""
    summary = cli.json("demo", "seed", "--target", server.target, "--merchants", "1", "--payments", "4")
    assert summary["payments"] == 4 and sum(summary["statuses"].values()) == 4
    (merchant,) = summary["merchants"]
    listed = cli.json("payments", "list", "--target", server.target, "--api-key", merchant["api_key"])
    assert len(listed["payments"]) == 4
    assert {p["merchant_id"] for p in listed["payments"]} == {merchant["merchant_id"]}


def test_seeding_the_logged_in_merchant_with_the_same_seed_tells_the_same_stories(
    cli: Cli, logged_in: MerchantAccount
) -> None:
    first = cli.json("demo", "seed", "--payments", "12", "--seed", "3")
    second = cli.json("demo", "seed", "--payments", "12", "--seed", "3")
    assert first["statuses"] == second["statuses"] and first["merchants"] == []
    assert len(cli.json("payments", "list", "--limit", "0")["payments"]) == 24


def test_the_progress_bar_is_drawn_on_a_terminal(cli: Cli, logged_in: MerchantAccount) -> None:
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run(
            [PAYSIM, "demo", "seed", "--payments", "3"],
            env=cli.env,
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    text = seen.decode()
    assert process.returncode == 0, text
    assert "\rpayments [" in text and "] 3/3 100%" in text
    assert text.rstrip().splitlines()[-1].startswith("seeded 3 payments: ")
