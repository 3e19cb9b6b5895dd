"""Payments through ``paysim``, as a person drives them: the whole 3-D Secure walk to a refund,
manual capture and void, declines as results, listings, amounts in each currency's exponent."""

from __future__ import annotations

import re

from paysim_client.types import PaymentStatus

from tests.cli.conftest import Cli
from tests.support.factories import MerchantAccount

CHALLENGE_CARD = "4000000000003220"


def test_a_3ds_payment_from_challenge_to_refund(cli: Cli, logged_in: MerchantAccount) -> None:
    # A person reads the human output: it says what is waiting and which command answers it.
    created = cli.ok("payments", "create", "--amount", "25.00", "--currency", "EUR", "--card", CHALLENGE_CARD)
    assert "requires action" in created.stdout
    assert "25.00 EUR" in created.stdout
    pay_id = next(line.split()[1] for line in created.stdout.splitlines() if line.startswith("payment "))
    assert f"paysim 3ds approve {pay_id}" in created.stdout

    challenge = cli.json("3ds", "show", pay_id)
    assert challenge["challenge"]["status"] == "THREE_DS_CHALLENGE_STATUS_PENDING"

    approved = cli.json("3ds", "approve", pay_id)
    assert approved["id"] == pay_id
    assert approved["status"] == "PAYMENT_STATUS_CAPTURED"
    assert approved["three_ds"]["trans_status"] == "Y" and approved["three_ds"]["challenged"] is True
    assert approved["captured_amount_minor"] == "2500"

    partial = cli.json("payments", "refund", pay_id, "--amount", "10", "--reason", "returned")
    assert partial["refund"]["amount_minor"] == "1000" and partial["refund"]["status"] == "REFUND_STATUS_SUCCEEDED"
    assert partial["payment"]["status"] == "PAYMENT_STATUS_PARTIALLY_REFUNDED"

    rest = cli.ok("payments", "refund", pay_id)  # all that is left
    assert "15.00 EUR" in rest.stdout and "refunded" in rest.stdout
    assert rest.stdout.startswith("refund re_") and " succeeded: 15.00 EUR" in rest.stdout.splitlines()[0]

    final = cli.json("payments", "get", pay_id)
    assert final["status"] == "PAYMENT_STATUS_REFUNDED"
    assert final["refunded_amount_minor"] == "2500"
    assert [r["amount_minor"] for r in final["refunds"]] == ["1000", "1500"]

    refunds = cli.json("payments", "refunds", pay_id)
    assert len(refunds["refunds"]) == 2 and refunds["next_page_token"] == ""
    first = cli.json("payments", "refunds", pay_id, "--limit", "1")
    assert [r["amount_minor"] for r in first["refunds"]] == ["1000"] and first["next_page_token"]
    listed = cli.ok("payments", "refunds", pay_id, "--page-token", first["next_page_token"])
    assert listed.stdout.splitlines()[0].split() == ["REFUND", "STATUS", "AMOUNT", "REASON", "CREATED"]
    assert listed.stdout.splitlines()[1].split()[1:4] == ["succeeded", "15.00", "EUR"]
    events = cli.json("payments", "events", pay_id)
    types = [e["type"] for e in events["events"]]
    assert types[0] == "payment.created" and "refund.succeeded" in types
    assert [int(e["payment_version"]) for e in events["events"]] == list(range(1, len(types) + 1))
    assert events["events"][0]["payment_created"]["amount_minor"] == "2500"


def test_a_denied_challenge_fails_the_payment(cli: Cli, logged_in: MerchantAccount) -> None:
    payment = cli.json("payments", "create", "--amount-minor", "4000", "--card", CHALLENGE_CARD)
    assert payment["status"] == "PAYMENT_STATUS_REQUIRES_ACTION"
    denied = cli.json("3ds", "deny", payment["id"])
    assert denied["status"] == "PAYMENT_STATUS_FAILED"
    again = cli("3ds", "approve", payment["id"])
    assert again.code == 2
    assert again.stderr.strip() == f"error: {payment['id']} has no 3-D Secure challenge waiting (it is failed)"


def test_manual_capture_void_and_declines(cli: Cli, logged_in: MerchantAccount) -> None:
    held = cli.json(
        "payments", "create", "--amount", "10", "--currency", "USD", "--card", "4242424242424242", "--manual"
    )
    assert held["status"] == "PAYMENT_STATUS_AUTHORIZED"
    captured = cli.json("payments", "capture", held["id"], "--amount", "7.50")
    assert captured["status"] == "PAYMENT_STATUS_CAPTURED" and captured["captured_amount_minor"] == "750"

    other = cli.json("payments", "create", "--amount-minor", "999", "--card", "5555555555554444", "--manual")
    voided = cli.ok("payments", "void", other["id"])
    assert "voided" in voided.stdout

    # A decline is a result: exit 0, the code and whether a retry can help.
    declined = cli.ok("payments", "create", "--amount", "5", "--card", "4000000000009995")
    assert "declined" in declined.stdout
    assert "insufficient_funds: Your card has insufficient funds." in declined.stdout
    assert "may succeed later" in declined.stdout


