"""The pure rules of authorization expiry: when an authorization is due, what the event does to the
payment, and the capture it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paysim.domain import payment as agg
from paysim.domain import payment_rules
from paysim.domain.errors import FailedPrecondition
from paysim.domain.payment_events import PaymentAuthorizationExpired, PaymentAuthorized, PaymentCaptureRequested

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DUE = NOW + payment_rules.AUTHORIZATION_VALIDITY


def _authorized() -> agg.PaymentState:
    new = payment_rules.NewPayment(
        merchant_id="mer_1",
        amount=1_000,
        currency="USD",
        pan="4242424242424242",
        card=agg.Card("visa", "424242", "4242", 12, 2031, "f" * 32, "Ann"),
        customer_id="",
        description="",
        metadata={},
        capture_method=agg.CaptureMethod.MANUAL,
    )
    created = payment_rules.created_event(new, 290, 30, NOW)
    return agg.replay("pay_1", [created, PaymentAuthorized(at=NOW, amount=1_000)])


def test_an_authorization_is_due_exactly_at_the_end_of_its_validity() -> None:
    state = _authorized()
    assert payment_rules.expire_authorization(state, DUE - timedelta(microseconds=1)) is None
    event = payment_rules.expire_authorization(state, DUE)
    assert event == PaymentAuthorizationExpired(at=DUE, reason="authorization_expired")
    expired = agg.apply(state, event)
    assert (expired.status, expired.failure_reason, expired.updated_at) == (
        agg.Status.VOIDED,
        "authorization_expired",
        DUE,
    )
    assert agg.from_dict(agg.to_dict(expired)) == expired
    assert payment_rules.expire_authorization(expired, DUE) is None  # once


def test_an_authorization_with_a_call_in_flight_or_captured_is_not_expired() -> None:
    state = _authorized()
    capturing = agg.apply(state, PaymentCaptureRequested(at=NOW, amount=1_000))
    assert payment_rules.expire_authorization(capturing, DUE) is None
    captured = agg.apply(capturing, payment_rules.captured_event(capturing, 1_000, None, NOW))
    assert payment_rules.expire_authorization(captured, DUE + timedelta(days=30)) is None


@pytest.mark.parametrize("swept", [True, False])
def test_capture_after_expiry_is_refused_with_a_stable_reason(swept: bool) -> None:
    state = _authorized()
    if swept:
        expiry = payment_rules.expire_authorization(state, DUE)
        assert expiry is not None
        state = agg.apply(state, expiry)
    with pytest.raises(FailedPrecondition) as caught:
        payment_rules.request_capture(state, 0, DUE)
    assert caught.value.reason == "AUTHORIZATION_EXPIRED"
    assert caught.value.metadata == {"payment_id": "pay_1", "expire_time": DUE.isoformat()}
    assert payment_rules.request_capture(_authorized(), 0, DUE - timedelta(seconds=1)).amount == 1_000
