"""Fraud screening of a card payment, the pure part, after Stripe Radar: the risk level a payment
carries, the issuer's verification checks of what came with the card, and the default rules that
block a payment before any gateway is called.

- **Risk level**: ``normal`` for every card but Stripe's risk cards: ``4000000000009235`` is
  ``elevated`` (the payment goes on), ``4000000000004954`` and ``4100000000000019`` are ``highest``.
  A payment without a card is ``not_assessed``.
- **Checks** (``cvc_check``, ``address_line1_check``, ``address_postal_code_check``): ``pass``,
  ``fail``, ``unavailable`` (the issuer could not check) or ``unchecked`` (nothing was given). The CVC
  is always given (CreatePayment requires it); the billing address line 1 and postal code are
  optional. Stripe's check cards set the answers: ``4000000000000101`` fails the CVC check,
  ``…0028`` address line 1, ``…0036`` the postal code, ``…0010`` both, ``…0044`` makes both
  unavailable; every other card passes what is given.
- **Default rules**, Stripe's defaults, always on: *block if the risk level is highest*, *block if
  CVC verification fails*, *block if postal code verification fails*. A blocked payment is declined
  with the code Stripe gives (``fraudulent``, ``incorrect_cvc``, ``incorrect_zip``) and the name of
  the rule (``blocked_by``); no gateway is called. ``4100000000000019`` is blocked whatever the rules
  (Stripe: "always blocked"); here the rules are never off, so it behaves as ``4000000000004954``.

Only the card's own behaviour is screened: a cardholder-name trigger or a magic amount replaces the
card's behaviour (domain/scenarios.py), its risk and checks included — such a payment is ``normal``
and passes what it gives.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from paysim.domain.scenarios import Scenario


class Check(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNAVAILABLE = "unavailable"
    UNCHECKED = "unchecked"


class RiskLevel(enum.StrEnum):
    NORMAL = "normal"
    ELEVATED = "elevated"
    HIGHEST = "highest"
    NOT_ASSESSED = "not_assessed"


@dataclass(frozen=True, slots=True)
class Screening:
    """What screening found of a card payment."""

    risk_level: RiskLevel
    cvc_check: Check
    address_line1_check: Check
    address_postal_code_check: Check


@dataclass(frozen=True, slots=True)
class Block:
    """A default rule blocked the payment: its name and the decline code the payment gets."""

    rule: str
    decline_code: str


HIGHEST_RISK_LEVEL = "highest_risk_level"
CVC_CHECK_FAILED = "cvc_check_failed"
POSTAL_CODE_CHECK_FAILED = "postal_code_check_failed"

RISK_CARDS: Mapping[str, RiskLevel] = MappingProxyType(
    {
        "4000000000004954": RiskLevel.HIGHEST,
        "4100000000000019": RiskLevel.HIGHEST,
        "4000000000009235": RiskLevel.ELEVATED,
    }
)
"""The risk level of Stripe's risk cards; every other card is ``normal``."""

_P, _F, _U = Check.PASS, Check.FAIL, Check.UNAVAILABLE
CHECK_CARDS: Mapping[str, tuple[Check, Check, Check]] = MappingProxyType(
    {
        "4000000000000101": (_F, _P, _P),
        "4000000000000028": (_P, _F, _P),
        "4000000000000036": (_P, _P, _F),
        "4000000000000010": (_P, _F, _F),
        "4000000000000044": (_P, _U, _U),
    }
)
"""The issuer's answers (CVC, address line 1, postal code) for Stripe's check cards, each when given."""

_ALL_PASS = (_P, _P, _P)


def _card_of(scenario: Scenario) -> str:
    """The test card whose own behaviour the scenario is, or empty (a name, an amount, the default)."""
    return scenario.trigger.removeprefix("card ") if scenario.trigger.startswith("card ") else ""


def screen(scenario: Scenario, *, address_line1_given: bool, postal_code_given: bool) -> Screening:
    """The risk level and checks of a card payment whose outcome ``scenario`` chose."""
    pan = _card_of(scenario)
    cvc, line1, postal = CHECK_CARDS.get(pan, _ALL_PASS)
    return Screening(
        risk_level=RISK_CARDS.get(pan, RiskLevel.NORMAL),
        cvc_check=cvc,
        address_line1_check=line1 if address_line1_given else Check.UNCHECKED,
        address_postal_code_check=postal if postal_code_given else Check.UNCHECKED,
    )


class Screened(Protocol):
    """A screening, or the card of a payment that keeps one (its fields are words)."""

    @property
    def risk_level(self) -> str: ...
    @property
    def cvc_check(self) -> str: ...
    @property
    def address_postal_code_check(self) -> str: ...


def blocked(screening: Screened) -> Block | None:
    """The first default rule the payment breaks, or None: risk first, then CVC, then postal code."""
    if screening.risk_level == RiskLevel.HIGHEST:
        return Block(HIGHEST_RISK_LEVEL, "fraudulent")
    if screening.cvc_check == Check.FAIL:
        return Block(CVC_CHECK_FAILED, "incorrect_cvc")
    if screening.address_postal_code_check == Check.FAIL:
        return Block(POSTAL_CODE_CHECK_FAILED, "incorrect_zip")
    return None
