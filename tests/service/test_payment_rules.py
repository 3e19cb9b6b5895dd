"""The payment's state rules through PaymentService: what authorize, capture, void and refund may do,
the reasons of their refusals, and the amounts (fee, net) they leave; on fakes, without a server."""

from __future__ import annotations

import dataclasses

import pytest

from paysim.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from paysim.domain.payment_values import CaptureMethod, Status
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from tests.service.conftest import World


def refused(world: World, step: object) -> FailedPrecondition:
    with pytest.raises(FailedPrecondition) as raised:
        world.run(step)  # type: ignore[arg-type]
    return raised.value


# --- authorize -----------------------------------------------------------------------------------


def test_a_manual_capture_payment_is_authorized_for_its_amount(world: World) -> None:
    state = world.create(10_000).payment
    assert (state.status, state.authorized_amount, state.captured_amount) == (Status.AUTHORIZED, 10_000, 0)
    assert state.gateway == "simulator" and state.gateway_reference


def test_an_automatic_capture_payment_is_captured_at_once_with_its_fee(world: World) -> None:
    state = world.create(10_000, capture=CaptureMethod.AUTOMATIC).payment
    assert state.status is Status.CAPTURED
    assert state.captured_amount == 10_000
    assert state.fee_amount == 320  # 2.9 % of 100.00 plus 0.30
    assert state.net_amount == 9_680


def test_the_percentage_fee_rounds_half_up_to_the_minor_unit(world: World) -> None:
    state = world.create(1_020, capture=CaptureMethod.AUTOMATIC).payment
    assert state.fee_amount == 30 + 30  # 2.9 % of 10.20 is 0.2958: 0.30, plus the fixed 0.30


def test_the_fee_never_exceeds_the_captured_amount(world: World) -> None:
    for merchant_id, merchant in list(world.db.merchants.rows.items()):
        world.db.merchants.rows[merchant_id] = dataclasses.replace(merchant, fee_fixed=100)
    state = world.create(50, capture=CaptureMethod.AUTOMATIC).payment  # EUR's smallest charge
    assert (state.fee_amount, state.net_amount) == (50, 0)


def test_an_amount_below_the_currencys_minimum_is_an_invalid_argument(world: World) -> None:
    with pytest.raises(InvalidArgument) as refused:
        world.create(49)
    assert [(f.field, f.reason) for f in refused.value.violations] == [("amount_minor", "AMOUNT_BELOW_MINIMUM")]


def test_the_payment_takes_the_merchants_fee_and_default_currency(world: World) -> None:
    state = world.create(1_000).payment
    assert (state.currency, state.fee_percent_bps, state.fee_fixed) == ("EUR", 290, 30)


def test_the_payment_and_its_events_are_stored(world: World) -> None:
    state = world.create(1_000).payment
    assert world.db.payment(state.id) == state
    types = [e.type for e in world.db.events.rows[state.id]]
    assert types[0] == "payment.created" and "payment.authorized" in types


def test_a_payment_for_an_unknown_merchant_is_not_found(world: World) -> None:
    world.db.merchants.rows.clear()
    with pytest.raises(NotFound):
        world.create(1_000)


def test_an_amount_of_zero_is_an_invalid_argument(world: World) -> None:
    with pytest.raises(InvalidArgument):
        world.create(0)


def test_a_card_that_fails_the_luhn_check_is_an_invalid_argument(world: World) -> None:
    with pytest.raises(InvalidArgument):
        world.create(1_000, card="4242424242424241")


# --- capture -------------------------------------------------------------------------------------


def test_a_full_capture_captures_the_authorized_amount_and_takes_the_fee(world: World) -> None:
    payment_id = world.authorized(10_000)
    state = world.run(world.payments.capture(world.principal, payment_id, 0, None)).payment
    assert (state.status, state.captured_amount, state.fee_amount) == (Status.CAPTURED, 10_000, 320)


def test_a_partial_capture_releases_the_rest(world: World) -> None:
    payment_id = world.authorized(10_000)
    state = world.run(world.payments.capture(world.principal, payment_id, 4_000, None)).payment
    assert (state.status, state.captured_amount) == (Status.CAPTURED, 4_000)
    assert state.refundable_amount == 4_000
    assert state.fee_amount == 146  # the fee is on what was captured: 116 + 30
    refusal = refused(world, world.payments.capture(world.principal, payment_id, 1_000, None))
    assert refusal.reason == "PAYMENT_NOT_CAPTURABLE"


def test_capturing_more_than_authorized_is_refused(world: World) -> None:
    payment_id = world.authorized(10_000)
    refusal = refused(world, world.payments.capture(world.principal, payment_id, 10_001, None))
    assert refusal.reason == "AMOUNT_EXCEEDS_AUTHORIZED"
    assert refusal.metadata["authorized_amount_minor"] == "10000"
    stored = world.db.payment(payment_id)
    assert stored is not None and stored.status is Status.AUTHORIZED and not stored.pending_operation