def test_amounts_follow_the_currency_exponent(cli: Cli, logged_in: MerchantAccount) -> None:
    yen = cli.json("payments", "create", "--amount", "1050", "--currency", "JPY", "--card", "4242424242424242")
    assert yen["amount_minor"] == "1050"
    dinar = cli.json("payments", "create", "--amount", "1.05", "--currency", "KWD", "--card", "4242424242424242")
    assert dinar["amount_minor"] == "1050"
    dollars = cli.json("payments", "create", "--amount", "1,234.5", "--card", "4242424242424242")  # USD by default
    assert (dollars["amount_minor"], dollars["currency_code"]) == ("123450", "USD")

    table = cli.ok("payments", "list", "--limit", "3").stdout.splitlines()
    assert table[0].split() == ["PAYMENT", "STATUS", "AMOUNT", "METHOD", "OUTCOME", "CREATED"]
    rows = table[1:]
    assert "1,234.50 USD" in rows[0] and "1.050 KWD" in rows[1] and "1,050 JPY" in rows[2]
    # Amounts are right-aligned: they end in the same column.
    ends = {re.search(r"\d (USD|KWD|JPY)", row).end() for row in rows}  # type: ignore[union-attr]
    assert len(ends) == 1

    too_precise = cli("payments", "create", "--amount", "1.5", "--currency", "JPY", "--card", "4242424242424242")
    assert too_precise.code == 2
    assert "has more decimal places than JPY has (0)" in too_precise.stderr


def test_listing_filters_and_pages(cli: Cli, logged_in: MerchantAccount) -> None:
    created = [
        cli.json("payments", "create", "--amount-minor", str(1000 + i), "--card", "4242424242424242")["id"]
        for i in range(5)
    ]
    declined = cli.json("payments", "create", "--amount-minor", "700", "--card", "4000000000000002")["id"]

    first = cli.json("payments", "list", "--limit", "2", "--status", "captured")
    assert [p["id"] for p in first["payments"]] == created[:-3:-1]
    assert first["next_page_token"]
    rest = cli.json(
        "payments", "list", "--limit", "0", "--status", "captured", "--page-token", first["next_page_token"]
    )
    assert [p["id"] for p in rest["payments"]] == created[2::-1]
    assert rest["next_page_token"] == ""

    only_declined = cli.json("payments", "list", "--status", "DECLINED")
    assert [p["id"] for p in only_declined["payments"]] == [declined]
    assert only_declined["payments"][0]["status"] == PaymentStatus.Name(PaymentStatus.PAYMENT_STATUS_DECLINED)

    human = cli.ok("payments", "list", "--limit", "2").stdout
    assert "(more: --page-token " in human

    bad = cli("payments", "list", "--status", "lost")
    assert bad.code == 2 and "is not one of: processing, requires-action" in bad.stderr


def test_a_payment_shows_where_its_card_was_issued(cli: Cli, logged_in: MerchantAccount) -> None:
    brazil = cli.ok("payments", "create", "--amount", "20", "--card", "4000000760000002").stdout
    assert "card        credit, issued in BR" in brazil.splitlines()
    made_up = cli.json("payments", "create", "--amount", "20", "--card", "4111111111111111")
    assert (made_up["card"]["country"], made_up["card"]["funding"]) == ("", "unknown")
    assert "card        unknown funding" in cli.ok("payments", "get", made_up["id"]).stdout.splitlines()
    too_small = cli("payments", "create", "--amount", "0.49", "--card", "4242424242424242")
    assert too_small.code != 0 and "0.50 USD" in too_small.stderr


def test_a_payment_shows_its_risk_failed_checks_and_the_rule_that_blocked_it(
    cli: Cli, logged_in: MerchantAccount
) -> None:
    elevated = cli.ok("payments", "create", "--amount", "20", "--card", "4000000000009235").stdout.splitlines()
    assert "risk        elevated" in elevated and not any(line.startswith("checks") for line in elevated)
    args = ("--address-line1", "1 Main Street", "--postal-code", "94107")
    line1 = cli.ok("payments", "create", "--amount", "20", "--card", "4000000000000028", *args).stdout
    assert "checks      address line 1 fail" in line1.splitlines() and "risk" not in line1
    blocked = cli.ok("payments", "create", "--amount", "20", "--card", "4000000000000036", *args).stdout.splitlines()
    assert "checks      postal code fail" in blocked
    assert "blocked by  postal_code_check_failed" in blocked
    assert any(line.startswith("declined    incorrect_zip") for line in blocked)
    highest = cli.json("payments", "create", "--amount", "20", "--card", "4000000000004954")
    assert (highest["risk_level"], highest["decline"]["blocked_by"]) == ("highest", "highest_risk_level")
