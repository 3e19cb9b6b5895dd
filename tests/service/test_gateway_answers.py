"""What the payment service makes of its gateways' answers: declines as outcomes, failover between
gateways, the circuit breaker's verdicts, faults in force, and capture/void/refund failures."""

from __future__ import annotations

import pytest

from paysim.domain.errors import Unavailable
from paysim.domain.gateway_faults import FaultMode
from paysim.domain.payment_values import CaptureMethod, Status
from paysim.services.payment_outcomes import NO_GATEWAY_AVAILABLE
from tests.service.conftest import World
from tests.support.fakes import approved, declined, failed

# --- declines: an answer, not a failure ------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("4000000000000002", "generic_decline"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000009987", "lost_card"),
        ("4000000000000069", "expired_card"),
    ],
)
def test_a_decline_card_ends_the_payment_declined_with_its_code(world: World, card: str, code: str) -> None:
    state = world.create(5_000, card=card).payment
    assert state.status is Status.DECLINED
    assert state.decline is not None and state.decline.code == code
    assert (state.authorized_amount, state.captured_amount, state.fee_amount) == (0, 0, 0)


def test_a_declined_payment_cannot_be_captured(world: World) -> None:
    from paysim.domain.errors import FailedPrecondition

    state = world.create(5_000, card="4000000000000002").payment
    with pytest.raises(FailedPrecondition) as raised:
        world.run(world.payments.capture(world.principal, state.id, 0, None))
    assert raised.value.reason == "PAYMENT_NOT_CAPTURABLE"


def test_a_decline_never_fails_over(world: World) -> None:
    world.use("primary", "backup")
    world.primary.authorizations.append(declined("do_not_honor"))
    state = world.create(5_000).payment
    assert state.status is Status.DECLINED and state.gateway == "primary"
    assert world.backup.calls == []


# --- failover -------------------------------------------------------------------------------------


def test_a_gateway_error_fails_over_to_the_next_gateway(world: World) -> None:
    world.use("primary", "backup")
    world.primary.authorizations.append(failed())
    state = world.create(5_000).payment
    assert (state.status, state.gateway) == (Status.AUTHORIZED, "backup")
    assert [(a.gateway, a.outcome) for a in state.attempts] == [("primary", "error"), ("backup", "approved")]


def test_a_gateway_that_blows_up_fails_over_like_an_error(world: World) -> None:
    world.use("primary", "backup")
    world.primary.authorizations.append(RuntimeError("boom"))
    state = world.create(5_000).payment
    assert state.gateway == "backup"
    assert "gateway_error: RuntimeError" in state.attempts[0].detail


def test_capture_goes_to_the_gateway_that_authorized(world: World) -> None:
    world.use("primary", "backup")
    world.primary.authorizations.append(failed())
    payment_id = world.create(5_000).payment.id
    world.run(world.payments.capture(world.principal, payment_id, 0, None))
    assert world.backup.calls[-1] == f"{payment_id}:capture"
    assert not any(call.endswith(":capture") for call in world.primary.calls)


def test_when_no_gateway_answers_the_payment_fails_and_the_caller_is_told_to_retry(world: World) -> None:
    world.use("primary", "backup")
    world.primary.authorizations.append(failed())
    world.backup.authorizations.append(failed())
    with pytest.raises(Unavailable) as raised:
        world.create(5_000)
    assert raised.value.reason == "GATEWAY_UNAVAILABLE"
    assert raised.value.metadata["gateways"] == "primary,backup"
    (state,) = [world.db.payment(pid) for pid in world.db.payments.rows]
    assert state is not None
    assert (state.status, state.failure_reason) == (Status.FAILED, NO_GATEWAY_AVAILABLE)


# --- the circuit breaker ------------------------------------------------------------------------


def _open_primary(world: World) -> None:
    """Two failures in the window open the primary's breaker (the test's threshold)."""
    world.primary.authorizations.extend([failed(), failed()])
    world.create(1_000)
    world.create(1_000)


