"""The pure rules of a payment's dispute: what opens one, what evidence, acceptance and time make of
it, the money it moves, and that its state survives the payment's stored form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paysim.domain import dispute_rules, payment_rules
from paysim.domain import payment as agg
from paysim.domain import payment_events as ev
from paysim.domain.disputes import (
    EVIDENCE_WINDOW,
    REVIEW_PERIOD,
    DisputeKind,
    DisputeReason,
    DisputeStatus,
    Opening,
    fee_for,
)
from paysim.domain.errors import FailedPrecondition, NotFound
from paysim.domain.scenarios import ScenarioKind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CHARGEBACK = Opening(DisputeKind.CHARGEBACK, DisputeReason.FRAUDULENT)
INQUIRY = Opening(DisputeKind.INQUIRY, DisputeReason.GENERAL)


def _authorized(currency: str = "USD") -> agg.PaymentState:
    new = payment_rules.NewPayment(
        merchant_id="mer_1",
        amount=10_000,
        currency=currency,
        pan="4000000000000259",
        card=agg.Card("visa", "400000", "0259", 12, 2031, "f" * 32, "Ann"),
        customer_id="",
        description="",
        metadata={},
        capture_method=agg.CaptureMethod.MANUAL,
    )
    created = payment_rules.created_event(new, 290, 30, NOW)
    return agg.replay("pay_1", [created, ev.PaymentAuthorized(at=NOW, amount=10_000)])


def _disputed(opening: Opening = CHARGEBACK, *, refunded: int = 0) -> agg.PaymentState:
    state = _authorized()
    captured = payment_rules.captured_event(state, 10_000, None, NOW)
    events: list[ev.PaymentEvent] = [captured]
    if refunded:
        events += [
            ev.RefundRequested(at=NOW, refund_id="re_1", amount=refunded),
            ev.RefundSucceeded(at=NOW, refund_id="re_1"),
        ]
    before = agg.replay(state.id, events, start=state)
    opened = dispute_rules.open_events(before, opening, "dp_1", NOW, None)
    return agg.replay(state.id, opened, start=before)


def _then(state: agg.PaymentState, events: list[ev.PaymentEvent]) -> agg.PaymentState:
    return agg.replay(state.id, events, start=state)


def test_a_capture_opens_the_cards_dispute_once_and_nothing_else_does() -> None:
    state = _authorized()
    captured = payment_rules.captured_event(state, 6_000, None, NOW)
    opened = dispute_rules.opened_by_capture(state, [captured], CHARGEBACK, "dp_1", "clk_1")
    assert [type(e) for e in opened] == [ev.DisputeCreated, ev.DisputeFundsWithdrawn]
    created = opened[0]
    assert isinstance(created, ev.DisputeCreated)
    assert (created.amount, created.at, created.evidence_due_by) == (6_000, NOW, NOW + EVIDENCE_WINDOW)
    assert created.test_clock_id == "clk_1"
    assert dispute_rules.opened_by_capture(state, [captured], None, "dp_1", None) == []
    assert dispute_rules.opened_by_capture(state, [ev.PaymentVoided(at=NOW)], CHARGEBACK, "dp_1", None) == []
    disputed = _disputed()
    again = payment_rules.captured_event(disputed, 1, None, NOW)
    assert dispute_rules.opened_by_capture(disputed, [again], CHARGEBACK, "dp_2", None) == []


def test_every_dispute_card_kind_has_its_opening() -> None:
    kinds = {k for k in ScenarioKind if k.name.startswith("DISPUTE_")}
    assert set(dispute_rules.OPENINGS) == kinds


def test_a_chargeback_withdraws_the_amount_and_the_fee_a_warning_nothing() -> None:
    chargeback = _disputed()
    assert chargeback.dispute is not None
    assert (chargeback.dispute.withdrawn, chargeback.dispute.fee) == (10_000, 1_500)
    assert chargeback.net_amount == 10_000 - 320 - 10_000 - 1_500
    inquiry = _disputed(INQUIRY)
    assert inquiry.dispute is not None and inquiry.dispute.status is DisputeStatus.WARNING_NEEDS_RESPONSE
    assert inquiry.net_amount == 10_000 - 320
    # What was refunded before is not withdrawn again.
    partly = _disputed(refunded=4_000)
    assert partly.dispute is not None and partly.dispute.withdrawn == 6_000


@pytest.mark.parametrize(
    ("currency", "fee"), [("USD", 1_500), ("EUR", 2_000), ("JPY", 2_000), ("KWD", 15_000), ("CHF", 1_500)]
)
def test_the_dispute_fee_by_currency(currency: str, fee: int) -> None:
    assert fee_for(currency) == fee


def test_evidence_then_the_review_decides_by_the_words() -> None:
    state = _disputed()
    winning = {"uncategorized_text": "winning_evidence"}
    submitted = _then(state, dispute_rules.submit_evidence(state, "dp_1", winning, NOW))
    assert submitted.dispute is not None and submitted.dispute.status is DisputeStatus.UNDER_REVIEW
    assert submitted.dispute.due_at == NOW + REVIEW_PERIOD
    assert dispute_rules.submit_evidence(submitted, "dp_1", winning, NOW) == []
    assert dispute_rules.due_events(submitted, NOW + REVIEW_PERIOD - timedelta(seconds=1)) == []
    won = _then(submitted, dispute_rules.due_events(submitted, NOW + REVIEW_PERIOD))
    assert won.dispute is not None
    assert (won.dispute.status, won.dispute.reinstated, won.dispute.updated_at) == (
        DisputeStatus.WON,
        10_000,
        NOW + REVIEW_PERIOD,
    )
    assert won.net_amount == 10_000 - 320 - 1_500  # the fee is kept
    for text in ("losing_evidence", "nothing decisive"):
        answered = _then(state, dispute_rules.submit_evidence(state, "dp_1", {"uncategorized_text": text}, NOW))
        lost = _then(answered, dispute_rules.due_events(answered, NOW + REVIEW_PERIOD))
        assert lost.dispute is not None and (lost.dispute.status, lost.dispute.close_reason) == (
            DisputeStatus.LOST,
            "evidence_lost",
        )


def test_an_unanswered_dispute_is_decided_at_its_deadline() -> None:
    chargeback, inquiry = _disputed(), _disputed(INQUIRY)
    deadline = NOW + EVIDENCE_WINDOW
    lost = _then(chargeback, dispute_rules.due_events(chargeback, deadline + timedelta(days=1)))
    assert lost.dispute is not None
    assert (lost.dispute.status, lost.dispute.updated_at, lost.dispute.due_at) == (DisputeStatus.LOST, deadline, None)
    stamped = dispute_rules.due_events(inquiry, deadline, at=deadline + timedelta(hours=1))
    assert [(type(e), e.at) for e in stamped] == [(ev.DisputeClosed, deadline + timedelta(hours=1))]
    assert dispute_rules.due_events(lost, deadline + timedelta(days=30)) == []


def test_a_warning_escalates_on_losing_evidence() -> None:
    inquiry = _disputed(INQUIRY)
    answered = _then(
        inquiry, dispute_rules.submit_evidence(inquiry, "dp_1", {"uncategorized_text": "losing_evidence"}, NOW)
    )
    assert answered.dispute is not None and answered.dispute.status is DisputeStatus.WARNING_UNDER_REVIEW
    reviewed_at = NOW + REVIEW_PERIOD
    escalated = _then(answered, dispute_rules.due_events(answered, reviewed_at))
    d = escalated.dispute
    assert d is not None
    assert (d.status, d.withdrawn, d.fee, dict(d.evidence)) == (DisputeStatus.NEEDS_RESPONSE, 10_000, 1_500, {})
    assert d.due_at == reviewed_at + EVIDENCE_WINDOW and not d.charge_refundable


def test_accepting_and_the_refusals() -> None:
    state = _disputed()
    accepted = _then(state, dispute_rules.accept(state, "dp_1", NOW))
    assert accepted.dispute is not None and (accepted.dispute.status, accepted.dispute.close_reason) == (
        DisputeStatus.LOST,
        "accepted",
    )
    assert dispute_rules.accept(accepted, "dp_1", NOW) == []
    with pytest.raises(FailedPrecondition) as closed:
        dispute_rules.submit_evidence(accepted, "dp_1", {"product_description": "x"}, NOW)
    assert closed.value.reason == "DISPUTE_CLOSED"
    reviewing = _then(state, dispute_rules.submit_evidence(state, "dp_1", {"product_description": "x"}, NOW))
    with pytest.raises(FailedPrecondition) as under_review:
        dispute_rules.accept(reviewing, "dp_1", NOW)
    assert under_review.value.reason == "DISPUTE_UNDER_REVIEW"
    with pytest.raises(NotFound):
        dispute_rules.accept(state, "dp_other", NOW)
    warning = _disputed(INQUIRY)
    closed_warning = _then(warning, dispute_rules.accept(warning, "dp_1", NOW))
    assert closed_warning.dispute is not None and closed_warning.dispute.status is DisputeStatus.WARNING_CLOSED


def test_refunds_are_refused_while_a_chargeback_holds_the_money() -> None:
    chargeback = _disputed()
    with pytest.raises(FailedPrecondition) as refused:
        payment_rules.request_refund(chargeback, "re_1", 0, "", NOW)
    assert (refused.value.reason, refused.value.metadata["dispute_status"]) == ("PAYMENT_DISPUTED", "needs_response")
    inquiry = _disputed(INQUIRY)
    assert payment_rules.request_refund(inquiry, "re_1", 100, "", NOW).amount == 100


def test_the_dispute_survives_the_stored_form_and_replay() -> None:
    state = _disputed()
    answered = _then(state, dispute_rules.submit_evidence(state, "dp_1", {"product_description": "teapot"}, NOW))
    assert agg.from_dict(agg.to_dict(answered)) == answered
    assert "dispute" not in agg.to_dict(_authorized())  # a payment never disputed keeps its old form
