"""The deterministic test-scenario catalogue: which outcome a payment is forced into, and why.

Three levers, checked in this order (the first that matches wins):

1. **Cardholder name** ``decline <code>`` (case-insensitive, surrounding and repeated spaces ignored) for any
   code in :data:`paysim.domain.declines.DECLINES` → that decline, with any card. An unknown code is no
   trigger.
2. **Magic amount**: ``amount_minor`` = 1,000,000 + the last four digits of a decline test card (e.g.
   ``1009995`` → ``insufficient_funds``) → that decline, with any card. Minor units, whatever the currency:
   ``1009995`` is 10,099.95 USD or 1,009,995 JPY.
3. **Test card number** (Stripe's public test cards; see ``CARD_SCENARIOS``).

Anything else approves. ``4242424242424241`` is deliberately absent: it fails the Luhn check, so
validation rejects it (``INCORRECT_NUMBER``) before any scenario is chosen.

What each kind means for the engine:

- ``APPROVE``: authorized.
- ``DECLINE``: declined with ``decline_code``.
- ``THREE_DS_REQUIRED``: a 3DS challenge (``requires_action``); once authenticated, authorized.
- ``THREE_DS_FRICTIONLESS``: 3DS runs without a challenge; authorized.
- ``THREE_DS_NOT_SUPPORTED``: the card cannot do 3DS; authorized without authentication.
- ``THREE_DS_LOOKUP_ERROR``: the 3DS lookup fails; the payment fails with ``decline_code``.
- ``THREE_DS_ATTEMPT_ERROR``: the card supports 3DS but the authentication attempt errors.
- ``THREE_DS_CHALLENGE_THEN_DECLINE`` / ``THREE_DS_AUTH_THEN_DECLINE``: a challenge that authenticates,
  then the authorization declines with ``decline_code``. (Stripe distinguishes 3DS requested by a risk rule
  from a card that requires authentication; the flow is the same.)
- ``DISPUTE_*``: authorized; at capture a dispute (fraudulent / product not received / inquiry / early
  fraud warning) opens (domain/dispute_rules.py).
- ``REFUND_ASYNC``: authorized; a refund is pending, then succeeds.
- ``REFUND_FAILS``: authorized; a refund succeeds, then fails.
- ``BLOCKED_HIGHEST_RISK``: risk level highest: the default rules block it (domain/radar.py),
  declined ``fraudulent`` before any gateway call.
- ``ELEVATED_RISK``: risk level elevated; authorized.
- ``CHECKS``: the issuer fails (or cannot do) a verification check (domain/radar.py): a failed CVC
  or postal code check is blocked by the default rules, the others are authorized.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from paysim.domain.card_issuers import COUNTRY_CARDS
from paysim.domain.cards import normalize_pan
from paysim.domain.declines import DECLINES


class ScenarioKind(enum.StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    THREE_DS_REQUIRED = "three_ds_required"
    THREE_DS_FRICTIONLESS = "three_ds_frictionless"
    THREE_DS_NOT_SUPPORTED = "three_ds_not_supported"
    THREE_DS_LOOKUP_ERROR = "three_ds_lookup_error"
    THREE_DS_ATTEMPT_ERROR = "three_ds_attempt_error"
    THREE_DS_CHALLENGE_THEN_DECLINE = "three_ds_challenge_then_decline"
    THREE_DS_AUTH_THEN_DECLINE = "three_ds_auth_then_decline"
    DISPUTE_FRAUDULENT = "dispute_fraudulent"
    DISPUTE_NOT_RECEIVED = "dispute_not_received"
    DISPUTE_INQUIRY = "dispute_inquiry"
    DISPUTE_EARLY_FRAUD_WARNING = "dispute_early_fraud_warning"
    REFUND_ASYNC = "refund_async"
    REFUND_FAILS = "refund_fails"
    BLOCKED_HIGHEST_RISK = "blocked_highest_risk"
    ELEVATED_RISK = "elevated_risk"
    CHECKS = "checks"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A forced outcome. ``trigger`` says what selected it, e.g. ``card 4000000000009995``."""

    kind: ScenarioKind
    decline_code: str | None
    description: str
    trigger: str


MAGIC_AMOUNT_BASE = 1_000_000
HOLDER_NAME_KEYWORD = "decline"

DEFAULT_SCENARIO = Scenario(ScenarioKind.APPROVE, None, "any other valid card approves", "any other valid card")


def _card(pan: str, kind: ScenarioKind, description: str, decline_code: str | None = None) -> Scenario:
    if decline_code is not None and decline_code not in DECLINES:
        raise ValueError(f"unknown decline code {decline_code!r}")
    return Scenario(kind, decline_code, description, f"card {pan}")


