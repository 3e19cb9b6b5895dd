"""Idempotent replay, recovery of a payment whose gateway answer was lost with its process, and the
3-D Secure challenge, through the payment services on fakes."""

from __future__ import annotations

import pytest

from paysim.domain.errors import Aborted, FailedPrecondition, Unavailable
from paysim.domain.payment_values import CaptureMethod, Status
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from paysim.domain.threeds import AcsAction
from paysim.services.payment_commands import PaymentResult
from tests.service.conftest import World
from tests.support.fakes import ProcessCrashed, failed

CREATE = "/paysim.v1.PaymentService/CreatePayment"
CAPTURE = "/paysim.v1.PaymentService/CapturePayment"
REFUND = "/paysim.v1.PaymentService/RefundPayment"


def create_with_key(world: World, key: str, amount: int = 5_000) -> PaymentResult:
    idem = world.key(key, CREATE, f"amount={amount}".encode())
    return world.run(world.payments.create(world.principal, world.command(amount), idem))


# --- idempotent replay ----------------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_result(world: World) -> None:
    world.use("primary")
    first = create_with_key(world, "k1")
    again = create_with_key(world, "k1")
    assert again.replayed and not first.replayed
    assert again.payment == first.payment
    assert len(world.primary.calls) == 1
    assert len(world.db.payments.rows) == 1


def test_the_same_key_with_another_body_is_refused(world: World) -> None:
    create_with_key(world, "k1", 5_000)
    with pytest.raises(FailedPrecondition) as raised:
        create_with_key(world, "k1", 6_000)
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert len(world.db.payments.rows) == 1


def test_the_same_key_on_another_method_is_refused(world: World) -> None:
    payment_id = create_with_key(world, "k1").payment.id
    idem = world.key("k1", CAPTURE, f"amount={5_000}".encode())
    with pytest.raises(FailedPrecondition) as raised:
        world.run(world.payments.capture(world.principal, payment_id, 0, idem))
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_keys_belong_to_their_merchant(world: World) -> None:
    first = create_with_key(world, "shared")
    other_id = "mer_" + "b" * 26
    world.db.merchants.rows[other_id] = world.merchant.__class__(
        other_id, "Other", "o@example.com", "EUR", True, world.clock(), world.clock()
    )
    world.principal = Principal(CredentialKind.API_KEY, Role.MERCHANT, merchant_id=other_id, api_key_id="key_b")
    second = create_with_key(world, "shared")
    assert not second.replayed and second.payment.id != first.payment.id


def test_a_refusal_by_the_rules_is_replayed_for_its_key(world: World) -> None:
    payment_id = world.authorized(5_000)
    idem = world.key("cap", CAPTURE, b"amount=9999")
    with pytest.raises(FailedPrecondition) as first:
        world.run(world.payments.capture(world.principal, payment_id, 9_999, idem))
    with pytest.raises(FailedPrecondition) as again:
        world.run(world.payments.capture(world.principal, payment_id, 9_999, idem))
    assert first.value.reason == again.value.reason == "AMOUNT_EXCEEDS_AUTHORIZED"
    assert again.value.replayed and not first.value.replayed


def test_a_replayed_refund_names_the_same_refund(world: World) -> None:
    payment_id = world.captured(5_000)
    idem = world.key("ref", REFUND, b"amount=1000")
    first = world.run(world.payments.refund(world.principal, payment_id, 1_000, "", idem))
    again = world.run(world.payments.refund(world.principal, payment_id, 1_000, "", idem))
    assert again.replayed and again.refund_id == first.refund_id
    stored = world.db.payment(payment_id)
    assert stored is not None and stored.refunded_amount == 1_000


def test_a_key_whose_request_no_gateway_carried_out_is_free_for_the_retry(world: World) -> None:
    world.use("primary")
    world.primary.authorizations.append(failed())
    with pytest.raises(Unavailable):
        create_with_key(world, "k1")
    retried = create_with_key(world, "k1")
    assert not retried.replayed and retried.payment.status is Status.AUTHORIZED
    assert len(world.db.payments.rows) == 2  # the failed payment stays, failed


def test_an_expired_key_starts_a_new_payment(world: World) -> None:
    first = create_with_key(world, "k1")
    world.clock.advance(hours=25)
    second = create_with_key(world, "k1")
    assert not second.replayed and second.payment.id != first.payment.id


def test_pruning_removes_expired_keys_only(world: World) -> None:
    create_with_key(world, "old")
    world.clock.advance(hours=23)
    create_with_key(world, "young")
    world.clock.advance(hours=2)
    assert world.run(world.payments.prune_idempotency_keys()) == 1
    assert [key for _, key in world.db.keys.rows] == ["young"]


# --- recovery of a payment whose gateway answer was lost ------------------------------------------


# An operation leaves a payment to recover only when it has two transactions: the first commits before
# the gateway call (one at once, services/payment_at_once.py, commits nothing until the answer).
two_phase = pytest.mark.parametrize("world", [False], ids=["two-phase"], indirect=True)


def crashed_create(world: World, when: str, key: str = "k1") -> str:
    """A create whose process died during its gateway call; the id of the payment it left."""
    world.use("primary")
    world.primary.crash = when
    with pytest.raises(ProcessCrashed):
        create_with_key(world, key)
    (payment_id,) = world.db.payments.rows
    return payment_id


@two_phase
def test_a_crash_during_the_gateway_call_leaves_the_payment_processing(world: World) -> None:
    payment_id = crashed_create(world, "after")
    stored = world.db.payment(payment_id)
    assert stored is not None and stored.status is Status.PROCESSING and stored.in_progress