def test_capturing_twice_is_refused(world: World) -> None:
    payment_id = world.captured(10_000)
    assert refused(world, world.payments.capture(world.principal, payment_id, 0, None)).reason == (
        "PAYMENT_NOT_CAPTURABLE"
    )


def test_a_negative_capture_amount_is_an_invalid_argument(world: World) -> None:
    payment_id = world.authorized()
    with pytest.raises(InvalidArgument):
        world.run(world.payments.capture(world.principal, payment_id, -1, None))


# --- void ----------------------------------------------------------------------------------------


def test_an_authorized_payment_is_voided_without_a_fee(world: World) -> None:
    payment_id = world.authorized(10_000)
    state = world.run(world.payments.void(world.principal, payment_id, None)).payment
    assert (state.status, state.captured_amount, state.fee_amount, state.net_amount) == (Status.VOIDED, 0, 0, 0)


def test_a_captured_payment_cannot_be_voided(world: World) -> None:
    payment_id = world.captured()
    assert refused(world, world.payments.void(world.principal, payment_id, None)).reason == "PAYMENT_NOT_VOIDABLE"


def test_a_voided_payment_cannot_be_captured(world: World) -> None:
    payment_id = world.authorized()
    world.run(world.payments.void(world.principal, payment_id, None))
    refusal = refused(world, world.payments.capture(world.principal, payment_id, 0, None))
    assert refusal.reason == "PAYMENT_NOT_CAPTURABLE"
    assert refusal.metadata["status"] == "voided"


# --- refund --------------------------------------------------------------------------------------


def test_a_partial_refund_leaves_the_payment_partially_refunded(world: World) -> None:
    payment_id = world.captured(10_000)
    result = world.run(world.payments.refund(world.principal, payment_id, 2_500, "damaged", None))
    state = result.payment
    assert (state.status, state.refunded_amount, state.refundable_amount) == (Status.PARTIALLY_REFUNDED, 2_500, 7_500)
    assert result.refund is not None and result.refund.status == "succeeded" and result.refund.amount == 2_500
    assert state.net_amount == 10_000 - 320 - 2_500


def test_refunds_up_to_the_captured_amount_refund_the_payment(world: World) -> None:
    payment_id = world.captured(10_000)
    world.run(world.payments.refund(world.principal, payment_id, 6_000, "", None))
    state = world.run(world.payments.refund(world.principal, payment_id, 0, "", None)).payment
    assert (state.status, state.refunded_amount, state.refundable_amount) == (Status.REFUNDED, 10_000, 0)
    assert [r.amount for r in state.refunds] == [6_000, 4_000]


def test_refunding_beyond_the_refundable_amount_is_refused(world: World) -> None:
    payment_id = world.captured(10_000)
    world.run(world.payments.refund(world.principal, payment_id, 6_000, "", None))
    refusal = refused(world, world.payments.refund(world.principal, payment_id, 4_001, "", None))
    assert refusal.reason == "AMOUNT_EXCEEDS_REFUNDABLE"
    assert refusal.metadata["refundable_amount_minor"] == "4000"


def test_a_fully_refunded_payment_refuses_another_refund(world: World) -> None:
    payment_id = world.captured(10_000)
    world.run(world.payments.refund(world.principal, payment_id, 0, "", None))
    refusal = refused(world, world.payments.refund(world.principal, payment_id, 1, "", None))
    assert refusal.reason == "PAYMENT_NOT_REFUNDABLE"


def test_an_uncaptured_payment_cannot_be_refunded(world: World) -> None:
    payment_id = world.authorized()
    refusal = refused(world, world.payments.refund(world.principal, payment_id, 0, "", None))
    assert refusal.reason == "PAYMENT_NOT_REFUNDABLE"


def test_a_refund_of_a_partial_capture_is_limited_to_what_was_captured(world: World) -> None:
    payment_id = world.authorized(10_000)
    world.run(world.payments.capture(world.principal, payment_id, 3_000, None))
    refusal = refused(world, world.payments.refund(world.principal, payment_id, 3_001, "", None))
    assert refusal.reason == "AMOUNT_EXCEEDS_REFUNDABLE"


def test_a_refund_reason_too_long_is_an_invalid_argument(world: World) -> None:
    payment_id = world.captured()
    with pytest.raises(InvalidArgument):
        world.run(world.payments.refund(world.principal, payment_id, 0, "x" * 10_000, None))


# --- who may act on a payment ---------------------------------------------------------------------


def test_another_merchant_does_not_see_the_payment(world: World) -> None:
    payment_id = world.authorized()
    stranger = Principal(CredentialKind.API_KEY, Role.MERCHANT, merchant_id="mer_other", api_key_id="key_other")
    with pytest.raises(NotFound):
        world.run(world.payments.capture(stranger, payment_id, 0, None))
    with pytest.raises(NotFound):
        world.run(world.payments.get(stranger, payment_id))


def test_an_unknown_payment_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.run(world.payments.void(world.principal, "pay_unknown", None))
