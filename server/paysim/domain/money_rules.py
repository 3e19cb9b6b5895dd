"""The amount rules Stripe applies to a charge, so that a test passing against paysim does not fail
against Stripe for its amount: a minimum per currency (what a charge must cover of the card
networks' fees), and whole tens of the minor unit for the three-decimal currencies (their card
acquirers settle in hundredths). Currency codes are accepted in any ASCII case, as Stripe takes
them in lower case."""

from __future__ import annotations

from paysim_proto.currency import MINIMUM_CHARGE

from paysim.domain.currency import exponent, is_known
from paysim.domain.validation import Violations

# The three-decimal currencies Stripe takes; their amounts must end in 0.
TENS_ONLY = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def major(amount: int, currency: str) -> str:
    """``50 USD`` as ``0.50 USD``: the message a person reads."""
    places = exponent(currency)
    if places == 0:
        return f"{amount} {currency}"
    whole, part = divmod(amount, 10**places)
    return f"{whole}.{part:0{places}d} {currency}"


def check_charge_amount(v: Violations, field: str, amount: int, currency: str) -> None:
    """The rules of a charge of ``amount`` (already known to be positive) in ``currency``."""
    if not is_known(currency):
        return
    minimum = MINIMUM_CHARGE.get(currency, 1)
    if amount < minimum:
        v.add(
            field,
            f"must be at least {minimum} minor units ({major(minimum, currency)}), the smallest charge in {currency}",
            "AMOUNT_BELOW_MINIMUM",
        )
    elif currency in TENS_ONLY and amount % 10:
        v.add(field, f"must be a multiple of 10 in {currency} (its last digit must be 0)", "AMOUNT_NOT_MULTIPLE_OF_TEN")
