"""Disputes through a real server: each dispute test card opens its dispute when its payment is
captured; evidence, acceptance and the evidence deadline decide it on the server's clock; the
money moves with it; refunds are refused while it holds the money; tenants stay apart; and the
``dispute.*`` events reach subscribers and webhooks and replay in ``paysim verify``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from paysim_client import Client
from paysim_proto.v1 import dispute_pb2 as D
from paysim_proto.v1 import events_pb2 as E
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W
from sqlalchemy import update

from paysim.domain.disputes import EVIDENCE_WINDOW, REVIEW_PERIOD
from paysim.domain.test_clocks import TestClock
from paysim.services import dispute_opening
from paysim.services.verification import verify_all
from paysim.store.schema import disputes
from tests.support.client import Stubs, expect_error
from tests.support.factories import create_customer, register_customer_user, register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import EventStream
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_payment_recovery import DyingGateway, _install

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
FRAUDULENT = "4000000000000259"
NOT_RECEIVED = "4000000000002685"
INQUIRY = "4000000000001976"
EARLY_FRAUD_WARNING = "4000000000005423"
AMOUNT = 10_000  # 100.00 USD: fee 290 + 30 = 320
FEE = 320
DISPUTE_FEE = 1500  # 15.00 USD


def card(number: str) -> P.CardInput:
    return P.CardInput(number=number, exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


def pay(api: Stubs, number: str, **fields: Any) -> P.Payment:
    request = P.CreatePaymentRequest(amount_minor=AMOUNT, currency_code="USD", card=card(number), **fields)
    payment: P.Payment = api.payments.CreatePayment(request).payment
    return payment


def dispute_of(api: Stubs, payment_id: str) -> D.Dispute:
    listed = api.disputes.ListDisputes(D.ListDisputesRequest(payment_id=payment_id)).disputes
    assert len(listed) == 1
    return listed[0]


def get(api: Stubs, dispute_id: str) -> D.Dispute:
    found: D.Dispute = api.disputes.GetDispute(D.GetDisputeRequest(dispute_id=dispute_id)).dispute
    return found


def payment(api: Stubs, payment_id: str) -> P.Payment:
    found: P.Payment = api.payments.GetPayment(P.GetPaymentRequest(payment_id=payment_id)).payment
    return found


def event_types(api: Stubs, payment_id: str) -> list[str]:
    reply = api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=payment_id, page_size=500))
    return [e.type for e in reply.events]


def submit(api: Stubs, dispute_id: str, text: str) -> D.Dispute:
    evidence = D.DisputeEvidence(product_description="A blue teapot", uncategorized_text=text)
    request = D.SubmitDisputeEvidenceRequest(dispute_id=dispute_id, evidence=evidence)
    answered: D.Dispute = api.disputes.SubmitDisputeEvidence(request).dispute
    return answered


def housekeeping(server: ServerHandle, after: timedelta) -> None:
    server.clock.advance(after)
    server.run(server.server.maintenance.run_once())


@pytest.mark.parametrize(
    ("number", "kind", "reason", "status", "withdrawn"),
    [
        (FRAUDULENT, D.DISPUTE_KIND_CHARGEBACK, D.DISPUTE_REASON_FRAUDULENT, D.DISPUTE_STATUS_NEEDS_RESPONSE, True),
        (
            NOT_RECEIVED,
            D.DISPUTE_KIND_CHARGEBACK,
            D.DISPUTE_REASON_PRODUCT_NOT_RECEIVED,
            D.DISPUTE_STATUS_NEEDS_RESPONSE,
            True,
        ),
        (INQUIRY, D.DISPUTE_KIND_INQUIRY, D.DISPUTE_REASON_GENERAL, D.DISPUTE_STATUS_WARNING_NEEDS_RESPONSE, False),
        (
            EARLY_FRAUD_WARNING,
            D.DISPUTE_KIND_EARLY_FRAUD_WARNING,
            D.DISPUTE_REASON_FRAUDULENT,
            D.DISPUTE_STATUS_WARNING_NEEDS_RESPONSE,
            False,
        ),
    ],
)
def test_each_dispute_card_opens_its_dispute_at_capture(
    server: ServerHandle, number: str, kind: int, reason: int, status: int, withdrawn: bool
) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    paid = pay(api, number)
    assert paid.status == P.PAYMENT_STATUS_CAPTURED
    # The capture's own reply already shows it: it opened in the same transaction.
    assert paid.dispute.id.startswith("dp_") and paid.dispute.status == status
    d = dispute_of(api, paid.id)
    assert (d.id, d.payment_id, d.kind, d.reason, d.status) == (paid.dispute.id, paid.id, kind, reason, status)
    assert (d.amount_minor, d.currency_code) == (AMOUNT, "USD")
    assert d.evidence_due_by.ToDatetime() - d.create_time.ToDatetime() == EVIDENCE_WINDOW
    expected_types = ["payment.created", "payment.authorized", "payment.captured", "dispute.created"]
    if withdrawn:
        assert (d.withdrawn_amount_minor, d.fee_amount_minor, d.payment_refundable) == (AMOUNT, DISPUTE_FEE, False)
        assert (paid.disputed_amount_minor, paid.dispute_fee_minor) == (AMOUNT, DISPUTE_FEE)
        assert paid.net_amount_minor == AMOUNT - FEE - AMOUNT - DISPUTE_FEE
        expected_types.append("dispute.funds_withdrawn")
    else:  # a warning moves no money and leaves the payment refundable
        assert (d.withdrawn_amount_minor, d.fee_amount_minor, d.payment_refundable) == (0, 0, True)
        assert paid.net_amount_minor == AMOUNT - FEE
    assert event_types(api, paid.id) == expected_types
    assert get(api, d.id) == d


def test_a_manual_capture_opens_the_dispute_and_an_ordinary_card_none(server: ServerHandle) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    held = pay(api, FRAUDULENT, capture_method=P.CAPTURE_METHOD_MANUAL)
    assert held.status == P.PAYMENT_STATUS_AUTHORIZED and not held.HasField("dispute")
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=held.id, amount_minor=4000)).payment
    assert captured.dispute.amount_minor == 4000 and captured.disputed_amount_minor == 4000
    plain = pay(api, "4242424242424242")
    assert not plain.HasField("dispute")
    assert not api.disputes.ListDisputes(D.ListDisputesRequest(payment_id=plain.id)).disputes


def test_winning_evidence_wins_after_the_review_and_reinstates_the_amount(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()  # its clock moves: a server of its own
    api = server.stubs(register_merchant(server.stubs()).api_key)
    paid = pay(api, FRAUDULENT)
    d = submit(api, paid.dispute.id, "receipt attached; winning_evidence")
    assert d.status == D.DISPUTE_STATUS_UNDER_REVIEW
    assert d.review_due_by.ToDatetime() - d.evidence_submit_time.ToDatetime() == REVIEW_PERIOD
    assert d.evidence.product_description == "A blue teapot"
    # The same evidence again is idempotent; other evidence under review is refused.
    assert submit(api, d.id, "receipt attached; winning_evidence") == d
    err = expect_error(
        api.disputes.SubmitDisputeEvidence,
        D.SubmitDisputeEvidenceRequest(dispute_id=d.id, evidence=D.DisputeEvidence(uncategorized_text="more")),
    )
    assert (err.code, err.reason, err.metadata["dispute_id"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "DISPUTE_UNDER_REVIEW",
        d.id,
    )
    housekeeping(server, REVIEW_PERIOD - timedelta(minutes=1))
    assert get(api, d.id).status == D.DISPUTE_STATUS_UNDER_REVIEW  # a minute to go
    housekeeping(server, timedelta(minutes=1))
    won = get(api, d.id)
    assert (won.status, won.close_reason, won.reinstated_amount_minor) == (D.DISPUTE_STATUS_WON, "evidence_won", AMOUNT)
    after = payment(api, paid.id)
    # The fee stays withdrawn: only the disputed amount comes back.
    assert (after.disputed_amount_minor, after.dispute_fee_minor) == (0, DISPUTE_FEE)
    assert after.net_amount_minor == AMOUNT - FEE - DISPUTE_FEE
    assert event_types(api, paid.id)[-3:] == ["dispute.updated", "dispute.closed", "dispute.funds_reinstated"]
    # A won dispute leaves the payment refundable; a closed one takes no more answers.
    refunded = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=paid.id, amount_minor=100)).payment
    assert refunded.refunded_amount_minor == 100
    err = expect_error(api.disputes.AcceptDispute, D.AcceptDisputeRequest(dispute_id=d.id))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DISPUTE_CLOSED")
    assert server.run(verify_all(server.app.unit_of_work)).ok


def test_losing_evidence_loses_and_the_money_stays_withdrawn(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()  # its clock moves: a server of its own
    api = server.stubs(register_merchant(server.stubs()).api_key)
    paid = pay(api, NOT_RECEIVED)
    submit(api, paid.dispute.id, "losing_evidence")
    housekeeping(server, REVIEW_PERIOD)
    lost = get(api, paid.dispute.id)
    assert (lost.status, lost.close_reason, lost.reinstated_amount_minor) == (
        D.DISPUTE_STATUS_LOST,
        "evidence_lost",
        0,
    )
    assert payment(api, paid.id).net_amount_minor == AMOUNT - FEE - AMOUNT - DISPUTE_FEE
    err = expect_error(api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=paid.id))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PAYMENT_DISPUTED")


def test_accepting_loses_at_once_and_is_idempotent(server: ServerHandle) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    paid = pay(api, FRAUDULENT)
    accepted = api.disputes.AcceptDispute(D.AcceptDisputeRequest(dispute_id=paid.dispute.id)).dispute
    assert (accepted.status, accepted.close_reason) == (D.DISPUTE_STATUS_LOST, "accepted")
    again = api.disputes.AcceptDispute(D.AcceptDisputeRequest(dispute_id=paid.dispute.id)).dispute
    assert again == accepted
    assert event_types(api, paid.id)[-1] == "dispute.closed"
    assert event_types(api, paid.id).count("dispute.closed") == 1
    err = expect_error(api.disputes.SubmitDisputeEvidence, _evidence_request(paid.dispute.id))
    assert err.reason == "DISPUTE_CLOSED" and err.metadata["status"] == "lost"


def _evidence_request(dispute_id: str) -> D.SubmitDisputeEvidenceRequest:
    return D.SubmitDisputeEvidenceRequest(dispute_id=dispute_id, evidence=D.DisputeEvidence(uncategorized_text="x"))


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


def test_another_tenants_dispute_is_not_found_and_admins_see_all(server: ServerHandle, admin_token: str) -> None:
    owner = server.stubs(register_merchant(server.stubs()).api_key)
    other_account = register_merchant(server.stubs())
    other = server.stubs(other_account.api_key)
    paid = pay(owner, FRAUDULENT)
    dispute_id = paid.dispute.id
    for call, request in [
        (other.disputes.GetDispute, D.GetDisputeRequest(dispute_id=dispute_id)),
        (other.disputes.AcceptDispute, D.AcceptDisputeRequest(dispute_id=dispute_id)),
        (other.disputes.SubmitDisputeEvidence, _evidence_request(dispute_id)),
    ]:
        err = expect_error(call, request)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "DISPUTE_NOT_FOUND")
    assert not other.disputes.ListDisputes(D.ListDisputesRequest(payment_id=paid.id)).disputes
    err = expect_error(owner.disputes.GetDispute, D.GetDisputeRequest(dispute_id="dp_doesnotexist"))
    assert err.reason == "DISPUTE_NOT_FOUND"
    admin = server.stubs(admin_token)
    assert get(admin, dispute_id).payment_id == paid.id
    listed = admin.disputes.ListDisputes(D.ListDisputesRequest(merchant_id=other_account.merchant_id)).disputes
    assert not listed
    assert get(owner, dispute_id).status == D.DISPUTE_STATUS_NEEDS_RESPONSE  # untouched by the others


def test_bad_input_is_answered_with_field_violations(server: ServerHandle) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    paid = pay(api, FRAUDULENT)
    cases = [
        (api.disputes.GetDispute, D.GetDisputeRequest(dispute_id="pay_x"), "dispute_id", "INVALID_ID"),
        (api.disputes.GetDispute, D.GetDisputeRequest(), "dispute_id", "REQUIRED"),
        (api.disputes.AcceptDispute, D.AcceptDisputeRequest(dispute_id="nope"), "dispute_id", "INVALID_ID"),
        (
            api.disputes.SubmitDisputeEvidence,
            D.SubmitDisputeEvidenceRequest(dispute_id=paid.dispute.id),
            "evidence",
            "REQUIRED",
        ),
        (
            api.disputes.SubmitDisputeEvidence,
            D.SubmitDisputeEvidenceRequest(
                dispute_id=paid.dispute.id, evidence=D.DisputeEvidence(product_description="x" * 20_001)
            ),
            "evidence.product_description",
            "TOO_LONG",
        ),
        (
            api.disputes.SubmitDisputeEvidence,
            D.SubmitDisputeEvidenceRequest(
                dispute_id=paid.dispute.id, evidence=D.DisputeEvidence(customer_name="Ann\x00")
            ),
            "evidence.customer_name",
            "INVALID_CHARACTERS",
        ),
        (api.disputes.ListDisputes, D.ListDisputesRequest(payment_id="cus_1"), "payment_id", "INVALID_ID"),
        (api.disputes.ListDisputes, D.ListDisputesRequest(statuses=[42]), "statuses[0]", "UNKNOWN_ENUM_VALUE"),
        (api.disputes.ListDisputes, D.ListDisputesRequest(page_token="garbage"), "page_token", "INVALID_PAGE_TOKEN"),
    ]
    for call, request, field, reason in cases:
        err = expect_error(call, request)
        assert (err.code, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"), (field, err)
        assert err.violation_reasons.get(field) == reason, (field, err.violation_reasons)
    # Line breaks are text.
    evidence = D.DisputeEvidence(customer_communication="Hello,\r\nthe parcel left on Monday.\n")
    answered = api.disputes.SubmitDisputeEvidence(
        D.SubmitDisputeEvidenceRequest(dispute_id=paid.dispute.id, evidence=evidence)
    ).dispute
    assert answered.evidence.customer_communication == evidence.customer_communication


def test_lists_page_newest_first(server: ServerHandle) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    made = [pay(api, FRAUDULENT).dispute.id for _ in range(3)]
    first = api.disputes.ListDisputes(D.ListDisputesRequest(page_size=2))
    assert [d.id for d in first.disputes] == made[::-1][:2] and first.next_page_token
    second = api.disputes.ListDisputes(D.ListDisputesRequest(page_size=2, page_token=first.next_page_token))
    assert [d.id for d in second.disputes] == made[:1] and not second.next_page_token


def test_dispute_events_reach_subscribers_and_webhooks(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(webhook_poll_seconds=0.2)
    receiver = WebhookReceiver()
    stream: EventStream | None = None
    try:
        api = server.stubs(register_merchant(server.stubs()).api_key)
        types = ["dispute.created", "dispute.updated", "dispute.closed", "dispute.funds_withdrawn"]
        api.webhooks.CreateWebhookEndpoint(
            W.CreateWebhookEndpointRequest(url=receiver.url, event_types=[*types, "dispute.funds_reinstated"])
        )
        stream = EventStream(api, E.SubscribePaymentEventsRequest(start=E.STREAM_START_NOW, event_types=types))
        stream.opened()
        paid = pay(api, FRAUDULENT)
        submit(api, paid.dispute.id, "winning_evidence")
        housekeeping(server, REVIEW_PERIOD)
        seen = stream.events(4)
        assert [e.type for e in seen] == [
            "dispute.created",
            "dispute.funds_withdrawn",
            "dispute.updated",
            "dispute.closed",
        ]
        assert {e.payment_id for e in seen} == {paid.id}
        created = seen[0].dispute_created
        assert (created.dispute_id, created.status) == (paid.dispute.id, D.DISPUTE_STATUS_NEEDS_RESPONSE)
        assert seen[1].dispute_funds_withdrawn.fee_amount_minor == DISPUTE_FEE
        assert seen[3].dispute_closed.status == D.DISPUTE_STATUS_WON
        # Every event is delivered (at least once; deliveries run side by side, in no set order).
        got = receiver.wait_for(lambda received: len({r.event_id for r in received}) >= 5)
        delivered = {r.event_id: r.json["type"] for r in got}
        assert sorted(delivered.values()) == sorted([*types, "dispute.funds_reinstated"])
        assert {e.id: e.type for e in seen}.items() <= delivered.items()
        assert server.run(verify_all(server.app.unit_of_work)).ok
    finally:
        if stream is not None:
            stream.cancel()
        receiver.stop()


def test_disputes_on_a_test_clock_are_decided_as_it_advances(
    make_server: Callable[..., ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispute lives on its payment's test clock. Payments are not attached to clocks in this
    release, so the test attaches them the way the payment side will: through ``clock_of``."""
    server = make_server()
    account = register_merchant(server.stubs())
    api = server.stubs(account.api_key)
    with Client.connect(server.target, api_key=account.api_key) as client:
        clock = client.test_clocks.create("disputes", server.clock())
        monkeypatch.setattr(dispute_opening, "clock_of", lambda _payment: clock.id)
        unanswered, answered = pay(api, FRAUDULENT), pay(api, NOT_RECEIVED)
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


