"""``client.disputes`` through a real server, blocking and async: list, get, submit evidence,
accept, and the reason classes of the refusals."""

from __future__ import annotations

import asyncio

import pytest
from paysim_client import AsyncClient, Client, errors
from paysim_client.types import CardInput, DisputeKind, DisputeStatus

from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle

FRAUDULENT = CardInput(number="4000000000000259", exp_month=12, exp_year=2031, cvc="123")
INQUIRY = CardInput(number="4000000000001976", exp_month=12, exp_year=2031, cvc="123")


def test_list_get_evidence_and_accept(client: Client) -> None:
    chargeback = client.payments.create(amount_minor=5000, card=FRAUDULENT)
    inquiry = client.payments.create(amount_minor=700, card=INQUIRY)
    listed = list(client.disputes.list(page_size=1))  # the pager follows the pages
    assert [d.id for d in listed] == [inquiry.dispute.id, chargeback.dispute.id]
    only = list(client.disputes.list(payment_id=chargeback.id))
    assert [d.kind for d in only] == [DisputeKind.DISPUTE_KIND_CHARGEBACK]
    answered = client.disputes.submit_evidence(
        chargeback.dispute.id, product_description="A teapot", uncategorized_text="winning_evidence"
    )
    assert answered.status == DisputeStatus.DISPUTE_STATUS_UNDER_REVIEW
    assert client.disputes.get(chargeback.dispute.id) == answered
    warnings = list(client.disputes.list(statuses=[DisputeStatus.DISPUTE_STATUS_WARNING_NEEDS_RESPONSE]))
    assert [d.id for d in warnings] == [inquiry.dispute.id]
    closed = client.disputes.accept(inquiry.dispute.id)
    assert (closed.status, closed.close_reason) == (DisputeStatus.DISPUTE_STATUS_WARNING_CLOSED, "accepted")


def test_refusals_raise_their_reason_classes(client: Client) -> None:
    paid = client.payments.create(amount_minor=5000, card=FRAUDULENT)
    with pytest.raises(errors.PaymentDisputed) as disputed:
        client.payments.refund(paid.id)
    assert disputed.value.metadata["dispute_id"] == paid.dispute.id
    client.disputes.submit_evidence(paid.dispute.id, uncategorized_text="losing_evidence")
    with pytest.raises(errors.DisputeUnderReview):
        client.disputes.accept(paid.dispute.id)
    with pytest.raises(errors.DisputeNotFound):
        client.disputes.get("dp_missing")
    with pytest.raises(errors.InvalidArgument) as bad:
        client.disputes.submit_evidence(paid.dispute.id)
    assert {v.field for v in bad.value.field_violations} == {"evidence"}


def test_the_async_client_answers_and_accepts(server: ServerHandle, merchant: MerchantAccount) -> None:
    async def scenario() -> None:
        async with AsyncClient.connect(server.target, api_key=merchant.api_key) as client:
            paid = await client.payments.create(amount_minor=2500, card=FRAUDULENT)
            found = [d async for d in client.disputes.list(payment_id=paid.id)]
            assert [d.id for d in found] == [paid.dispute.id]
            accepted = await client.disputes.accept(paid.dispute.id)
            assert accepted.status == DisputeStatus.DISPUTE_STATUS_LOST
            assert (await client.disputes.get(paid.dispute.id)).close_reason == "accepted"
            with pytest.raises(errors.DisputeClosed):
                await client.disputes.submit_evidence(paid.dispute.id, uncategorized_text="too late")

    asyncio.run(scenario())