_A = ScenarioKind
_APPROVALS = (
    _card("4242424242424242", _A.APPROVE, "Visa: approves; supports 3DS but is not enrolled, so no authentication"),
    _card("4000056655665556", _A.APPROVE, "Visa (debit): approves"),
    _card("5555555555554444", _A.APPROVE, "Mastercard: approves"),
    _card("2223003122003222", _A.APPROVE, "Mastercard (2-series): approves"),
    _card("5200828282828210", _A.APPROVE, "Mastercard (debit): approves"),
    _card("5105105105105100", _A.APPROVE, "Mastercard (prepaid): approves"),
    _card(
        "378282246310005",
        _A.THREE_DS_NOT_SUPPORTED,
        "American Express (4-digit CVC): approves; does not support 3DS, so payments proceed without authentication",
    ),
    _card("371449635398431", _A.APPROVE, "American Express (4-digit CVC): approves"),
    _card("6011111111111117", _A.APPROVE, "Discover: approves"),
    _card("6011000990139424", _A.APPROVE, "Discover: approves"),
    _card("3056930009020004", _A.APPROVE, "Diners Club: approves"),
    _card("36227206271667", _A.APPROVE, "Diners Club (14 digits): approves"),
    _card("3566002020360505", _A.APPROVE, "JCB: approves"),
    _card("6200000000000005", _A.APPROVE, "UnionPay: approves"),
)

# Stripe's cards by country (and a few by funding): they approve; the payment's card says where
# each was issued and how it is funded (domain/card_issuers.py).
_BY_COUNTRY = tuple(
    _card(pan, _A.APPROVE, f"{brand}, issued in {name} ({country}): approves")
    for pan, brand, country, name, _ in COUNTRY_CARDS
)

