"""Disputes through a real server: each dispute test card opens its dispute when its payment is
captured; evidence and acceptance decide it; the money moves with it; refunds are refused while it
holds the money; tenants stay apart; bad input is answered field by field; and the ``dispute.*``
events reach subscribers and webhooks. Time (deadlines, test clocks, other processes):
test_dispute_time.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from paysim_proto.v1 import dispute_pb2 as D
from paysim_proto.v1 import events_pb2 as E
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W

from paysim.domain.disputes import EVIDENCE_WINDOW, REVIEW_PERIOD
from paysim.services.verification import verify_all
from tests.support.client import expect_error
from tests.support.disputes import (
    AMOUNT,
    DISPUTE_FEE,
    EARLY_FRAUD_WARNING,
    FEE,
    FRAUDULENT,
    INQUIRY,
    NOT_RECEIVED,
    dispute_of,
    event_types,
    evidence_request,
    get,
    housekeeping,
    pay,
    payment,
    submit,
)
from tests.support.factories import create_customer, register_customer_user, register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import EventStream
from tests.support.webhook_receiver import WebhookReceiver

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


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
    # A retry of the evidence that won it answers the dispute as it stands.
    assert submit(api, d.id, "receipt attached; winning_evidence") == won
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
    err = expect_error(api.disputes.SubmitDisputeEvidence, evidence_request(paid.dispute.id))
    assert err.reason == "DISPUTE_CLOSED" and err.metadata["status"] == "lost"


def test_another_tenants_dispute_is_not_found_and_admins_see_all(server: ServerHandle, admin_token: str) -> None:
    owner = server.stubs(register_merchant(server.stubs()).api_key)
    other_account = register_merchant(server.stubs())
    other = server.stubs(other_account.api_key)
    paid = pay(owner, FRAUDULENT)
    dispute_id = paid.dispute.id
    for call, request in [
        (other.disputes.GetDispute, D.GetDisputeRequest(dispute_id=dispute_id)),
        (other.disputes.AcceptDispute, D.AcceptDisputeRequest(dispute_id=dispute_id)),
        (other.disputes.SubmitDisputeEvidence, evidence_request(dispute_id)),
    ]:
        err = expect_error(call, request)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "DISPUTE_NOT_FOUND")
    assert not other.disputes.ListDisputes(D.ListDisputesRequest(payment_id=paid.id)).disputes
    err = expect_error(owner.disputes.GetDispute, D.GetDisputeRequest(dispute_id="dp_doesnotexist"))
    assert err.reason == "DISPUTE_NOT_FOUND"
    admin = server.stubs(admin_token)
    assert get(admin, dispute_id).payment_id == paid.id
    everyone = admin.disputes.ListDisputes(D.ListDisputesRequest(payment_id=paid.id)).disputes
    assert [d.id for d in everyone] == [dispute_id]  # no merchant named: the whole platform
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
