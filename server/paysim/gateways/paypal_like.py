"""A PayPal-flavoured simulated processor (in-process, no network).

Character:

- Ids: the authorization reference is an order ``PAYID-`` + 24 uppercase alphanumerics; captures,
  authorizations and refunds are 17 uppercase alphanumerics (like ``5O190127TN364715T``). An approved
  authorization names its capture (``capture=True``) or authorization id in ``native.object_id``; a
  capture's reference is a new capture id, a void's the authorization id, a refund's a refund id.
- Methods: cards and PayPal wallets (:class:`~paysim.gateways.flavoured.PayPalWallet`, by email).
  A wallet payment follows the magic-amount lever (amount 1,009,995 → ``insufficient_funds`` …) and
  otherwise approves; an email that is not ``local@domain.tld`` declines with the wallet-only native
  issue ``PAYER_ACCOUNT_RESTRICTED`` → paysim ``invalid_account``.
- Vocabulary: a decline is an *issue* (``INSTRUMENT_DECLINED``, ``INSUFFICIENT_FUNDS``, ``CARD_EXPIRED``,
  ``TRANSACTION_REFUSED``, ``TRANSACTION_LIMIT_EXCEEDED``, ``CARD_TYPE_NOT_SUPPORTED``,
  ``CURRENCY_NOT_SUPPORTED``) plus the processor ``response_code`` that tells declines apart (PayPal's
  card processor codes: ``5120`` INSUFFICIENT_FUNDS, ``0500`` DO_NOT_HONOR, ``9520`` LOST_OR_STOLEN …;
  its name is in ``native.description``). Where PayPal has no distinct code for a paysim decline, the
  table uses a paysim extension code ``PSnn`` (documented in :data:`PAYPAL_RESPONSE_CODES`) so the map
  still round-trips. Statuses: ``COMPLETED`` (captured), ``CREATED`` (authorized), ``DECLINED``,
  ``VOIDED``. Refusals: ``PAYMENT_SOURCE_NOT_SUPPORTED`` and ``INVALID_RESOURCE_ID``.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from types import MappingProxyType

from paysim.domain.payment_methods import MethodType
from paysim.gateways.base import METHOD_NOT_SUPPORTED, Outcome, PayPalWallet
from paysim.gateways.engine import Decision, amount_decision
from paysim.gateways.flavoured import (
    FORCED_ERROR,
    DeclineTable,
    FlavouredGateway,
    FlavouredResult,
    NativeCode,
    NativeDetail,
    PaymentRequest,
)

_UPPER_ALNUM = string.ascii_uppercase + string.digits
ORDER_BODY = 24
OBJECT_ID_LENGTH = 17

_DECLINED = "INSTRUMENT_DECLINED"
_REFUSED = "TRANSACTION_REFUSED"
_LIMIT = "TRANSACTION_LIMIT_EXCEEDED"

# paysim decline code → (issue, processor response code, response code name)
_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("approve_with_id", _DECLINED, "0100", "REFERRAL"),
    ("authentication_required", _DECLINED, "5650", "DECLINED_SCA_REQUIRED"),
    ("call_issuer", _DECLINED, "9530", "HOLD_CALL_CENTER"),
    ("card_not_supported", "CARD_TYPE_NOT_SUPPORTED", "PPCT", "CARD_TYPE_UNSUPPORTED"),
    ("card_velocity_exceeded", _LIMIT, "PPAX", "AMOUNT_EXCEEDED"),
    ("currency_not_supported", "CURRENCY_NOT_SUPPORTED", "PPUC", "CURRENCY_CODE_UNSUPPORTED"),
    ("do_not_honor", _DECLINED, "0500", "DO_NOT_HONOR"),
    ("do_not_try_again", _DECLINED, "PPRN", "REATTEMPT_NOT_PERMITTED"),
    ("duplicate_transaction", _REFUSED, "5200", "DUPLICATE_TRANSACTION"),
    ("expired_card", "CARD_EXPIRED", "5400", "EXPIRED_CARD"),
    ("fraudulent", _REFUSED, "9500", "SUSPECTED_FRAUD"),
    ("generic_decline", _DECLINED, "5100", "GENERIC_DECLINE"),
    ("incorrect_cvc", _DECLINED, "5110", "CVV2_FAILURE"),
    ("incorrect_number", _DECLINED, "1330", "INVALID_ACCOUNT"),
    ("incorrect_pin", _DECLINED, "5500", "INCORRECT_PIN_REENTER"),
    ("incorrect_zip", _DECLINED, "5170", "AVS_FAILURE"),
    ("insufficient_funds", "INSUFFICIENT_FUNDS", "5120", "INSUFFICIENT_FUNDS"),
    ("invalid_account", _DECLINED, "0390", "ACCOUNT_NOT_FOUND"),
    ("invalid_amount", _DECLINED, "1310", "INVALID_AMOUNT"),
    ("invalid_cvc", _DECLINED, "1382", "INVALID_CARD_VERIFICATION_VALUE"),
    ("invalid_expiry_month", _DECLINED, "1380", "INVALID_EXPIRATION"),
    ("invalid_expiry_year", _DECLINED, "PPEX", "EXPIRY_DATE"),
    ("invalid_number", _DECLINED, "7800", "BIN_ERROR"),
    ("invalid_pin", _DECLINED, "5130", "INVALID_PIN"),
    ("issuer_not_available", _DECLINED, "5920", "ISSUER_NOT_AVAILABLE_RETRIABLE"),
    ("lost_card", _REFUSED, "9520", "LOST_OR_STOLEN"),
    ("merchant_blacklist", _REFUSED, "PS06", "MERCHANT_BLOCKLIST"),
    ("new_account_information_available", _DECLINED, "5950", "DECLINED_DUE_TO_UPDATED_ACCOUNT"),
    ("no_action_taken", _DECLINED, "1393", "TRANSACTION_CANNOT_BE_COMPLETED"),
    ("not_permitted", _REFUSED, "5700", "TRANSACTION_NOT_PERMITTED"),
    ("offline_pin_required", _DECLINED, "7900", "PIN_ERROR"),
    ("online_or_offline_pin_required", _DECLINED, "PS02", "PIN_REQUIRED"),
    ("pickup_card", _REFUSED, "5150", "PICKUP_CARD_SPECIAL_CONDITIONS"),
    ("pin_try_exceeded", _DECLINED, "5135", "DECLINED_PIN_TRY_EXCEEDED"),
    ("processing_error", _DECLINED, "0960", "SYSTEM_MALFUNCTION"),
    ("reenter_transaction", _DECLINED, "9100", "DECLINED_PLEASE_RETRY"),
    ("restricted_card", _REFUSED, "5180", "INVALID_OR_RESTRICTED_CARD"),
    ("revocation_of_all_authorizations", _REFUSED, "PS03", "REVOCATION_OF_ALL_AUTHORIZATIONS"),
    ("revocation_of_authorization", _REFUSED, "PS04", "REVOCATION_OF_AUTHORIZATION"),
    ("security_violation", _REFUSED, "9510", "SECURITY_VIOLATION"),
    ("service_not_allowed", _REFUSED, "PPTT", "TRANSACTION_TYPE_UNSUPPORTED"),
    ("stolen_card", _REFUSED, "PS01", "STOLEN_CARD"),
    ("stop_payment_order", _REFUSED, "0R00", "CANCELLED_PAYMENT"),
    ("testmode_decline", _DECLINED, "PS05", "TESTMODE_DECLINE"),
    ("transaction_not_allowed", _REFUSED, "5210", "INVALID_TRANSACTION"),
    ("try_again_later", _DECLINED, "8220", "SYSTEM_UNAVAILABLE"),
    ("withdrawal_count_limit_exceeded", _LIMIT, "5710", "TX_ATTEMPTS_EXCEED_LIMIT"),
)

WALLET_RESTRICTED = NativeCode("PAYER_ACCOUNT_RESTRICTED")
"""The wallet-only native decline for an unusable payer email (→ ``invalid_account``)."""

PAYPAL_DECLINES = DeclineTable(
    {code: NativeCode(issue, response) for code, issue, response, _ in _TABLE},
    extra={WALLET_RESTRICTED: "invalid_account"},
)
"""paysim decline code → PayPal (issue, processor response code)."""

PAYPAL_RESPONSE_CODES: Mapping[str, str] = MappingProxyType({response: name for _, _, response, name in _TABLE})
"""Processor response code → its name. ``PSnn`` codes are paysim extensions where PayPal has no distinct
code (a stolen card, PIN required, authorization revocations, test-mode decline, merchant blocklist)."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _upper_id(length: int) -> str:
    return "".join(secrets.choice(_UPPER_ALNUM) for _ in range(length))


