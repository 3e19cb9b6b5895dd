"""Payments and customers on test clocks, through a real server: advancing a clock runs what falls
due on its objects (a 3-D Secure challenge expiring, an authorization expiring, asynchronous refunds
settling and failing, a dispute lost for want of evidence and one won with it) in time order with
the clock's timestamps, on a subscription and as
webhooks; and the rules around it (tenants, a customer's clock, an advancing clock, deletion, the
real-time sweeps leaving clock objects alone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from paysim_client import Client, errors
from paysim_proto.v1 import clock_pb2 as C
from paysim_proto.v1 import customer_pb2 as CU
from paysim_proto.v1 import dispute_pb2 as D
from paysim_proto.v1 import events_pb2 as E
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W

from paysim.domain.disputes import EVIDENCE_WINDOW, REVIEW_PERIOD
from paysim.domain.test_clocks import start_advance
from paysim.services.verification import verify_all
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import EventStream, wait_for
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_payment_recovery import DyingGateway

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SETTLES = timedelta(hours=1)  # domain/refund_settlement.py: SETTLEMENT_DELAY
TRANSITIONS = [
    "payment.three_ds_challenge_expired",
    "payment.authorization_expired",
    "refund.succeeded",
    "refund.failed",
    "dispute.closed",
    "dispute.funds_reinstated",
]


def card(number: str) -> P.CardInput:
    return P.CardInput(number=number, exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def new_clock(api: Stubs, at: datetime = START) -> C.TestClock:
    request = C.CreateTestClockRequest(name="lifecycle", frozen_time=ts(at))
    clock: C.TestClock = api.clocks.CreateTestClock(request).test_clock
    return clock


def pay(api: Stubs, number: str, clock_id: str = "", **fields: object) -> P.Payment:
    request = P.CreatePaymentRequest(
        amount_minor=2500, currency_code="USD", card=card(number), test_clock_id=clock_id, **fields
    )
    payment: P.Payment = api.payments.CreatePayment(request).payment
    return payment


def get(api: Stubs, payment_id: str) -> P.Payment:
    payment: P.Payment = api.payments.GetPayment(P.GetPaymentRequest(payment_id=payment_id)).payment
    return payment


def refund(api: Stubs, payment_id: str) -> P.RefundPaymentResponse:
    reply: P.RefundPaymentResponse = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=payment_id))
    return reply


def advance(api: Stubs, clock_id: str, to: datetime) -> None:
    api.clocks.AdvanceTestClock(C.AdvanceTestClockRequest(test_clock_id=clock_id, frozen_time=ts(to)))

    def ready() -> bool:
        shown = api.clocks.GetTestClock(C.GetTestClockRequest(test_clock_id=clock_id)).test_clock
        return bool(shown.status == C.TEST_CLOCK_STATUS_READY)

    wait_for(ready, timeout=60, what="the clock READY")


def test_advancing_a_clock_runs_its_objects_transitions_in_time_order_with_events_and_webhooks(
    make_server: Callable[..., ServerHandle],
) -> None:
    # Streams read the store now and then too: the first process's housekeeping round may take a
    # share of the advance (a process finishes any advance it is not running itself), and on SQLite
    # no notification tells the second process's streams of what the first one commits.
    server = make_server(webhook_poll_seconds=0.2, event_poll_seconds=0.2)
    # A second server process on the same database and data directory (the same keys), as
    # `serve --workers 2` runs: it advances the clock and streams the events the first one's
    # objects make; either one's dispatcher may deliver the webhooks.
    second = ServerHandle(server.settings)
    receiver = WebhookReceiver()
    try:
        key = register_merchant(server.stubs()).api_key
        api = server.stubs(key)
        clock = new_clock(api)
        with Client.connect(server.target, api_key=key) as client:
            uncaptured = client.payments.create(
                amount_minor=2500,
                currency_code="USD",
                card=card("4242424242424242"),
                capture_method=P.CAPTURE_METHOD_MANUAL,
                test_clock_id=clock.id,
            )
        challenged = pay(api, "4000002500003155", clock.id)
        settles, fails = pay(api, "4000000000007726", clock.id), pay(api, "4000000000005126", clock.id)
        # Two chargebacks: one nobody answers, one answered with evidence that wins.
        unanswered, answered = pay(api, "4000000000000259", clock.id), pay(api, "4000000000002685", clock.id)
        evidence = D.DisputeEvidence(product_description="A blue teapot", uncategorized_text="winning_evidence")
        submitted = api.disputes.SubmitDisputeEvidence(
            D.SubmitDisputeEvidenceRequest(dispute_id=answered.dispute.id, evidence=evidence)
        ).dispute
        assert submitted.evidence_submit_time.ToDatetime(UTC) == START  # answered at the clock's time
        for payment in (uncaptured, challenged, settles, fails, unanswered, answered):
            assert payment.test_clock_id == clock.id and payment.create_time.ToDatetime(UTC) == START
        assert (uncaptured.status, challenged.status) == (P.PAYMENT_STATUS_AUTHORIZED, P.PAYMENT_STATUS_REQUIRES_ACTION)
        challenge = challenged.next_action.three_ds_challenge
        assert challenge.expire_time.ToDatetime(UTC) == START + timedelta(minutes=15)

        pending = refund(api, settles.id)
        assert pending.refund.status == P.REFUND_STATUS_PENDING
        assert pending.refund.settle_time.ToDatetime(UTC) == START + SETTLES
        # While pending it counts as refunded: nothing is left to refund.
        assert (pending.payment.status, pending.payment.refunded_amount_minor) == (P.PAYMENT_STATUS_REFUNDED, 2500)
        err = expect_error(api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=settles.id))
        assert err.reason == "PAYMENT_NOT_REFUNDABLE"  # as any payment refunded in full
        reversed_later = refund(api, fails.id)
        assert reversed_later.refund.status == P.REFUND_STATUS_SUCCEEDED  # for now
        assert not reversed_later.refund.HasField("settle_time")

        api.webhooks.CreateWebhookEndpoint(W.CreateWebhookEndpointRequest(url=receiver.url, event_types=TRANSITIONS))
        request = E.SubscribePaymentEventsRequest(start=E.STREAM_START_NOW, event_types=TRANSITIONS)
        stream = EventStream(second.stubs(key), request)
        stream.opened()
        with Client.connect(second.target, api_key=key) as client:  # waits until the clock is READY
            moved = client.test_clocks.advance(clock.id, START + timedelta(days=8))
        assert moved.status == C.TEST_CLOCK_STATUS_READY

        seen = stream.events(7)
        stream.cancel()
        expected = {
            ("dispute.closed", answered.id): START + REVIEW_PERIOD,
            ("dispute.funds_reinstated", answered.id): START + REVIEW_PERIOD,
            ("payment.three_ds_challenge_expired", challenged.id): START + timedelta(minutes=15),
            ("refund.succeeded", settles.id): START + SETTLES,
            ("refund.failed", fails.id): START + SETTLES,
            ("payment.authorization_expired", uncaptured.id): START + timedelta(days=7),
            ("dispute.closed", unanswered.id): START + EVIDENCE_WINDOW,
        }
        got = {(e.type, e.payment_id): e.create_time.ToDatetime(UTC) for e in seen}
        assert got == expected
        times = [e.create_time.ToDatetime(UTC) for e in seen]
        assert times == sorted(times)  # in the clock's time order, whatever kind each is
        assert [e.type for e in seen[:3]] == [
            "dispute.closed",
            "dispute.funds_reinstated",
            "payment.three_ds_challenge_expired",
        ]
        assert seen[[e.type for e in seen].index("refund.failed")].refund_failed.reason == ("expired_or_canceled_card")

        hooks = receiver.wait_count(7)
        assert {(h.json["type"], h.event_id) for h in hooks} == {(e.type, e.id) for e in seen}
        by_id = {e.id: e.create_time.ToDatetime(UTC) for e in seen}
        assert all(h.json["created"] == int(by_id[h.event_id].timestamp()) for h in hooks)

        assert get(api, uncaptured.id).status == P.PAYMENT_STATUS_VOIDED
        assert get(api, challenged.id).status == P.PAYMENT_STATUS_FAILED
        settled = get(api, settles.id)
        assert (settled.status, settled.refunds[0].status) == (P.PAYMENT_STATUS_REFUNDED, P.REFUND_STATUS_SUCCEEDED)
        failed = get(api, fails.id)
        assert (failed.status, failed.refunded_amount_minor) == (P.PAYMENT_STATUS_CAPTURED, 0)
        assert (failed.refunds[0].status, failed.refunds[0].failure_reason) == (
            P.REFUND_STATUS_FAILED,
            "expired_or_canceled_card",
        )
        assert refund(api, fails.id).refund.amount_minor == 2500  # refundable again
        lost = api.disputes.GetDispute(D.GetDisputeRequest(dispute_id=unanswered.dispute.id)).dispute
        won = api.disputes.GetDispute(D.GetDisputeRequest(dispute_id=answered.dispute.id)).dispute
        assert (lost.status, lost.close_reason) == (D.DISPUTE_STATUS_LOST, "evidence_deadline_passed")
        assert (won.status, won.reinstated_amount_minor) == (D.DISPUTE_STATUS_WON, 2500)
        assert server.run(verify_all(server.app.unit_of_work)).ok
    finally:
        receiver.stop()
        second.stop()


def test_a_repeated_advance_runs_nothing_twice(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    clock = new_clock(api)
    payment = pay(api, "4000000000007726", clock.id)
    refund(api, payment.id)
    advance(api, clock.id, START + timedelta(minutes=59))
    assert get(api, payment.id).refunds[0].status == P.REFUND_STATUS_PENDING  # a minute to go
    advance(api, clock.id, START + timedelta(hours=2))
    assert get(api, payment.id).refunds[0].status == P.REFUND_STATUS_SUCCEEDED
    # The sources again over the same span (as a housekeeping round finishing it would): nothing.
    target = START + timedelta(hours=3)
    server.run(_leave_advancing(server, clock.id, target))
    server.run(server.server.maintenance.run_once())
    types = [e.type for e in api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=payment.id)).events]
    assert types.count("refund.succeeded") == 1 and types[-1] == "refund.succeeded"


def test_a_customers_payments_live_on_its_clock(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    clock, other = new_clock(api), new_clock(api, START + timedelta(days=1))
    customer = api.customers.CreateCustomer(CU.CreateCustomerRequest(name="Ann", test_clock_id=clock.id)).customer
    assert customer.test_clock_id == clock.id and customer.create_time.ToDatetime(UTC) == START
    inherited = pay(api, "4242424242424242", customer_id=customer.id)
    assert inherited.test_clock_id == clock.id and inherited.create_time.ToDatetime(UTC) == START
    request = P.CreatePaymentRequest(
        amount_minor=100, card=card("4242424242424242"), customer_id=customer.id, test_clock_id=other.id
    )
    err = expect_error(api.payments.CreatePayment, request)
    assert (err.code, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert err.violation_reasons == {"test_clock_id": "TEST_CLOCK_MISMATCH"}
    # Deleting a clock that objects live on is refused: their money history stays whole.
    err = expect_error(api.clocks.DeleteTestClock, C.DeleteTestClockRequest(test_clock_id=clock.id))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEST_CLOCK_IN_USE")
    assert err.metadata["test_clock_id"] == clock.id
    api.clocks.DeleteTestClock(C.DeleteTestClockRequest(test_clock_id=other.id))  # nothing on it


def test_the_sdk_puts_customers_on_a_clock_and_raises_its_refusals(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    key = register_merchant(server.stubs()).api_key
    with Client.connect(server.target, api_key=key) as client:
        clock = client.test_clocks.create("sdk", START)
        customer = client.customers.create(name="Ann", test_clock_id=clock.id)
        paid = client.payments.create(amount_minor=500, card=card("4242424242424242"), customer_id=customer.id)
        assert (customer.test_clock_id, paid.test_clock_id) == (clock.id, clock.id)
        with pytest.raises(errors.TestClockInUse) as refused:
            client.test_clocks.delete(clock.id)
        assert refused.value.metadata["test_clock_id"] == clock.id


def test_another_merchants_or_an_advancing_clock_is_refused(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    stranger = server.stubs(register_merchant(server.stubs()).api_key)
    theirs = new_clock(stranger)
    request = P.CreatePaymentRequest(amount_minor=100, card=card("4242424242424242"), test_clock_id=theirs.id)
    err = expect_error(api.payments.CreatePayment, request)
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "TEST_CLOCK_NOT_FOUND")
    err = expect_error(api.customers.CreateCustomer, CU.CreateCustomerRequest(test_clock_id=theirs.id))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "TEST_CLOCK_NOT_FOUND")
    err = expect_error(api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=100, test_clock_id="nope"))
    assert "test_clock_id" in err.field_violations

    mine = new_clock(api)
    authorized = pay(api, "4242424242424242", mine.id, capture_method=P.CAPTURE_METHOD_MANUAL)
    server.run(_leave_advancing(server, mine.id, START + timedelta(days=1)))
    request.test_clock_id = mine.id
    err = expect_error(api.payments.CreatePayment, request)
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEST_CLOCK_ADVANCING")
    err = expect_error(api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=authorized.id))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEST_CLOCK_ADVANCING")
    err = expect_error(api.customers.CreateCustomer, CU.CreateCustomerRequest(test_clock_id=mine.id))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEST_CLOCK_ADVANCING")
    assert get(api, authorized.id).status == P.PAYMENT_STATUS_AUTHORIZED  # reads are answered
    server.run(server.server.maintenance.run_once())  # finishes the advance
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=authorized.id)).payment
    assert captured.status == P.PAYMENT_STATUS_CAPTURED
    assert captured.update_time.ToDatetime(UTC) == START + timedelta(days=1)  # the clock's time


def test_the_real_time_sweeps_leave_clock_objects_alone_and_settle_the_others(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    clock = new_clock(api, datetime.now(UTC))
    on_clock = pay(api, "4242424242424242", clock.id, capture_method=P.CAPTURE_METHOD_MANUAL)
    on_clock_refunded = pay(api, "4000000000007726", clock.id)
    refund(api, on_clock_refunded.id)
    settles, fails = pay(api, "4000000000007726"), pay(api, "4000000000005126")
    refund(api, settles.id), refund(api, fails.id)
    server.clock.advance(SETTLES - timedelta(minutes=5))
    server.run(server.server.maintenance.run_once())
    assert get(api, settles.id).refunds[0].status == P.REFUND_STATUS_PENDING  # five minutes to go
    server.clock.advance(timedelta(days=8))
    server.run(server.server.maintenance.run_once())
    settled = get(api, settles.id)
    assert settled.refunds[0].status == P.REFUND_STATUS_SUCCEEDED
    last = api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=settles.id)).events[-1]
    assert last.type == "refund.succeeded" and not last.refund_succeeded.HasField("attempt")
    # Recorded when the round settled it, on the server's clock: at least the delay after the refund.
    assert last.create_time.ToDatetime(UTC) - settled.refunds[0].create_time.ToDatetime(UTC) >= SETTLES
    reversed_refund = get(api, fails.id).refunds[0]
    assert (reversed_refund.status, reversed_refund.failure_reason) == (
        P.REFUND_STATUS_FAILED,
        "expired_or_canceled_card",
    )
    # On the clock nothing moved: its time stood still.
    assert get(api, on_clock.id).status == P.PAYMENT_STATUS_AUTHORIZED
    assert get(api, on_clock_refunded.id).refunds[0].status == P.REFUND_STATUS_PENDING
    assert server.run(verify_all(server.app.unit_of_work)).ok


async def _leave_advancing(server: ServerHandle, clock_id: str, target: datetime) -> None:
    # Only the test's own rounds run from here on: the background one would finish the advance
    # whenever it comes round, before or after what the test checks.
    await server.server.maintenance.stop()
    async with server.app.unit_of_work() as uow:
        clock = await uow.test_clocks.get(clock_id, for_update=True)
        assert clock is not None
        advancing = start_advance(clock, target)
        assert advancing is not None
        await uow.test_clocks.save(advancing)
        await uow.commit()


def test_a_clock_payment_interrupted_mid_call_is_recovered_once_its_clock_moved_past_the_delay(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    server.app.router.gateways["simulator"] = DyingGateway(processor_saw_it=True)
    clock = new_clock(api)  # a clock far behind the server's: its payment's times are the clock's
    request = P.CreatePaymentRequest(amount_minor=900, currency_code="USD", card=card("4242424242424242"))
    request.test_clock_id = clock.id
    with pytest.raises(grpc.RpcError):  # the 'dead' server never answers: the client gives up
        api.payments.CreatePayment(request, timeout=1)
    (stuck,) = api.payments.ListPayments(P.ListPaymentsRequest()).payments
    assert stuck.status == P.PAYMENT_STATUS_PROCESSING
    # Months behind real time, yet not stuck on its own clock: the sweep leaves it to its call.
    server.clock.advance(timedelta(seconds=31))
    assert server.run(server.app.payments.recover_stuck()) == 0
    advance(api, clock.id, START + timedelta(seconds=31))
    assert server.run(server.app.payments.recover_stuck()) == 1
    recovered = get(api, stuck.id)
    assert recovered.status == P.PAYMENT_STATUS_CAPTURED
    assert recovered.update_time.ToDatetime(UTC) == START + timedelta(seconds=31)  # recorded at the clock's time
