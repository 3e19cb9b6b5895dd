"""A Stripe-flavoured simulated processor (in-process, no network).

Character:

- Ids: a PaymentIntent ``pi_`` + 24 base62 is the authorization reference; its charge ``ch_`` + 24 is in
  ``native.object_id`` and is the capture's reference; a void cancels the intent (reference: the
  ``pi_``); refunds are ``re_`` + 24.
- Methods: cards only.
- Vocabulary: paysim's decline codes *are* Stripe's public list, so the native code is Stripe's error
  ``code`` (the family: ``card_declined``, ``expired_card``, ``incorrect_cvc``, ``processing_error``…) with
  the ``decline_code`` as the reason; the table is the identity on ``decline_code``. Native statuses:
  ``requires_capture`` / ``succeeded`` / ``requires_payment_method`` (declined) / ``canceled``; refunds
  ``succeeded``. Refusals: ``payment_method_not_available`` (a method it does not take) and
  ``resource_missing`` (an unknown reference).
"""

from __future__ import annotations

import re

from paysim.domain import ids
from paysim.domain.declines import DECLINES
from paysim.domain.payment_methods import MethodType
from paysim.gateways.base import METHOD_NOT_SUPPORTED
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

ID_BODY = 24

STRIPE_DECLINES = DeclineTable({code: NativeCode(d.error_code, code) for code, d in DECLINES.items()})
"""paysim decline code → Stripe (error code, decline_code)."""


def _stripe_id(prefix: str) -> str:
    return f"{prefix}_{ids.random_token(ID_BODY)}"


class StripeLikeGateway(FlavouredGateway):
    name = "stripe"
    methods = frozenset({MethodType.CARD})
    declines = STRIPE_DECLINES
    reference_pattern = re.compile(rf"pi_[A-Za-z0-9]{{{ID_BODY}}}")

    def _authorization(self, request: PaymentRequest, decision: Decision, native: NativeCode | None) -> FlavouredResult:
        intent, charge = _stripe_id("pi"), _stripe_id("ch")
        if not decision.approved:
            text = DECLINES[decision.decline_code].message
            return self._declined(decision, native, intent, "requires_payment_method", text, object_id=charge)
        status = "succeeded" if request.capture else "requires_capture"
        return self._approved(intent, status, decision.description, object_id=charge)

    def _capture(self, reference: str, amount: int) -> FlavouredResult:
        authorization = self._authorization_of(reference)
        charge = authorization.native.object_id if authorization and authorization.native else _stripe_id("ch")
        return self._approved(charge, "succeeded", f"captured {amount} on {reference}", object_id=reference)

    def _void(self, reference: str) -> FlavouredResult:
        return self._approved(reference, "canceled", f"canceled {reference}")

    def _refund(self, reference: str, amount: int) -> FlavouredResult:
        return self._approved(_stripe_id("re"), "succeeded", f"refunded {amount} of {reference}", object_id=reference)

    def _rejection(self, error_reason: str, text: str) -> NativeDetail:
        if error_reason == FORCED_ERROR:
            return NativeDetail(self.name, "api_error", status="api_error", description=text)
        code = "payment_method_not_available" if error_reason == METHOD_NOT_SUPPORTED else "resource_missing"
        return NativeDetail(self.name, code, status="invalid_request_error", description=text)
