"""Customers, API keys, gateway configurations, the simulator's knobs, the 3-D Secure policy and
the admin's merchant commands, through ``paysim`` with ``--json`` parsed back and tables read."""

from __future__ import annotations

from paysim_client.types import PaymentStatus

from tests.cli.conftest import PASSWORD, AdminAccount, Cli
from tests.support.factories import MerchantAccount, unique, unique_email
from tests.support.harness import ServerHandle


def test_customers(cli: Cli, logged_in: MerchantAccount) -> None:
    email = unique_email("ada")
    created = cli.json("customers", "create", "--email", email, "--name", "Ada", "--metadata", "tier=gold")
    assert created["id"].startswith("cus_") and created["metadata"] == {"tier": "gold"}
    updated = cli.json("customers", "update", created["id"], "--phone", "+441234567890", "--metadata", "since=2024")
    assert updated["phone"] == "+441234567890" and updated["metadata"] == {"tier": "gold", "since": "2024"}
    assert cli.json("customers", "update", created["id"], "--clear-metadata")["metadata"] == {}

    listed = cli.json("customers", "list", "--email", email)
    assert [c["id"] for c in listed["customers"]] == [created["id"]]
    table = cli.ok("customers", "list", "--email", email).stdout.splitlines()
    assert table[0].split() == ["CUSTOMER", "EMAIL", "NAME", "PHONE", "CREATED"]
    assert table[1].split()[:3] == [created["id"], email, "Ada"]

    paid = cli.json("payments", "create", "--amount", "3", "--card", "4242424242424242", "--customer", created["id"])
    assert paid["customer_id"] == created["id"]
    assert cli.json("payments", "list", "--customer", created["id"])["payments"][0]["id"] == paid["id"]

    assert cli.ok("customers", "delete", created["id"]).stdout.strip() == f"deleted {created['id']}"
    gone = cli("customers", "get", created["id"])
    assert gone.code == 1 and "(reason CUSTOMER_NOT_FOUND, request id " in gone.stderr


def test_api_keys_shown_once_then_usable_then_revoked(cli: Cli, logged_in: MerchantAccount) -> None:
    name = unique("cli key")
    human = cli.ok("api-keys", "create", name).stdout
    secret = next(line.split()[1] for line in human.splitlines() if line.startswith("secret"))
    assert secret.startswith("sk_test_") and "shown only now" in human

    listed = cli.json("api-keys", "list", "--limit", "0")
    mine = next(k for k in listed["api_keys"] if k["name"] == name)
    assert "secret" not in mine and secret.startswith(mine["prefix"])
    assert cli.json("whoami", "--api-key", secret)["api_key_id"] == mine["id"]

    revoked = cli.json("api-keys", "revoke", mine["id"])
    assert revoked["revoke_time"]
    refused = cli("whoami", "--api-key", secret)
    assert refused.code == 1 and "reason API_KEY_REVOKED" in refused.stderr


def test_gateway_configurations(cli: Cli, logged_in: MerchantAccount) -> None:
    assert cli.ok("gateways", "list").stdout.strip() == "no gateway configured: payments go to simulator alone"
    stripe = cli.json("gateways", "set", "stripe", "--priority", "1", "--setting", "timeout_ms=2000")
    assert (stripe["gateway"], stripe["enabled"], stripe["settings"]) == ("stripe", True, {"timeout_ms": "2000"})
    cli.ok("gateways", "set", "simulator", "--priority", "2", "--disabled")
    table = cli.ok("gateways", "list").stdout.splitlines()
    assert [line.split()[:3] for line in table] == [
        ["PRIORITY", "GATEWAY", "ENABLED"],
        ["1", "stripe", "yes"],
        ["2", "simulator", "no"],
    ]
    bad = cli("gateways", "set", "adyen", "--priority", "0")
    assert bad.code == 1
    assert "  gateway: must be one of stripe, paypal, razorpay, simulator [UNKNOWN_GATEWAY]" in bad.stderr.splitlines()
    assert cli.json("gateways", "delete", "simulator")["gateway"] == "simulator"
    assert [c["gateway"] for c in cli.json("gateways", "list")["gateway_configs"]] == ["stripe"]


