"""The one serialiser of payment events: what databases hold today reads back, and writes the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from paysim.contract import event_messages
from paysim.domain import event_codec, threeds
from paysim.domain import payment as agg
from paysim.domain.payment_events import EVENT_CLASSES, EventType, PaymentCreated, PaymentVoided

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ATTEMPT = {
    "gateway": "stripe_like",
    "operation": "authorize",
    "outcome": "approved",
    "reference": "ch_1",
    "latency_ms": 12,
    "at": AT.isoformat(),
    "detail": "",
}
DECLINE = {"code": "insufficient_funds", "error_code": "card_declined", "message": "no", "retryable": False}
CARD = {
    "brand": "visa",
    "bin": "424242",
    "last4": "4242",
    "exp_month": 12,
    "exp_year": 2031,
    "fingerprint": "f" * 32,
    "holder_name": "Ann",
}
AUTHENTICATION = threeds.Authentication(threeds.TransStatus.AUTHENTICATED, "ds_1", "05", "cavv", "", True).to_dict()
CHALLENGE = threeds.Challenge("chl_1", "https://acs", "req", "acs_1", AT, AT + timedelta(minutes=10)).to_dict()
CREATED = {
    "merchant_id": "mer_1",
    "customer_id": "cus_1",
    "amount": 1_000,
    "currency": "USD",
    "capture_method": "manual",
    "card": CARD,
    "description": "tea",
    "metadata": {"order": "7"},
    "fee_percent_bps": 290,
    "fee_fixed": 30,
}

# Every form the server has written, as the store holds it (before ``schema_version`` existed).
SCREENING = {
    "risk_level": "elevated",
    "cvc_check": "pass",
    "address_line1_check": "fail",
    "address_postal_code_check": "unchecked",
}
STORED: list[tuple[EventType, dict[str, Any]]] = [
    (EventType.CREATED, CREATED),
    (
        EventType.CREATED,
        {**CREATED, "card": {**CARD, "brand": ""}, "method": {"type": "upi", "account": "ann@bank"}},
    ),
    (EventType.CREATED, {**CREATED, "test_clock_id": "clk_1"}),
    (EventType.AUTHORIZED, {"amount": 1_000, "reference": "ch_1", "attempt": ATTEMPT}),
    (EventType.DECLINED, {"decline": DECLINE, "attempt": ATTEMPT}),
    (EventType.FAILED, {"reason": "gateway_error", "attempt": ATTEMPT}),
    (EventType.FAILED, {"reason": "processing_interrupted"}),
    (EventType.ATTEMPT_FAILED, {"attempt": ATTEMPT}),
    (EventType.CAPTURE_REQUESTED, {"amount": 600}),
    (EventType.CAPTURED, {"amount": 600, "fee": 47, "attempt": ATTEMPT}),
    (EventType.CAPTURED, {"amount": 1_000, "fee": 59}),
    (EventType.CAPTURE_FAILED, {"reason": "timeout", "attempt": ATTEMPT}),
    (EventType.CAPTURE_FAILED, {"reason": "capture_interrupted"}),
    (EventType.VOID_REQUESTED, {}),
    (EventType.VOIDED, {"attempt": ATTEMPT}),
    (EventType.VOID_FAILED, {"reason": "void_interrupted"}),
    (EventType.REFUND_REQUESTED, {"refund_id": "re_1", "amount": 100, "reason": "gift"}),
    (EventType.REFUND_PENDING, {"refund_id": "re_1", "settles_at": "2030-01-02T03:04:05+00:00", "attempt": ATTEMPT}),
    (EventType.REFUND_SUCCEEDED, {"refund_id": "re_1", "attempt": ATTEMPT}),
    (EventType.REFUND_SUCCEEDED, {"refund_id": "re_1", "attempt": ATTEMPT, "fails_at": "2030-01-02T03:04:05+00:00"}),
    (EventType.REFUND_SUCCEEDED, {"refund_id": "re_1"}),
    (EventType.REFUND_FAILED, {"refund_id": "re_1", "reason": "declined", "attempt": ATTEMPT}),
    (EventType.REFUND_FAILED, {"refund_id": "re_1", "reason": "refund_interrupted"}),
    (EventType.THREE_DS_CHALLENGE_REQUIRED, {"authentication": AUTHENTICATION, "challenge": CHALLENGE}),
    (EventType.THREE_DS_AUTHENTICATED, {"authentication": AUTHENTICATION}),
    (EventType.THREE_DS_NOT_SUPPORTED, {"authentication": AUTHENTICATION}),
    (EventType.THREE_DS_FAILED, {"authentication": AUTHENTICATION, "reason": "wrong_code"}),
    (EventType.THREE_DS_FAILED, {"authentication": AUTHENTICATION, "decline": DECLINE}),
    (EventType.THREE_DS_CHALLENGE_EXPIRED, {"authentication": AUTHENTICATION, "reason": "expired"}),
    (EventType.AUTHORIZATION_EXPIRED, {"reason": "authorization_expired"}),
    (
        EventType.DISPUTE_CREATED,
        {
            "dispute_id": "dp_1",
            "kind": "chargeback",
            "reason": "fraudulent",
            "status": "needs_response",
            "amount": 1_000,
            "evidence_due_by": "2026-03-08T12:00:00+00:00",
            "test_clock_id": None,
        },
    ),
    (
        EventType.DISPUTE_UPDATED,
        {
            "dispute_id": "dp_1",
            "status": "under_review",
            "evidence": {"uncategorized_text": "winning_evidence"},
            "evidence_due_by": "2026-03-08T12:00:00+00:00",
            "review_due_at": "2026-03-01T12:05:00+00:00",
        },
    ),
    (EventType.DISPUTE_CLOSED, {"dispute_id": "dp_1", "status": "won", "reason": "evidence_won"}),
    (EventType.DISPUTE_FUNDS_WITHDRAWN, {"dispute_id": "dp_1", "amount": 1_000, "fee": 1_500}),
    (EventType.DISPUTE_FUNDS_REINSTATED, {"dispute_id": "dp_1", "amount": 1_000}),
    # Since cards say where they were issued and how they are funded.
    (EventType.CREATED, {**CREATED, "card": {**CARD, "country": "BR", "funding": "debit"}}),
    # Since payments are screened for fraud (domain/radar.py).
    (EventType.CREATED, {**CREATED, "card": {**CARD, **SCREENING}}),
    (EventType.DECLINED, {"decline": {**DECLINE, "code": "incorrect_cvc", "blocked_by": "cvc_check_failed"}}),
]


def test_every_event_type_has_its_class_and_a_stored_form_here() -> None:
    assert set(EVENT_CLASSES) == set(EventType)
    assert {kind for kind, _ in STORED} == set(EventType)


@pytest.mark.parametrize(("kind", "data"), STORED, ids=[f"{k.value}-{i}" for i, (k, _) in enumerate(STORED)])
def test_a_stored_event_reads_as_its_class_and_writes_back_the_same_keys(kind: EventType, data: dict[str, Any]) -> None:
    event = event_codec.from_stored(kind.value, data, AT)
    assert type(event) is EVENT_CLASSES[kind] and event.type is kind and event.at == AT
    assert event_codec.to_data(event) == {**data, event_codec.SCHEMA_VERSION_KEY: event_codec.SCHEMA_VERSION}
    assert event_codec.from_stored(kind.value, event_codec.to_data(event), AT) == event


def test_older_rows_without_optional_keys_still_read() -> None:
    lean_card = {k: v for k, v in CARD.items() if k != "holder_name"}
    lean = {k: v for k, v in CREATED.items() if k not in ("customer_id", "description", "metadata")}
    created = event_codec.from_stored("payment.created", {**lean, "card": lean_card}, AT)
    assert isinstance(created, PaymentCreated)
    assert (created.customer_id, created.description, created.card.holder_name, created.method_type) == (
        "",
        "",
        "",
        "card",
    )
    assert (created.card.country, created.card.funding) == ("", "unknown")
    assert (created.card.risk_level, created.card.cvc_check, created.card.address_postal_code_check) == ("", "", "")
    lean_attempt = {k: v for k, v in ATTEMPT.items() if k not in ("reference", "latency_ms", "detail")}
    voided = event_codec.from_stored("payment.voided", {"attempt": lean_attempt}, AT)
    assert isinstance(voided, PaymentVoided) and voided.attempt is not None
    assert (voided.attempt.reference, voided.attempt.latency_ms) == ("", 0)


def test_an_unknown_schema_version_or_type_is_refused() -> None:
    with pytest.raises(ValueError, match="schema version 2"):
        event_codec.from_stored("payment.void_requested", {event_codec.SCHEMA_VERSION_KEY: 2}, AT)
    with pytest.raises(ValueError):
        event_codec.from_stored("payment.teleported", {}, AT)


def test_stored_events_replay_through_the_aggregate() -> None:
    history = [
        (EventType.CREATED, CREATED),
        (EventType.AUTHORIZED, {"amount": 1_000, "reference": "ch_1", "attempt": ATTEMPT}),
        (EventType.CAPTURE_REQUESTED, {"amount": 600}),
        (EventType.CAPTURED, {"amount": 600, "fee": 47, "attempt": {**ATTEMPT, "operation": "capture"}}),
        (EventType.REFUND_REQUESTED, {"refund_id": "re_1", "amount": 600, "reason": "gift"}),
        (EventType.REFUND_SUCCEEDED, {"refund_id": "re_1", "attempt": {**ATTEMPT, "operation": "refund"}}),
    ]
    state = agg.replay("pay_1", [event_codec.from_stored(k.value, d, AT) for k, d in history])
    assert (state.status, state.captured_amount, state.refunded_amount, state.fee_amount) == (
        agg.Status.REFUNDED,
        600,
        600,
        47,
    )
    assert state.gateway == "stripe_like" and len(state.attempts) == 3 and state.version == 6
    assert agg.from_dict(agg.to_dict(state)) == state


@pytest.mark.parametrize(("kind", "data"), STORED, ids=[f"{k.value}-{i}" for i, (k, _) in enumerate(STORED)])
def test_every_stored_event_renders_as_its_wire_message(kind: EventType, data: dict[str, Any]) -> None:
    event = event_codec.from_stored(kind.value, data, AT)
    message = event_messages.payment_event(
        event_id="evt_1",
        payment_id="pay_1",
        merchant_id="mer_1",
        payment_version=2,
        sequence=9,
        created_at=AT,
        event=event,
    )
    assert message.type == kind.value and message.WhichOneof("data") == event_messages.data_field(kind)
    assert message.create_time.ToDatetime(tzinfo=UTC) == AT
    if kind is EventType.CREATED:
        created = message.payment_created
        assert created.HasField("card") == ("method" not in data) and created.amount_minor == 1_000
