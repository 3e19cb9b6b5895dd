"""A gateway's answers → the payment events that record them. Pure: the clock's reading is passed in."""

from __future__ import annotations

from datetime import datetime

from paysim.domain import payment, payment_rules
from paysim.domain.declines import DECLINES
from paysim.domain.errors import Unavailable
from paysim.domain.payment_events import (
    PaymentAttemptFailed,
    PaymentAuthorized,
    PaymentCaptureFailed,
    PaymentDeclined,
    PaymentEvent,
    PaymentFailed,
    PaymentVoidFailed,
)
from paysim.gateways.base import GatewayResult, Outcome
from paysim.services.routing import SKIPPED, Call, Routed

NO_GATEWAY_AVAILABLE = "no_gateway_available"


def attempt_of(gateway: str, operation: str, result: GatewayResult, at: datetime) -> payment.Attempt:
    detail = result.decline_code or (result.message if result.outcome is Outcome.ERROR else "")
    return payment.Attempt(
        gateway,
        operation,
        result.outcome.value,
        result.reference,
        result.latency_ms,
        at,
        detail,
        chaos=result.chaos,
        simulated_by=result.simulated_by,
    )


def call_attempt(call: Call, operation: str) -> payment.Attempt:
    if call.skipped:
        return payment.Attempt(call.gateway, operation, SKIPPED, "", 0, call.at, call.result.message)
    return attempt_of(call.gateway, operation, call.result, call.at)


def failed_attempts(routed: Routed, operation: str) -> list[PaymentEvent]:
    """An event per attempt that gave no answer (all of them when none did)."""
    answered = 0 if routed.failed else 1
    calls = routed.calls[: len(routed.calls) - answered]
    return [PaymentAttemptFailed(at=c.at, attempt=call_attempt(c, operation)) for c in calls]


def decline_info(code: str) -> payment.DeclineInfo:
    d = DECLINES.get(code) or DECLINES["generic_decline"]
    return payment.DeclineInfo(code=d.code, error_code=d.error_code, message=d.message, retryable=d.retryable)


def authorization_events(
    state: payment.PaymentState, result: GatewayResult, capture: bool, gateway: str, at: datetime
) -> list[PaymentEvent]:
    """What a gateway's answer to an authorization makes of the payment (with ``capture``, an
    approval captures the whole amount at once)."""
    attempt = attempt_of(gateway, "authorize", result, at)
    if result.outcome is Outcome.APPROVED:
        authorized = PaymentAuthorized(at=at, amount=state.amount, reference=result.reference, attempt=attempt)
        if capture:
            return [authorized, payment_rules.captured_event(state, state.amount, None, at)]
        return [authorized]
    if result.outcome is Outcome.DECLINED:
        return [PaymentDeclined(at=at, decline=decline_info(result.decline_code), attempt=attempt)]
    return [PaymentFailed(at=at, reason=result.message or "gateway_error", attempt=attempt)]


def operation_failed(operation: str, routed: Routed) -> PaymentCaptureFailed | PaymentVoidFailed:
    """A capture or void no gateway carried out: the payment stays authorized."""
    last = routed.calls[-1]
    attempt = call_attempt(last, operation)
    reason = last.result.message or last.result.decline_code
    failure = PaymentCaptureFailed if operation == "capture" else PaymentVoidFailed
    return failure(at=attempt.at, reason=reason, attempt=attempt)


def interrupted(operation: str, at: datetime) -> PaymentCaptureFailed | PaymentVoidFailed:
    """A capture or void whose outcome the gateway does not know (the process died during it)."""
    failure = PaymentCaptureFailed if operation == "capture" else PaymentVoidFailed
    return failure(at=at, reason=f"{operation}_interrupted")


def no_gateway(operation: str, routed: Routed, payment_id: str) -> Unavailable:
    """The error for an operation no gateway carried out (its caller releases the request's key,
    so that a retry asks again)."""
    skipped_only = bool(routed.calls) and all(c.skipped for c in routed.calls)
    return Unavailable(
        f"no gateway could {operation} the payment; retry later",
        reason="CIRCUIT_OPEN" if skipped_only else "GATEWAY_UNAVAILABLE",
        retry_after_seconds=routed.retry_after_seconds,
        metadata={
            "payment_id": payment_id,
            "operation": operation,
            "gateways": ",".join(c.gateway for c in routed.calls),
        },
    )