def test_an_open_breaker_skips_its_gateway_without_calling_it(world: World) -> None:
    world.use("primary", "backup")
    _open_primary(world)
    calls_before = len(world.primary.calls)
    state = world.create(1_000).payment
    assert state.gateway == "backup"
    assert len(world.primary.calls) == calls_before
    assert state.attempts[0].outcome == "skipped"


def test_with_every_breaker_open_the_refusal_is_circuit_open_with_a_retry_delay(world: World) -> None:
    world.use("primary", "backup")
    _open_primary(world)
    world.use("primary")
    with pytest.raises(Unavailable) as raised:
        world.create(1_000)
    assert raised.value.reason == "CIRCUIT_OPEN"
    assert 0 < raised.value.retry_after_seconds <= 30


def test_an_open_breaker_lets_a_probe_through_after_its_cool_down(world: World) -> None:
    world.use("primary", "backup")
    _open_primary(world)
    world.clock.advance(seconds=31)
    state = world.create(1_000).payment
    assert state.gateway == "primary"


def test_declines_do_not_open_the_breaker(world: World) -> None:
    world.use("primary", "backup")
    world.primary.authorizations.extend([declined(), declined(), declined()])
    for _ in range(3):
        world.create(1_000)
    assert world.create(1_000).payment.gateway == "primary"


# --- faults in force ------------------------------------------------------------------------------


def test_a_merchants_simulated_outage_fails_over(world: World) -> None:
    world.use("primary", "backup")
    world.run(world.faults.set_outage(world.merchant.id, "primary", FaultMode.ERROR, None))
    state = world.create(1_000).payment
    assert state.gateway == "backup"
    assert world.primary.calls == []
    assert "simulated_error" in state.attempts[0].detail


# --- capture, void and refund at the gateway -------------------------------------------------------


def test_a_failed_capture_leaves_the_payment_authorized_and_may_be_retried(world: World) -> None:
    world.use("primary")
    payment_id = world.authorized(5_000)
    world.primary.operations.append(failed())
    with pytest.raises(Unavailable):
        world.run(world.payments.capture(world.principal, payment_id, 0, None))
    stored = world.db.payment(payment_id)
    assert stored is not None and (stored.status, stored.pending_operation) == (Status.AUTHORIZED, "")
    world.primary.ledger.clear()  # the processor kept no record of the failed call
    state = world.run(world.payments.capture(world.principal, payment_id, 0, None)).payment
    assert state.status is Status.CAPTURED


def test_a_failed_void_leaves_the_payment_authorized(world: World) -> None:
    world.use("primary")
    payment_id = world.authorized(5_000)
    world.primary.operations.append(failed())
    with pytest.raises(Unavailable):
        world.run(world.payments.void(world.principal, payment_id, None))
    stored = world.db.payment(payment_id)
    assert stored is not None and stored.status is Status.AUTHORIZED


def test_a_refund_the_gateway_declines_is_recorded_as_failed(world: World) -> None:
    world.use("primary")
    payment_id = world.create(5_000, capture=CaptureMethod.AUTOMATIC).payment.id
    world.primary.operations.append(declined("refund_rejected"))
    result = world.run(world.payments.refund(world.principal, payment_id, 1_000, "", None))
    assert result.refund is not None and result.refund.status == "failed"
    assert (result.payment.status, result.payment.refunded_amount) == (Status.CAPTURED, 0)
    assert result.payment.refundable_amount == 5_000


def test_a_refund_no_gateway_answers_is_failed_and_the_caller_told_to_retry(world: World) -> None:
    world.use("primary")
    payment_id = world.create(5_000, capture=CaptureMethod.AUTOMATIC).payment.id
    world.primary.operations.append(failed())
    with pytest.raises(Unavailable):
        world.run(world.payments.refund(world.principal, payment_id, 1_000, "", None))
    stored = world.db.payment(payment_id)
    assert stored is not None
    assert [r.status for r in stored.refunds] == ["failed"]
    assert stored.refundable_amount == 5_000


def test_a_scripted_approval_is_what_the_payment_records(world: World) -> None:
    world.use("primary")
    world.primary.authorizations.append(approved("ch_scripted"))
    assert world.create(1_000).payment.gateway_reference == "ch_scripted"
