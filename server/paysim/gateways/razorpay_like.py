"""A Razorpay-flavoured simulated processor (in-process, no network).

Character:

- Ids: payments ``pay_`` + 14 base62 (the authorization reference); refunds ``rfnd_`` + 14. A capture
  acts on the payment itself, so its reference is the same ``pay_`` id. Razorpay has no void: an
  uncaptured payment is released by a full refund, so a void's reference is a ``rfnd_`` id.
- Methods: cards and UPI (:class:`~paysim.gateways.flavoured.Upi`). Test VPAs: ``success@razorpay``
  approves; ``failure@razorpay`` declines with ``BAD_REQUEST_ERROR``/``payment_failed`` → paysim
  ``generic_decline`` (a soft decline: the customer's bank refused this collect request); any other VPA
  declines with the UPI-only ``BAD_REQUEST_ERROR``/``invalid_vpa`` → paysim ``invalid_account``. The VPA
  alone decides a UPI payment (the magic-amount lever does not apply).
- Vocabulary: an error ``code`` (``BAD_REQUEST_ERROR`` for declines, ``GATEWAY_ERROR`` where the bank or
  network could not answer) with a ``reason`` (``payment_failed``, ``card_declined``,
  ``insufficient_funds``, ``card_expired``, ``incorrect_cvv`` …) that tells declines apart. Statuses:
  ``authorized``, ``captured``, ``failed``; refunds ``processed``. Refusals: ``BAD_REQUEST_ERROR`` with
  ``payment_method_not_supported`` or ``invalid_id``.
"""

from __future__ import annotations

import re

from paysim.domain import ids
from paysim.domain.declines import DECLINES
from paysim.domain.payment_methods import MethodType
from paysim.gateways.base import METHOD_NOT_SUPPORTED, Card, Outcome, Upi
from paysim.gateways.engine import Decision
from paysim.gateways.flavoured import (
    FORCED_ERROR,
    DeclineTable,
    FlavouredGateway,
    FlavouredResult,
    NativeCode,
    NativeDetail,
    PaymentRequest,
)

ID_BODY = 14
BAD_REQUEST = "BAD_REQUEST_ERROR"
GATEWAY = "GATEWAY_ERROR"

SUCCESS_VPA = "success@razorpay"
FAILURE_VPA = "failure@razorpay"
FAILURE_VPA_DECLINE = "generic_decline"
INVALID_VPA = NativeCode(BAD_REQUEST, "invalid_vpa")
"""The UPI-only native decline for a VPA that is neither test VPA (→ ``invalid_account``)."""

# paysim decline code → Razorpay reason; the code is BAD_REQUEST_ERROR unless listed in _GATEWAY_ERRORS.
_REASONS: dict[str, str] = {
    "approve_with_id": "approval_required",
    "authentication_required": "authentication_required",
    "call_issuer": "contact_issuer",
    "card_not_supported": "card_not_supported",
    "card_velocity_exceeded": "transaction_limit_exceeded",
    "currency_not_supported": "currency_not_supported",
    "do_not_honor": "card_declined",
    "do_not_try_again": "do_not_retry",
    "duplicate_transaction": "duplicate_payment",
    "expired_card": "card_expired",
    "fraudulent": "payment_risk_check_failed",
    "generic_decline": "payment_failed",
    "incorrect_cvc": "incorrect_cvv",
    "incorrect_number": "incorrect_card_number",
    "incorrect_pin": "incorrect_pin",
    "incorrect_zip": "address_verification_failed",
    "insufficient_funds": "insufficient_funds",
    "invalid_account": "invalid_account",
    "invalid_amount": "invalid_amount",
    "invalid_cvc": "invalid_cvv",
    "invalid_expiry_month": "invalid_expiry_month",
    "invalid_expiry_year": "invalid_expiry_year",
    "invalid_number": "invalid_card_number",
    "invalid_pin": "invalid_pin",
    "issuer_not_available": "bank_technical_error",
    "lost_card": "card_reported_lost",
    "merchant_blacklist": "merchant_blocked",
    "new_account_information_available": "card_details_updated",
    "no_action_taken": "payment_not_processed",
    "not_permitted": "transaction_not_permitted",
    "offline_pin_required": "offline_pin_required",
    "online_or_offline_pin_required": "pin_required",
    "pickup_card": "card_pickup",
    "pin_try_exceeded": "pin_attempts_exceeded",
    "processing_error": "gateway_technical_error",
    "reenter_transaction": "retry_payment",
    "restricted_card": "card_restricted",
    "revocation_of_all_authorizations": "all_authorizations_revoked",
    "revocation_of_authorization": "authorization_revoked",
    "security_violation": "security_violation",
    "service_not_allowed": "card_service_not_allowed",
    "stolen_card": "card_reported_stolen",
    "stop_payment_order": "stop_payment_instruction",
    "testmode_decline": "test_card_in_live_mode",
    "transaction_not_allowed": "transaction_not_allowed",
    "try_again_later": "bank_unavailable",
    "withdrawal_count_limit_exceeded": "transaction_count_limit_exceeded",
}
_GATEWAY_ERRORS = frozenset({"issuer_not_available", "processing_error", "try_again_later"})

