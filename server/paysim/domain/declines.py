"""Decline codes: Stripe's public list, each with its error-code family, a customer-facing sentence and
whether a retry can help.

Every code falls in one of three categories (the reference's hard / soft / fix-and-retry):

- ``SOFT``: the same request, unchanged, may succeed later (funds arrive, the issuer comes back online).
  Only these are ``retryable``.
- ``FIX_AND_RETRY``: something must change first (the number, expiry, CVC, postcode, PIN, amount,
  authentication, updated card details, or a call to the issuer); retrying as is will fail again.
- ``HARD``: this card will not be approved for this payment; ask for another payment method.

``message`` is safe to show the customer: codes that reveal a fraud or risk verdict (``fraudulent``,
``lost_card``, ``stolen_card``, ``pickup_card``, ``merchant_blacklist``, ``security_violation``…) show
the generic "Your card was declined." so a fraudster learns nothing; the merchant still sees the code.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class DeclineCategory(enum.StrEnum):
    SOFT = "soft"
    FIX_AND_RETRY = "fix_and_retry"
    HARD = "hard"


@dataclass(frozen=True, slots=True)
class Decline:
    """One decline code. ``error_code`` is Stripe's error-code family (``card_declined`` for most)."""

    code: str
    error_code: str
    message: str
    retryable: bool
    category: DeclineCategory


_DECLINED = "Your card was declined."
_CONTACT_ISSUER = "Your card was declined. Please contact your card issuer for more information."
_OTHER_METHOD = "Your card does not support this type of purchase. Please use another payment method."


def _soft(code: str, message: str = _DECLINED, error_code: str = "card_declined") -> Decline:
    return Decline(code, error_code, message, True, DeclineCategory.SOFT)


def _fix(code: str, message: str, error_code: str = "card_declined") -> Decline:
    return Decline(code, error_code, message, False, DeclineCategory.FIX_AND_RETRY)


def _hard(code: str, message: str = _DECLINED, error_code: str = "card_declined") -> Decline:
    return Decline(code, error_code, message, False, DeclineCategory.HARD)


_ALL: tuple[Decline, ...] = (
    # Soft: a later retry of the same card can succeed.
    _soft("approve_with_id", "The payment could not be authorized. Please try again."),
    _soft("card_velocity_exceeded", "Your card has exceeded its balance or credit limit. Please try again later."),
    _soft("do_not_honor"),
    _soft("generic_decline"),
    _soft("insufficient_funds", "Your card has insufficient funds."),
    _soft("issuer_not_available", "Your card issuer could not be reached. Please try again in a little while."),
    _soft("no_action_taken"),
    _soft(
        "processing_error",
        "An error occurred while processing your card. Please try again in a little while.",
        error_code="processing_error",
    ),
    _soft("reenter_transaction", "The payment could not be processed. Please try again."),
    _soft("try_again_later", "Your card was declined. Please try again later."),
    _soft(
        "withdrawal_count_limit_exceeded",
        "Your card has exceeded its withdrawal limit. Please try again later or use another card.",
    ),
    # Fix and retry: correct something, then try again.
    _fix(
        "authentication_required", "Your card requires authentication. Please try again and authenticate the payment."
    ),
    _fix("call_issuer", _CONTACT_ISSUER),
    _fix("expired_card", "Your card has expired.", error_code="expired_card"),
    _fix("incorrect_cvc", "Your card's security code is incorrect.", error_code="incorrect_cvc"),
    _fix("incorrect_number", "Your card number is incorrect.", error_code="incorrect_number"),
    _fix("incorrect_pin", "The PIN entered is incorrect."),
    _fix("incorrect_zip", "Your card's postal code is incorrect.", error_code="incorrect_zip"),
    _fix("invalid_amount", "The payment amount is not allowed for your card."),
    _fix("invalid_cvc", "Your card's security code is invalid.", error_code="invalid_cvc"),
    _fix("invalid_expiry_month", "Your card's expiration month is invalid.", error_code="invalid_expiry_month"),
    _fix("invalid_expiry_year", "Your card's expiration year is invalid.", error_code="invalid_expiry_year"),
    _fix("invalid_number", "Your card number is invalid.", error_code="invalid_number"),
    _fix("invalid_pin", "The PIN entered is invalid."),
    _fix("new_account_information_available", "Your card details are out of date. Please update them and try again."),
    _fix("offline_pin_required", "Your card requires a PIN. Please insert your card and enter the PIN."),
    _fix("online_or_offline_pin_required", "Your card requires a PIN. Please insert your card and enter the PIN."),
    # Hard: this card will not be approved for this payment.
    _hard("card_not_supported", _OTHER_METHOD),
    _hard("currency_not_supported", "Your card does not support this currency. Please use another payment method."),
    _hard("do_not_try_again", "Your card was declined. Please use another payment method."),
    _hard("duplicate_transaction", "A payment with the same amount and card was just made."),
    _hard("fraudulent"),
    _hard("invalid_account", "Your card or account is invalid. Please use another payment method."),
    _hard("lost_card"),
    _hard("merchant_blacklist"),
    _hard("not_permitted", _OTHER_METHOD),
    _hard("pickup_card"),
    _hard("pin_try_exceeded", "The number of PIN tries was exceeded. Please use another payment method."),
    _hard("restricted_card"),
    _hard("revocation_of_all_authorizations", _CONTACT_ISSUER),
    _hard("revocation_of_authorization", _CONTACT_ISSUER),
    _hard("security_violation"),
    _hard("service_not_allowed", _OTHER_METHOD),
    _hard("stolen_card"),
    _hard("stop_payment_order", _CONTACT_ISSUER),
    _hard("testmode_decline", "Your card was declined: a test card was used for a live payment."),
    _hard("transaction_not_allowed", _OTHER_METHOD),
)

DECLINES: Mapping[str, Decline] = MappingProxyType({d.code: d for d in sorted(_ALL, key=lambda d: d.code)})
"""Every decline code, alphabetical; read-only."""


def decline(code: str) -> Decline:
    """The decline named ``code``; ``KeyError`` for an unknown code."""
    return DECLINES[code]