def test_outages_scripts_and_breakers(cli: Cli, logged_in: MerchantAccount) -> None:
    outage = cli.json("simulator", "outage", "simulator", "--duration", "5m")
    assert outage["outage_mode"] == "OUTAGE_MODE_ERROR" and outage["outage_until"]
    failed = cli("payments", "create", "--amount", "5", "--card", "4242424242424242")
    assert failed.code == 1 and "(reason GATEWAY_UNAVAILABLE, request id " in failed.stderr
    faults = cli.ok("simulator", "faults").stdout
    assert "simulator" in faults and "error until" in faults
    assert cli.json("simulator", "clear")["cleared"] == 1

    script = cli.json("simulator", "script", "simulator", "decline:insufficient_funds", "approve")
    assert [s["kind"] for s in script["script"]] == ["SCRIPTED_OUTCOME_KIND_DECLINE", "SCRIPTED_OUTCOME_KIND_APPROVE"]
    first = cli.json("payments", "create", "--amount", "5", "--card", "4242424242424242")
    second = cli.json("payments", "create", "--amount", "5", "--card", "4242424242424242")
    assert first["decline"]["code"] == "insufficient_funds"
    assert second["status"] == PaymentStatus.Name(PaymentStatus.PAYMENT_STATUS_CAPTURED)
    assert cli.ok("simulator", "faults").stdout.strip() == "no faults in force"

    breakers = cli.json("simulator", "breakers")
    simulator = next(b for b in breakers["breakers"] if b["gateway"] == "simulator")
    assert simulator["state"] == "BREAKER_STATE_CLOSED" and int(simulator["failures"]) >= 1
    assert "opens after" in cli.ok("simulator", "breakers").stdout

    scenarios = cli.json("simulator", "scenarios", "--trigger", "card")
    assert any(s["value"] == "4000000000003220" for s in scenarios["scenarios"])
    assert {s["trigger"] for s in scenarios["scenarios"]} == {"SCENARIO_TRIGGER_CARD"}


def test_the_3ds_policy(cli: Cli, logged_in: MerchantAccount) -> None:
    assert cli.json("3ds", "policy", "show")["mode"] == "THREE_DS_POLICY_MODE_NEVER"
    policy = cli.json("3ds", "policy", "set", "above-amount", "--threshold", "USD=100")
    assert policy["thresholds"] == [{"currency_code": "USD", "amount_minor": "10000"}]
    assert "above 100.00 USD" in cli.ok("3ds", "policy", "show").stdout
    large = cli.json("payments", "create", "--amount", "150", "--currency", "USD", "--card", "4242424242424242")
    small = cli.json("payments", "create", "--amount", "50", "--currency", "USD", "--card", "4242424242424242")
    assert large["three_ds"]["trans_status"] and "three_ds" not in small  # unset messages are left out
    cli.ok("3ds", "policy", "set", "never")


def test_test_clocks_and_what_lives_on_them(cli: Cli, logged_in: MerchantAccount) -> None:
    clock = cli.json("clocks", "create", "checkout", "--at", "2026-03-01T09:30")
    assert clock["id"].startswith("clk_") and clock["frozen_time"] == "2026-03-01T09:30:00Z"
    customer = cli.json("customers", "create", "--name", "Ann", "--test-clock", clock["id"])
    assert customer["test_clock_id"] == clock["id"]
    paid = cli.json(
        "payments", "create", "--amount", "3", "--card", "4000000000007726", "--customer", customer["id"], "--manual"
    )
    assert paid["test_clock_id"] == clock["id"] and paid["create_time"] == "2026-03-01T09:30:00Z"
    assert f"test clock  {clock['id']}" in cli.ok("payments", "get", paid["id"]).stdout
    moved = cli.json("clocks", "advance", clock["id"], "--to", "2026-03-09")
    assert (moved["status"], moved["frozen_time"]) == ("TEST_CLOCK_STATUS_READY", "2026-03-09T00:00:00Z")
    assert cli.json("payments", "get", paid["id"])["status"] == "PAYMENT_STATUS_VOIDED"  # expired on the clock
    assert [c["id"] for c in cli.json("clocks", "list")["test_clocks"]] == [clock["id"]]
    refused = cli("clocks", "delete", clock["id"])
    assert refused.code == 1 and "(reason TEST_CLOCK_IN_USE, request id " in refused.stderr
    empty = cli.json("clocks", "create", "empty")
    assert cli.ok("clocks", "delete", empty["id"]).stdout.strip() == f"deleted {empty['id']}"