RAZORPAY_DECLINES = DeclineTable(
    {
        code: NativeCode(GATEWAY if code in _GATEWAY_ERRORS else BAD_REQUEST, reason)
        for code, reason in _REASONS.items()
    },
    extra={INVALID_VPA: "invalid_account"},
)
"""paysim decline code → Razorpay (error code, reason)."""


def _razorpay_id(prefix: str) -> str:
    return f"{prefix}_{ids.random_token(ID_BODY)}"


class RazorpayLikeGateway(FlavouredGateway):
    name = "razorpay"
    methods = frozenset({MethodType.CARD, MethodType.UPI})
    declines = RAZORPAY_DECLINES
    reference_pattern = re.compile(rf"pay_[A-Za-z0-9]{{{ID_BODY}}}")

    def _decide_method(self, request: PaymentRequest) -> tuple[Decision, NativeCode | None]:
        method = request.method
        assert isinstance(method, Upi)  # the only non-card method Razorpay takes
        vpa = method.vpa.strip().lower()
        if vpa == SUCCESS_VPA:
            return Decision(Outcome.APPROVED, "", f"UPI {SUCCESS_VPA}: approves"), None
        if vpa == FAILURE_VPA:
            return Decision(Outcome.DECLINED, FAILURE_VPA_DECLINE, f"UPI {FAILURE_VPA}: declined"), None
        return Decision(Outcome.DECLINED, "invalid_account", "UPI: unknown VPA"), INVALID_VPA

    def _authorization(self, request: PaymentRequest, decision: Decision, native: NativeCode | None) -> FlavouredResult:
        payment = _razorpay_id("pay")
        if not decision.approved:
            code = native if native is not None else self.declines.to_native(decision.decline_code)
            paysim_code = self.declines.to_paysim(code)
            text = DECLINES[paysim_code].message if isinstance(request.method, Card) else decision.description
            return self._declined(decision, native, payment, "failed", text)
        status = "captured" if request.capture else "authorized"
        return self._approved(payment, status, decision.description)

    def _capture(self, reference: str, amount: int) -> FlavouredResult:
        return self._approved(reference, "captured", f"captured {amount} on {reference}")

    def _void(self, reference: str) -> FlavouredResult:
        return self._approved(_razorpay_id("rfnd"), "processed", f"released {reference}", object_id=reference)

    def _refund(self, reference: str, amount: int) -> FlavouredResult:
        return self._approved(
            _razorpay_id("rfnd"), "processed", f"refunded {amount} of {reference}", object_id=reference
        )

    def _rejection(self, error_reason: str, text: str) -> NativeDetail:
        if error_reason == FORCED_ERROR:
            return NativeDetail(self.name, "SERVER_ERROR", "server_error", status="failed", description=text)
        reason = "payment_method_not_supported" if error_reason == METHOD_NOT_SUPPORTED else "invalid_id"
        return NativeDetail(self.name, BAD_REQUEST, reason, status="failed", description=text)
