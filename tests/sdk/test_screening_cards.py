"""Stripe's risk, check, attach and remaining 3-D Secure test cards through the client, on a real
server: a payment's risk level, its card's checks, the default rules that block before any gateway
is called, the card declined when a customer on file is charged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from paysim_client import Client, SimulationOverride
from paysim_client.types import CardInput, Payment, PaymentStatus, PayPalWalletInput

S = PaymentStatus
ADDRESS = {"address_line1": "1 Main Street", "address_postal_code": "94107"}


def card(number: str, **extra: str) -> CardInput:
    return CardInput(number=number, exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer", **extra)


def checks(payment: Payment) -> tuple[str, str, str]:
    c = payment.card.checks
    return (c.cvc_check, c.address_line1_check, c.address_postal_code_check)


def event_types(client: Client, payment_id: str) -> list[str]:
    return [event.type for event in client.payments.events(payment_id)]


@pytest.mark.parametrize(
    ("number", "status", "risk", "decline", "blocked_by"),
    [
        ("4242424242424242", S.PAYMENT_STATUS_CAPTURED, "normal", "", ""),
        ("4000000000009235", S.PAYMENT_STATUS_CAPTURED, "elevated", "", ""),
        ("4000000000004954", S.PAYMENT_STATUS_DECLINED, "highest", "fraudulent", "highest_risk_level"),
        ("4100000000000019", S.PAYMENT_STATUS_DECLINED, "highest", "fraudulent", "highest_risk_level"),
    ],
)
def test_risk_cards_and_the_highest_risk_rule(
    client: Client, number: str, status: int, risk: str, decline: str, blocked_by: str
) -> None:
    payment = client.payments.create(amount_minor=2_000, card=card(number))
    assert (payment.status, payment.risk_level, payment.decline.code) == (status, risk, decline)
    assert payment.decline.blocked_by == blocked_by
    stored = client.payments.get(payment.id)
    assert (stored.risk_level, stored.decline.blocked_by) == (risk, blocked_by)
    if blocked_by:  # blocked before any gateway: no attempt, no gateway
        assert (list(stored.attempts), stored.gateway) == ([], "")
        assert stored.decline.error_code == "card_declined" and not stored.decline.retryable
        assert event_types(client, payment.id) == ["payment.created", "payment.declined"]


@pytest.mark.parametrize(
    ("number", "with_address", "without_address"),
    [
        ("4242424242424242", ("pass", "pass", "pass"), ("pass", "unchecked", "unchecked")),
        ("4000000000000028", ("pass", "fail", "pass"), ("pass", "unchecked", "unchecked")),
        ("4000000000000036", ("pass", "pass", "fail"), ("pass", "unchecked", "unchecked")),
        ("4000000000000010", ("pass", "fail", "fail"), ("pass", "unchecked", "unchecked")),
        ("4000000000000044", ("pass", "unavailable", "unavailable"), ("pass", "unchecked", "unchecked")),
        ("4000000000000101", ("fail", "pass", "pass"), ("fail", "unchecked", "unchecked")),
    ],
)
def test_check_cards_with_and_without_a_billing_address(
    client: Client, number: str, with_address: tuple[str, str, str], without_address: tuple[str, str, str]
) -> None:
    given = client.payments.create(amount_minor=2_000, card=card(number, **ADDRESS))
    bare = client.payments.create(amount_minor=2_000, card=card(number))
    assert (checks(given), checks(bare)) == (with_address, without_address)
    assert checks(client.payments.get(given.id)) == with_address
    for payment, found in ((given, with_address), (bare, without_address)):
        # Stripe's default rules: a failed CVC or postal code check blocks; the others go on.
        if found[0] == "fail":
            expected = ("incorrect_cvc", "incorrect_cvc", "cvc_check_failed")
        elif found[2] == "fail":
            expected = ("incorrect_zip", "incorrect_zip", "postal_code_check_failed")
        else:
            expected = ("", "", "")
        assert (payment.decline.code, payment.decline.error_code, payment.decline.blocked_by) == expected
        assert payment.status == (S.PAYMENT_STATUS_DECLINED if expected[0] else S.PAYMENT_STATUS_CAPTURED)
        assert payment.risk_level == "normal"


def test_the_billing_address_is_never_kept(client: Client) -> None:
    payment = client.payments.create(amount_minor=2_000, card=card("4000000000000028", **ADDRESS))
    text = str(client.payments.get(payment.id)) + "".join(str(e) for e in client.payments.events(payment.id))
    assert "Main Street" not in text and "94107" not in text


def test_the_card_declined_after_attaching_it_to_a_customer(client: Client) -> None:
    # paysim has no attach step: the customer on file is the one charged, and the charge declines.
    customer = client.customers.create(email="saved-card@example.test", name="Ann Payer")
    payment = client.payments.create(amount_minor=2_000, card=card("4000000000000341"), customer_id=customer.id)
    assert (payment.status, payment.customer_id) == (S.PAYMENT_STATUS_DECLINED, customer.id)
    assert (payment.decline.code, payment.decline.error_code, payment.decline.blocked_by) == (
        "generic_decline",
        "card_declined",
        "",
    )
    assert payment.gateway and len(payment.attempts) == 1  # the issuer declined it
    assert client.customers.get(customer.id).id == customer.id  # the customer is still there


@pytest.mark.parametrize("number", ["4000000000003063", "4000003800000446"])
def test_more_cards_that_require_3ds_challenge_then_approve(client: Client, number: str) -> None:
    payment = client.payments.create(amount_minor=2_000, card=card(number))
    assert payment.status == S.PAYMENT_STATUS_REQUIRES_ACTION
    done = client.three_ds.answer_challenge(payment)
    assert done.status == S.PAYMENT_STATUS_CAPTURED
    assert (done.three_ds.trans_status, done.three_ds.challenged, done.risk_level) == ("Y", True, "normal")


def test_a_holder_name_trigger_replaces_the_cards_screening(client: Client) -> None:
    named = CardInput(
        number="4000000000004954", exp_month=12, exp_year=2031, cvc="123", holder_name="decline insufficient_funds"
    )
    payment = client.payments.create(amount_minor=2_000, card=named)
    assert (payment.decline.code, payment.decline.blocked_by, payment.risk_level) == (
        "insufficient_funds",
        "",
        "normal",
    )


def test_payments_without_a_card_are_not_assessed(client: Client) -> None:
    client.merchants.gateway_configs.set("paypal", priority=2)
    wallet = PayPalWalletInput(email="payer@example.test")
    payment = client.payments.create(amount_minor=2_000, paypal_wallet=wallet)
    assert payment.status == S.PAYMENT_STATUS_CAPTURED and payment.risk_level == "not_assessed"
    assert not payment.HasField("card")


def test_a_blocked_payment_replays_with_its_key_and_lives_on_its_test_clock(client: Client) -> None:
    key = "blocked-once"
    first = client.payments.create(amount_minor=2_000, card=card("4000000000000101"), idempotency_key=key)
    again = client.payments.create(amount_minor=2_000, card=card("4000000000000101"), idempotency_key=key)
    assert (again.id, again.decline.blocked_by) == (first.id, "cvc_check_failed")

    start = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)
    clock = client.test_clocks.create("screening", start)
    blocked = client.payments.create(amount_minor=2_000, card=card("4000000000004954"), test_clock_id=clock.id)
    assert blocked.decline.blocked_by == "highest_risk_level" and blocked.test_clock_id == clock.id
    assert {event.create_time.ToDatetime(tzinfo=UTC) for event in client.payments.events(blocked.id)} == {start}


def test_a_forced_gateway_outcome_does_not_unblock_a_payment(client: Client) -> None:
    # Like 3-D Secure, screening comes before any gateway; paysim-force-outcome acts on the gateway.
    approve = SimulationOverride(outcome="approve")
    blocked = client.payments.create(amount_minor=2_000, card=card("4000000000004954"), simulate=approve)
    assert (blocked.status, blocked.decline.blocked_by) == (S.PAYMENT_STATUS_DECLINED, "highest_risk_level")
    decline = SimulationOverride(outcome="decline:do_not_honor")
    elevated = client.payments.create(amount_minor=2_000, card=card("4000000000009235"), simulate=decline)
    assert (elevated.decline.code, elevated.decline.blocked_by, elevated.risk_level) == ("do_not_honor", "", "elevated")