def test_the_readme_example_runs_as_written(server: ServerHandle) -> None:
    account = register_merchant(server.stubs())
    section = README[README.index("## Disputes") : README.index("## Test clocks")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    (printed,) = re.findall(r"```text\n(DISPUTE_STATUS.*?)```", section, re.S)
    code = code.replace('"localhost:50051"', repr(server.target)).replace('"sk_test_…"', repr(account.api_key))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == printed


def test_a_customer_sees_the_disputes_of_its_own_payments_and_cannot_answer(server: ServerHandle) -> None:
    shop = register_merchant(server.stubs())
    api = server.stubs(shop.api_key)
    person = register_customer_user(server.stubs())
    linked = create_customer(server.stubs(), shop.api_key, email=person.email)
    own = pay(api, FRAUDULENT, customer_id=linked.id)
    someone_elses = pay(api, FRAUDULENT)
    customer = server.stubs(person.access_token)
    listed = customer.disputes.ListDisputes(D.ListDisputesRequest()).disputes
    assert [d.id for d in listed] == [own.dispute.id]
    assert get(customer, own.dispute.id).payment_id == own.id
    err = expect_error(customer.disputes.GetDispute, D.GetDisputeRequest(dispute_id=someone_elses.dispute.id))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "DISPUTE_NOT_FOUND")
    err = expect_error(customer.disputes.AcceptDispute, D.AcceptDisputeRequest(dispute_id=own.dispute.id))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED


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
    err = expect_error(api.disputes.SubmitDisputeEvidence, _evidence_request(late.dispute.id))
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