@two_phase
def test_recovery_records_what_the_gateway_did_and_completes_the_key(world: World) -> None:
    payment_id = crashed_create(world, "after")
    assert world.run(world.payments.recover_stuck()) == 0  # not silent long enough yet
    world.clock.advance(seconds=31)
    assert world.run(world.payments.recover_stuck()) == 1
    stored = world.db.payment(payment_id)
    assert stored is not None and stored.status is Status.AUTHORIZED
    replay = create_with_key(world, "k1")
    assert replay.replayed and replay.payment.id == payment_id


@two_phase
def test_recovery_fails_a_payment_the_gateway_never_saw(world: World) -> None:
    payment_id = crashed_create(world, "before")
    world.clock.advance(seconds=31)
    world.run(world.payments.recover_stuck())
    stored = world.db.payment(payment_id)
    assert stored is not None and (stored.status, stored.failure_reason) == (Status.FAILED, "processing_interrupted")


@two_phase
def test_a_retry_while_the_request_is_in_flight_is_told_to_wait(world: World) -> None:
    crashed_create(world, "after")
    with pytest.raises(Aborted) as raised:
        create_with_key(world, "k1")
    assert raised.value.reason == "IDEMPOTENCY_KEY_IN_USE"


@two_phase
def test_a_retry_of_a_stale_request_recovers_its_payment_first(world: World) -> None:
    payment_id = crashed_create(world, "after")
    world.clock.advance(seconds=31)
    retried = create_with_key(world, "k1")
    assert retried.replayed and retried.payment.id == payment_id
    assert retried.payment.status is Status.AUTHORIZED


@pytest.mark.parametrize("world", [True], ids=["at-once"], indirect=True)
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_during_an_at_once_create_leaves_nothing_and_its_retry_pays(world: World, when: str) -> None:
    world.use("primary")
    world.primary.crash = when
    with pytest.raises(ProcessCrashed):
        create_with_key(world, "k1")
    assert not world.db.payments.rows and not world.db.keys.rows
    retried = create_with_key(world, "k1")
    assert not retried.replayed and retried.payment.status is Status.AUTHORIZED
    assert create_with_key(world, "k1").payment.id == retried.payment.id


@two_phase
def test_recovery_finishes_a_capture_whose_answer_was_lost(world: World) -> None:
    world.use("primary")
    payment_id = world.authorized(5_000)
    world.primary.crash = "after"
    with pytest.raises(ProcessCrashed):
        world.run(world.payments.capture(world.principal, payment_id, 2_000, None))
    world.clock.advance(seconds=31)
    assert world.run(world.payments.recover(payment_id))
    stored = world.db.payment(payment_id)
    assert stored is not None and (stored.status, stored.captured_amount) == (Status.CAPTURED, 2_000)


@two_phase
def test_recovery_finishes_a_refund_whose_answer_was_lost(world: World) -> None:
    world.use("primary")
    payment_id = world.create(5_000, capture=CaptureMethod.AUTOMATIC).payment.id
    world.primary.crash = "after"
    with pytest.raises(ProcessCrashed):
        world.run(world.payments.refund(world.principal, payment_id, 1_500, "", None))
    world.clock.advance(seconds=31)
    world.run(world.payments.recover_stuck())
    stored = world.db.payment(payment_id)
    assert stored is not None and (stored.status, stored.refunded_amount) == (Status.PARTIALLY_REFUNDED, 1_500)


# --- 3-D Secure -----------------------------------------------------------------------------------


CHALLENGE_CARD = "4000000000003220"


def test_a_card_that_requires_3ds_waits_for_its_customer_without_a_gateway_call(world: World) -> None:
    world.use("primary")
    state = world.create(5_000, card=CHALLENGE_CARD).payment
    assert state.status is Status.REQUIRES_ACTION and state.challenge is not None
    assert world.primary.calls == []
    assert not state.in_progress


def _answer_challenge(world: World, payment_id: str, action: AcsAction) -> PaymentResult:
    challenge, _ = world.run(world.three_ds.challenge(world.principal, payment_id))
    answer = world.run(world.three_ds.simulate_acs(world.principal, payment_id, challenge.request, action))
    return world.run(world.three_ds.complete(world.principal, payment_id, challenge.id, answer.token, None))


def test_an_approved_challenge_carries_the_payment_on_to_its_gateway(world: World) -> None:
    world.use("primary")
    payment_id = world.create(5_000, card=CHALLENGE_CARD).payment.id
    state = _answer_challenge(world, payment_id, AcsAction.APPROVE).payment
    assert state.status is Status.AUTHORIZED and state.gateway == "primary"
    assert state.authentication is not None and state.authentication.challenged
    assert world.primary.calls == [f"{payment_id}:authorize"]


def test_a_denied_challenge_fails_the_payment_without_a_gateway_call(world: World) -> None:
    world.use("primary")
    payment_id = world.create(5_000, card=CHALLENGE_CARD).payment.id
    state = _answer_challenge(world, payment_id, AcsAction.DENY).payment
    assert state.status is Status.FAILED
    assert world.primary.calls == []


def test_a_challenge_is_completed_once(world: World) -> None:
    payment_id = world.create(5_000, card=CHALLENGE_CARD).payment.id
    _answer_challenge(world, payment_id, AcsAction.APPROVE)
    with pytest.raises(FailedPrecondition):
        _answer_challenge(world, payment_id, AcsAction.APPROVE)


def test_a_card_3ds_is_not_required_for_authorizes_without_a_challenge(world: World) -> None:
    state = world.create(5_000, card="4000000000003055").payment
    assert state.status is Status.AUTHORIZED
    assert state.challenge is None


def test_a_card_that_authenticates_then_declines_ends_declined(world: World) -> None:
    payment_id = world.create(5_000, card="4000008400001629").payment.id
    state = _answer_challenge(world, payment_id, AcsAction.APPROVE).payment
    assert state.status is Status.DECLINED
