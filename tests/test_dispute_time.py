"""Disputes and time through a real server: the evidence deadline and the review on the server's
clock, an answer that comes too late, an escalating inquiry, disputes on a test clock, a second
server process deciding them, the recovery sweep opening one, and ``paysim verify`` checking them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path

import grpc
import pytest
from paysim_client import Client
from paysim_proto.v1 import dispute_pb2 as D
from paysim_proto.v1 import events_pb2 as E
from paysim_proto.v1 import payment_pb2 as P
from sqlalchemy import update

from paysim.domain.disputes import EVIDENCE_WINDOW, REVIEW_PERIOD
from paysim.domain.test_clocks import TestClock
from paysim.services.verification import verify_all
from paysim.store.schema import disputes
from tests.support.client import expect_error
from tests.support.disputes import (
    AMOUNT,
    DISPUTE_FEE,
    EARLY_FRAUD_WARNING,
    FRAUDULENT,
    INQUIRY,
    NOT_RECEIVED,
    card,
    event_types,
    evidence_request,
    get,
    housekeeping,
    pay,
    payment,
    submit,
)
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import EventStream
from tests.test_payment_recovery import DyingGateway, _install


def test_an_unanswered_dispute_is_lost_when_the_deadline_passes(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()  # its clock moves: a server of its own
    api = server.stubs(register_merchant(server.stubs()).api_key)
    chargeback, inquiry = pay(api, FRAUDULENT), pay(api, INQUIRY)
    housekeeping(server, EVIDENCE_WINDOW - timedelta(minutes=5))
    assert get(api, chargeback.dispute.id).status == D.DISPUTE_STATUS_NEEDS_RESPONSE
    # Refused while the chargeback holds the money; the inquiry's payment refunds.
    err = expect_error(api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=chargeback.id))
    assert (err.reason, err.metadata["dispute_id"]) == ("PAYMENT_DISPUTED", chargeback.dispute.id)
    api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=inquiry.id, amount_minor=100))
    housekeeping(server, timedelta(minutes=5))
    lost = get(api, chargeback.dispute.id)
    assert (lost.status, lost.close_reason) == (D.DISPUTE_STATUS_LOST, "evidence_deadline_passed")
    closed = get(api, inquiry.dispute.id)
    assert (closed.status, closed.close_reason) == (D.DISPUTE_STATUS_WARNING_CLOSED, "evidence_deadline_passed")
    assert server.run(server.app.disputes.sweep()) == 0  # nothing left to do
    statuses = [D.DISPUTE_STATUS_LOST]
    listed = api.disputes.ListDisputes(D.ListDisputesRequest(statuses=statuses)).disputes
    assert [x.id for x in listed] == [chargeback.dispute.id]
    assert server.run(verify_all(server.app.unit_of_work)).ok


def test_an_inquiry_escalates_with_losing_evidence_and_closes_with_winning(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()  # its clock moves: a server of its own
    api = server.stubs(register_merchant(server.stubs()).api_key)
    escalating, closing = pay(api, INQUIRY), pay(api, EARLY_FRAUD_WARNING)
    assert submit(api, escalating.dispute.id, "losing_evidence").status == D.DISPUTE_STATUS_WARNING_UNDER_REVIEW
    submit(api, closing.dispute.id, "winning_evidence")
    housekeeping(server, REVIEW_PERIOD)
    escalated = get(api, escalating.dispute.id)
    assert (escalated.status, escalated.withdrawn_amount_minor, escalated.fee_amount_minor) == (
        D.DISPUTE_STATUS_NEEDS_RESPONSE,
        AMOUNT,
        DISPUTE_FEE,
    )
    assert not escalated.HasField("evidence") and not escalated.payment_refundable
    assert escalated.evidence_due_by.ToDatetime() > escalated.create_time.ToDatetime() + EVIDENCE_WINDOW
    assert event_types(api, escalating.id)[-2:] == ["dispute.updated", "dispute.funds_withdrawn"]
    closed = get(api, closing.dispute.id)
    assert (closed.status, closed.close_reason) == (D.DISPUTE_STATUS_WARNING_CLOSED, "evidence_won")


def test_disputes_on_a_test_clock_are_decided_as_it_advances(make_server: Callable[..., ServerHandle]) -> None:
    """A dispute lives on its payment's test clock."""
    server = make_server()
    account = register_merchant(server.stubs())
    api = server.stubs(account.api_key)
    with Client.connect(server.target, api_key=account.api_key) as client:
        clock = client.test_clocks.create("disputes", server.clock())
        on_clock = {"test_clock_id": clock.id}
        unanswered, answered = pay(api, FRAUDULENT, **on_clock), pay(api, NOT_RECEIVED, **on_clock)
        assert unanswered.dispute.test_clock_id == clock.id
        submitted = submit(api, answered.dispute.id, "winning_evidence")
        # An answer happens at the clock's time too.
        assert submitted.evidence_submit_time == clock.frozen_time
        # Real time passing does not touch them: they fall due on their clock only.
        housekeeping(server, EVIDENCE_WINDOW + timedelta(days=1))
        assert get(api, unanswered.dispute.id).status == D.DISPUTE_STATUS_NEEDS_RESPONSE
        assert get(api, answered.dispute.id).status == D.DISPUTE_STATUS_UNDER_REVIEW
        target = clock.frozen_time.ToDatetime(UTC) + timedelta(days=8)
        client.test_clocks.advance(clock.id, target)
    lost, won = get(api, unanswered.dispute.id), get(api, answered.dispute.id)
    assert (lost.status, lost.close_reason) == (D.DISPUTE_STATUS_LOST, "evidence_deadline_passed")
    assert (won.status, won.reinstated_amount_minor) == (D.DISPUTE_STATUS_WON, AMOUNT)
    # Each transition carries the time it fell due, not the time the advance ran.
    assert lost.update_time == unanswered.dispute.evidence_due_by
    assert won.update_time == submitted.review_due_by
    assert event_types(api, answered.id)[-2:] == ["dispute.closed", "dispute.funds_reinstated"]
    same_clock = TestClock(clock.id, account.merchant_id, clock.name, target, target)
    assert server.run(server.app.disputes.run_due(same_clock, target)) == 0  # nothing left
    assert server.run(verify_all(server.app.unit_of_work)).ok