# The decline cards: their last four digits also name the magic amounts.
_DECLINE_CARDS: tuple[tuple[str, str], ...] = (
    ("4000000000000002", "generic_decline"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000009987", "lost_card"),
    ("4000000000009979", "stolen_card"),
    ("4000000000000069", "expired_card"),
    ("4000000000000127", "incorrect_cvc"),
    ("4000000000000119", "processing_error"),
    ("4000000000006975", "card_velocity_exceeded"),
    ("4100000000000019", "fraudulent"),
)
_DECLINE_NOTES = {"fraudulent": " (fraud: always blocked)"}

_DECLINE_SCENARIOS = (
    *(_card(pan, _A.DECLINE, f"declined: {code}{_DECLINE_NOTES.get(code, '')}", code) for pan, code in _DECLINE_CARDS),
    # No magic amount: paysim has no attach step, so every charge of it is "charging the customer".
    _card(
        "4000000000000341",
        _A.DECLINE,
        "attaching it to a customer succeeds, charging it is declined: card_declined (generic_decline)",
        "generic_decline",
    ),
)

# Fraud screening (domain/radar.py): risk levels, and the issuer's verification checks.
_SCREENING = (
    _card(
        "4000000000004954",
        _A.BLOCKED_HIGHEST_RISK,
        "risk level highest: blocked by the default rule, declined: fraudulent",
        "fraudulent",
    ),
    _card("4000000000009235", _A.ELEVATED_RISK, "risk level elevated: approves"),
    _card(
        "4000000000000101",
        _A.CHECKS,
        "the CVC check fails: blocked by the default rule, declined: incorrect_cvc",
        "incorrect_cvc",
    ),
    _card("4000000000000028", _A.CHECKS, "the address line 1 check fails: approves"),
    _card(
        "4000000000000036",
        _A.CHECKS,
        "the postal code check fails: with a postal code, blocked by the default rule (incorrect_zip)",
    ),
    _card(
        "4000000000000010",
        _A.CHECKS,
        "the address line 1 and postal code checks fail: with a postal code, blocked (incorrect_zip)",
    ),
    _card("4000000000000044", _A.CHECKS, "the address line 1 and postal code checks are unavailable: approves"),
)

_THREE_DS = (
    _card(
        "4000002500003155",
        _A.THREE_DS_REQUIRED,
        "3DS required for one-time payments: challenge, then approves once authenticated",
    ),
    _card(
        "4000002760003184",
        _A.THREE_DS_REQUIRED,
        "3DS always required, even for payments with a saved card: challenge, then approves once authenticated",
    ),
    _card(
        "4000003800000446",
        _A.THREE_DS_REQUIRED,
        "already set up for off-session use; one-time payments need a challenge, then approve",
    ),
    _card("4000000000003220", _A.THREE_DS_REQUIRED, "3DS2 challenge required, then approves"),
    _card("4000000000003063", _A.THREE_DS_REQUIRED, "3DS required: challenge, then approves once authenticated"),
    _card(
        "4000008260003178",
        _A.THREE_DS_AUTH_THEN_DECLINE,
        "3DS required: authenticates, then declined: insufficient_funds",
        "insufficient_funds",
    ),
    _card(
        "4000008400001629",
        _A.THREE_DS_CHALLENGE_THEN_DECLINE,
        "3DS required: challenge, then declined: card_declined (generic_decline)",
        "generic_decline",
    ),
    _card(
        "4000008400001280",
        _A.THREE_DS_LOOKUP_ERROR,
        "3DS lookup fails: the payment fails with processing_error",
        "processing_error",
    ),
    _card("4000000000003055", _A.THREE_DS_FRICTIONLESS, "supports 3DS, not required: frictionless, approves"),
    _card("4000000000003097", _A.THREE_DS_ATTEMPT_ERROR, "supports 3DS, but attempting authentication errors"),
)

_AFTER_PAYMENT = (
    _card("4000000000000259", _A.DISPUTE_FRAUDULENT, "approves; disputed as fraudulent after capture"),
    _card("4000000000002685", _A.DISPUTE_NOT_RECEIVED, "approves; disputed after capture: product not received"),
    _card("4000000000001976", _A.DISPUTE_INQUIRY, "approves; an inquiry (early-stage dispute) opens after capture"),
    _card("4000000000005423", _A.DISPUTE_EARLY_FRAUD_WARNING, "approves; an early fraud warning opens after capture"),
    _card("4000000000007726", _A.REFUND_ASYNC, "approves; a refund is asynchronous: pending, then succeeded"),
    _card("4000000000005126", _A.REFUND_FAILS, "approves; a refund succeeds, then fails"),
)


def _by_card(*groups: tuple[Scenario, ...]) -> Mapping[str, Scenario]:
    table: dict[str, Scenario] = {}
    for group in groups:
        for scenario in group:
            pan = scenario.trigger.removeprefix("card ")
            if pan in table:
                raise ValueError(f"card {pan} has two scenarios")
            table[pan] = scenario
    return MappingProxyType(table)


CARD_SCENARIOS: Mapping[str, Scenario] = _by_card(
    _APPROVALS, _BY_COUNTRY, _DECLINE_SCENARIOS, _SCREENING, _THREE_DS, _AFTER_PAYMENT
)
"""Scenario by test card number (digits only)."""

MAGIC_AMOUNTS: Mapping[int, Scenario] = MappingProxyType(
    {
        MAGIC_AMOUNT_BASE + int(pan[-4:]): Scenario(
            _A.DECLINE,
            code,
            f"declined: {code}, with any card (as card {pan})",
            f"amount {MAGIC_AMOUNT_BASE + int(pan[-4:])}",
        )
        for pan, code in _DECLINE_CARDS
    }
)
"""Scenario by ``amount_minor``: 1,000,000 + the last four digits of a decline card."""

HOLDER_NAME_SCENARIOS: Mapping[str, Scenario] = MappingProxyType(
    {
        code: Scenario(
            _A.DECLINE,
            code,
            f"declined: {code}, with any card",
            f"holder name '{HOLDER_NAME_KEYWORD} {code}'",
        )
        for code in DECLINES
    }
)
"""Scenario by the decline code a cardholder name ``decline <code>`` names."""


def holder_name_code(holder_name: str) -> str | None:
    """The decline code a cardholder name such as ``Decline do_not_honor`` asks for, or None."""
    words = holder_name.lower().split()
    if len(words) == 2 and words[0] == HOLDER_NAME_KEYWORD and words[1] in DECLINES:
        return words[1]
    return None


def scenario_for(pan: str, amount_minor: int, holder_name: str, *, card: Scenario | None = None) -> Scenario:
    """The forced outcome: holder name, then magic amount, then test card, else approve.

    ``card`` stands for the test card when the number is not at hand (a payment keeps only its
    card's fingerprint, from which the card's scenario is resolved): it takes the number's place."""
    code = holder_name_code(holder_name)
    if code is not None:
        return HOLDER_NAME_SCENARIOS[code]
    by_amount = MAGIC_AMOUNTS.get(amount_minor)
    if by_amount is not None:
        return by_amount
    if card is not None:
        return card
    return CARD_SCENARIOS.get(normalize_pan(pan), DEFAULT_SCENARIO)


def catalogue() -> list[Scenario]:
    """Every scenario: test cards, magic amounts, holder names, then the default."""
    return [*CARD_SCENARIOS.values(), *MAGIC_AMOUNTS.values(), *HOLDER_NAME_SCENARIOS.values(), DEFAULT_SCENARIO]