def _order_id() -> str:
    return f"PAYID-{_upper_id(ORDER_BODY)}"


def _object_id() -> str:
    return _upper_id(OBJECT_ID_LENGTH)


class PayPalLikeGateway(FlavouredGateway):
    name = "paypal"
    methods = frozenset({MethodType.CARD, MethodType.PAYPAL_WALLET})
    declines = PAYPAL_DECLINES
    reference_pattern = re.compile(rf"PAYID-[A-Z0-9]{{{ORDER_BODY}}}")

    def _decide_method(self, request: PaymentRequest) -> tuple[Decision, NativeCode | None]:
        method = request.method
        assert isinstance(method, PayPalWallet)  # the only non-card method PayPal takes
        if not _EMAIL.fullmatch(method.email):
            unusable = Decision(Outcome.DECLINED, "invalid_account", "the payer's PayPal account cannot pay")
            return unusable, WALLET_RESTRICTED
        decision = amount_decision(request.amount)
        if decision.approved:
            return Decision(Outcome.APPROVED, "", "PayPal wallet: approves"), None
        return decision, None

    def _authorization(self, request: PaymentRequest, decision: Decision, native: NativeCode | None) -> FlavouredResult:
        order = _order_id()
        if not decision.approved:
            code = native if native is not None else self.declines.to_native(decision.decline_code)
            name = PAYPAL_RESPONSE_CODES.get(code.reason, code.code)
            return self._declined(decision, native, order, "DECLINED", name)
        status = "COMPLETED" if request.capture else "CREATED"
        return self._approved(order, status, decision.description, object_id=_object_id())

    def _capture(self, reference: str, amount: int) -> FlavouredResult:
        return self._approved(_object_id(), "COMPLETED", f"captured {amount} on {reference}", object_id=reference)

    def _void(self, reference: str) -> FlavouredResult:
        authorization = self._authorization_of(reference)
        auth_id = authorization.native.object_id if authorization and authorization.native else _object_id()
        return self._approved(auth_id, "VOIDED", f"voided {reference}", object_id=reference)

    def _refund(self, reference: str, amount: int) -> FlavouredResult:
        return self._approved(_object_id(), "COMPLETED", f"refunded {amount} of {reference}", object_id=reference)

    def _rejection(self, error_reason: str, text: str) -> NativeDetail:
        if error_reason == FORCED_ERROR:
            return NativeDetail(self.name, "INTERNAL_SERVICE_ERROR", status="INTERNAL_SERVER_ERROR", description=text)
        issue = "PAYMENT_SOURCE_NOT_SUPPORTED" if error_reason == METHOD_NOT_SUPPORTED else "INVALID_RESOURCE_ID"
        return NativeDetail(self.name, issue, status="UNPROCESSABLE_ENTITY", description=text)