def test_verify_catches_a_dispute_row_that_differs_from_the_events(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    paid = pay(api, FRAUDULENT)
    assert server.run(verify_all(server.app.unit_of_work)).ok

    async def tamper() -> None:
        async with server.app.engine.begin() as conn:
            await conn.execute(update(disputes).where(disputes.c.id == paid.dispute.id).values(status="won"))

    server.run(tamper())
    report = server.run(verify_all(server.app.unit_of_work))
    assert [(m.payment_id, m.problem, m.fields) for m in report.mismatches] == [
        (paid.id, "dispute projection differs from replayed events", ("status",))
    ]


def test_an_answer_after_the_deadline_finds_the_dispute_lost(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    late, accepted_late = pay(api, FRAUDULENT), pay(api, INQUIRY)
    server.clock.advance(EVIDENCE_WINDOW)  # no housekeeping round ran
    err = expect_error(api.disputes.SubmitDisputeEvidence, evidence_request(late.dispute.id))
    assert (err.reason, err.metadata["status"]) == ("DISPUTE_CLOSED", "lost")
    lost = get(api, late.dispute.id)
    assert (lost.status, lost.close_reason) == (D.DISPUTE_STATUS_LOST, "evidence_deadline_passed")
    err = expect_error(api.disputes.AcceptDispute, D.AcceptDisputeRequest(dispute_id=accepted_late.dispute.id))
    assert (err.reason, err.metadata["status"]) == ("DISPUTE_CLOSED", "warning_closed")
    assert server.run(server.app.disputes.sweep()) == 0


def test_a_capture_finished_by_recovery_opens_the_dispute_too(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    _install(server, DyingGateway(processor_saw_it=True))
    request = P.CreatePaymentRequest(amount_minor=AMOUNT, currency_code="USD", card=card(FRAUDULENT))
    with pytest.raises(grpc.RpcError):  # the 'dead' server never answers
        api.payments.CreatePayment(request, timeout=1)
    (stuck,) = api.payments.ListPayments(P.ListPaymentsRequest()).payments
    server.clock.advance(timedelta(seconds=31))
    assert server.run(server.app.payments.recover_stuck()) == 1
    finished = payment(api, stuck.id)
    assert finished.status == P.PAYMENT_STATUS_CAPTURED
    assert finished.dispute.status == D.DISPUTE_STATUS_NEEDS_RESPONSE
    assert event_types(api, stuck.id)[-2:] == ["dispute.created", "dispute.funds_withdrawn"]
    assert server.run(verify_all(server.app.unit_of_work)).ok


def test_another_server_process_decides_the_dispute_and_streams_see_it(
    make_server: Callable[..., ServerHandle], tmp_path: Path
) -> None:
    # On SQLite a process learns of another's commits by polling: poll often.
    first = make_server(event_poll_seconds=0.2)
    # A second server process on the same database, as `serve --workers 2` runs.
    second = ServerHandle(first.settings.with_overrides(data_dir=tmp_path / "second"))
    stream: EventStream | None = None
    try:
        key = register_merchant(first.stubs()).api_key
        stream = EventStream(
            first.stubs(key), E.SubscribePaymentEventsRequest(start=E.STREAM_START_NOW, event_types=["dispute.closed"])
        )
        stream.opened()
        paid = pay(first.stubs(key), NOT_RECEIVED)
        assert get(second.stubs(key), paid.dispute.id).status == D.DISPUTE_STATUS_NEEDS_RESPONSE
        housekeeping(second, EVIDENCE_WINDOW)
        (closed,) = stream.events(1)
        assert (closed.payment_id, closed.dispute_closed.reason) == (paid.id, "evidence_deadline_passed")
        assert get(first.stubs(key), paid.dispute.id).status == D.DISPUTE_STATUS_LOST
    finally:
        if stream is not None:
            stream.cancel()
        second.stop()
