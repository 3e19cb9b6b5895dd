"""When a create, capture, void or refund is one transaction (services/payment_at_once.py) and when
it keeps two: the store must take concurrent writers and the gateway must answer at once (no
latency configured or asked for, no outage, script or chaos in force). Every other service test
runs in both forms."""

from __future__ import annotations

import dataclasses

import pytest

from paysim.domain.errors import Unavailable
from paysim.domain.gateway_faults import FaultMode
from paysim.domain.overrides import Override
from paysim.domain.payment_values import CaptureMethod, Status
from paysim.services.payment_outcomes import NO_GATEWAY_AVAILABLE
from tests.service.conftest import World
from tests.support.fakes import ProcessCrashed, declined, failed

at_once = pytest.mark.parametrize("world", [True], ids=["at-once"], indirect=True)
both = pytest.mark.parametrize("world", [False, True], ids=["two-phase", "at-once"], indirect=True)


@both
def test_a_create_whose_gateway_answers_at_once_commits_once_where_the_store_allows(
    world: World, request: pytest.FixtureRequest
) -> None:
    before = world.db.commits
    assert world.create(5_000).payment.status is Status.AUTHORIZED
    assert world.db.commits - before == (1 if request.node.callspec.id == "at-once" else 2)


@at_once
def test_both_forms_record_the_same_payment(world: World) -> None:
    state = world.create(5_000, capture=CaptureMethod.AUTOMATIC).payment
    assert (state.status, state.version, state.gateway) == (Status.CAPTURED, 3, "simulator")
    events = world.run(world.payments.events(world.principal, state.id, 0, 10))[1]
    assert [e.type for e in events] == ["payment.created", "payment.authorized", "payment.captured"]
    assert [e.version for e in events] == [1, 2, 3]


@at_once
def test_a_latency_asked_for_in_the_request_keeps_two_transactions(world: World) -> None:
    before = world.db.commits
    command = dataclasses.replace(world.command(5_000), override=Override(latency_ms=1))
    assert world.run(world.payments.create(world.principal, command, None)).payment.status is Status.AUTHORIZED
    assert world.db.commits - before == 2


@at_once
def test_an_outage_in_force_keeps_two_transactions_and_fails_over(world: World) -> None:
    world.use("primary", "backup")
    world.run(world.faults.set_outage(world.merchant.id, "primary", FaultMode.ERROR, None))
    before = world.db.commits
    assert world.create(1_000).payment.gateway == "backup"
    assert world.db.commits - before == 3  # the payment's two, and the breaker's record of the failure


@at_once
def test_a_decline_at_once_is_recorded_in_the_one_commit(world: World) -> None:
    world.use("primary")
    world.primary.authorizations.append(declined("insufficient_funds"))
    before = world.db.commits
    state = world.create(1_000).payment
    assert (state.status, state.decline.code if state.decline else "") == (Status.DECLINED, "insufficient_funds")
    assert world.db.commits - before == 1


@at_once
def test_no_gateway_answering_at_once_fails_the_payment_and_frees_its_key(world: World) -> None:
    world.use("primary")
    world.primary.authorizations.append(failed())
    idem = world.key("k1", "/paysim.v1.PaymentService/CreatePayment", b"body")
    with pytest.raises(Unavailable) as raised:
        world.run(world.payments.create(world.principal, world.command(1_000), idem))
    assert raised.value.reason == "GATEWAY_UNAVAILABLE"
    (payment_id,) = world.db.payments.rows
    stored = world.db.payment(payment_id)
    assert stored is not None and (stored.status, stored.failure_reason) == (Status.FAILED, NO_GATEWAY_AVAILABLE)
    assert not world.db.keys.rows
    retried = world.run(world.payments.create(world.principal, world.command(1_000), idem))
    assert retried.payment.status is Status.AUTHORIZED and retried.payment.id != payment_id


@at_once
def test_a_3ds_challenge_at_once_waits_for_the_customer_after_one_commit(world: World) -> None:
    before = world.db.commits
    state = world.create(5_000, card="4000000000003220").payment
    assert state.status is Status.REQUIRES_ACTION
    assert world.db.commits - before == 1


@at_once
def test_a_capture_and_a_refund_at_once_commit_once_each(world: World) -> None:
    payment_id = world.authorized(5_000)
    before = world.db.commits
    captured = world.run(world.payments.capture(world.principal, payment_id, 2_000, None)).payment
    assert (captured.status, captured.captured_amount, world.db.commits - before) == (Status.CAPTURED, 2_000, 1)
    refunded = world.run(world.payments.refund(world.principal, payment_id, 500, "", None))
    assert refunded.refund_id and refunded.payment.refunded_amount == 500
    assert world.db.commits - before == 2
    events = world.run(world.payments.events(world.principal, payment_id, 0, 20))[1]
    assert [e.type for e in events][-4:] == [
        "payment.capture_requested",
        "payment.captured",
        "refund.requested",
        "refund.succeeded",
    ]


@at_once
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_during_a_capture_at_once_leaves_the_payment_authorized(world: World, when: str) -> None:
    world.use("primary")
    payment_id = world.authorized(5_000)
    world.primary.crash = when
    with pytest.raises(ProcessCrashed):
        world.run(world.payments.capture(world.principal, payment_id, 2_000, None))
    stored = world.db.payment(payment_id)
    assert stored is not None and (stored.status, stored.pending_operation) == (Status.AUTHORIZED, "")
    again = world.run(world.payments.capture(world.principal, payment_id, 2_000, None)).payment
    assert (again.status, again.captured_amount) == (Status.CAPTURED, 2_000)


@at_once
def test_a_refund_no_gateway_answers_at_once_is_recorded_failed_and_its_key_freed(world: World) -> None:
    world.use("primary")
    payment_id = world.create(5_000, capture=CaptureMethod.AUTOMATIC).payment.id
    world.primary.operations.append(failed())
    idem = world.key("r1", "/paysim.v1.PaymentService/RefundPayment", b"refund")
    with pytest.raises(Unavailable):
        world.run(world.payments.refund(world.principal, payment_id, 1_000, "", idem))
    stored = world.db.payment(payment_id)
    assert stored is not None and stored.refunded_amount == 0 and [r.status for r in stored.refunds] == ["failed"]
    assert (
        world.run(world.payments.refund(world.principal, payment_id, 1_000, "", idem)).payment.refunded_amount == 1_000
    )
