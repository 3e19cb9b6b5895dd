"""ISO 4217 currencies and their minor-unit exponents (JPY 0, USD 2, KWD 3)."""

from __future__ import annotations

from paysim_proto.currency import EXPONENTS


def is_known(code: str) -> bool:
    return code in EXPONENTS


def exponent(code: str) -> int:
    """The number of decimal places of ``code``; KeyError for an unknown code."""
    return EXPONENTS[code]


def normalize(code: str) -> str:
    """``usd`` is ``USD`` (Stripe takes codes in lower case). Only ASCII is folded:
    ``"ß".upper()`` is ``"SS"``, which must not turn a wrong code into a right one."""
    return code.upper() if code.isascii() else code