def test_registering_a_merchant_and_the_admins_commands(
    cli: Cli, server: ServerHandle, admin_account: AdminAccount
) -> None:
    email, name = unique_email("owner"), unique("CLI Shop")
    registered = cli(
        "merchants", "register", "--target", server.target, "--name", name, "--email", email,
        "--currency", "eur", "--password-stdin", "--login", "--json", input=PASSWORD + "\n",
    )  # fmt: skip
    reply = registered.json()
    merchant_id = reply["merchant"]["id"]
    assert reply["merchant"]["default_currency_code"] == "EUR" and reply["owner"]["email"] == email
    assert cli.json("whoami")["merchant_id"] == merchant_id  # --login kept the owner's session
    assert cli.json("payments", "create", "--amount", "2", "--card", "4242424242424242")["currency_code"] == "EUR"
    assert "fee       2.90 % + 0.30 EUR" in cli.ok("merchants", "get").stdout
    assert "cards     any valid number" in cli.ok("merchants", "get").stdout
    refusing = cli.json("merchants", "update", "--unknown-cards", "refuse")
    assert refusing["unknown_cards"] == "UNKNOWN_CARDS_REFUSE"
    assert "cards     test cards only" in cli.ok("merchants", "get").stdout
    cli.json("merchants", "update", "--unknown-cards", "approve")

    cli.ok("login", "--email", admin_account.email, "--password-stdin", input=admin_account.password + "\n")
    assert any(m["id"] == merchant_id for m in cli.json("merchants", "list", "--limit", "0")["merchants"])
    assert cli.json("merchants", "deactivate", merchant_id)["active"] is False
    assert "no (deactivated)" in cli.ok("merchants", "get", merchant_id).stdout
    assert cli.json("merchants", "activate", merchant_id)["active"] is True
    # An admin acts on a merchant by naming it.
    paid = cli.json("payments", "create", "--amount", "4", "--card", "4242424242424242", "--merchant", merchant_id)
    assert paid["merchant_id"] == merchant_id
    renamed = cli.json("merchants", "update", merchant_id, "--name", name + " renamed")
    assert renamed["name"] == name + " renamed"


def test_chaos_profiles_and_reset(cli: Cli, logged_in: MerchantAccount) -> None:
    profile = cli.json("simulator", "chaos", "set", "simulator", "--seed", "42", "--decline-rate", "100%", "--p50", "1")
    assert (profile["seed"], profile["decline_rate_bps"], profile["latency_p99_ms"]) == ("42", 10_000, 1)
    declined = cli.json("payments", "create", "--amount", "5", "--card", "4242424242424242")
    assert declined["decline"]["code"] == "generic_decline"
    assert declined["attempts"][0]["chaos"] is True and declined["attempts"][0]["simulated_by"] == "chaos:decline#0"
    shown = cli.ok("simulator", "chaos", "show", "simulator").stdout
    assert "declines  100% (generic_decline)" in shown and "draws     1" in shown
    assert "simulator  42" in cli.ok("simulator", "chaos", "show").stdout
    bad = cli("simulator", "chaos", "set", "stripe", "--error-rate", "0.001%")
    assert bad.code == 2 and "in steps of 0.01%" in bad.stderr
    report = cli.ok("simulator", "reset").stdout
    assert "chaos profiles removed  1" in report and "test clocks kept        none" in report
    assert cli.ok("simulator", "chaos", "show").stdout.strip() == "no chaos profiles"
    assert cli.json("simulator", "chaos", "clear")["cleared"] == 0
    assert cli.json("simulator", "reset-breaker", "simulator")["state"] == "BREAKER_STATE_CLOSED"
