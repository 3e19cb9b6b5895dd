"""What the dispute tests share: the dispute test cards, the amounts they are paid with, and short
calls through a real server's stubs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from paysim_proto.v1 import dispute_pb2 as D
from paysim_proto.v1 import payment_pb2 as P

from tests.support.client import Stubs
from tests.support.harness import ServerHandle

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


def evidence_request(dispute_id: str) -> D.SubmitDisputeEvidenceRequest:
    return D.SubmitDisputeEvidenceRequest(dispute_id=dispute_id, evidence=D.DisputeEvidence(uncategorized_text="x"))
