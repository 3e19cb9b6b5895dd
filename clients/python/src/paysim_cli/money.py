"""Amounts as people write them: ``19.99 USD`` for 1999 minor units, ``1,050 JPY`` for 1050.

The server keeps every amount in integer minor units; the currency's exponent says how many of
them make one major unit: the ISO 4217 table of :mod:`paysim_proto.currency`, which the server
reads too.
"""

from __future__ import annotations

import re
from decimal import Decimal

from paysim_proto.currency import EXPONENTS

# Digits with at most one decimal point: no exponent (1e3), no NaN or Infinity, which Decimal
# would accept.
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


class AmountError(ValueError):
    """An amount a person typed that is not one."""


def exponent(currency: str) -> int | None:
    """How many decimal places ``currency`` has; None for a code this table does not know."""
    return EXPONENTS.get(currency.upper())


def format_minor(amount_minor: int, currency: str) -> str:
    """``1999, "USD"`` → ``19.99 USD``; ``1050, "JPY"`` → ``1,050 JPY``; unknown codes show minor units."""
    places = exponent(currency)
    code = currency.upper() or "?"
    if places is None:
        return f"{amount_minor:,} {code} (minor units)"
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**places)
    fraction = f".{minor:0{places}d}" if places else ""
    return f"{sign}{major:,}{fraction} {code}"


def parse_amount(text: str, currency: str) -> int:
    """``"19.99", "USD"`` → 1999: a positive amount in major units, at most the currency's decimals.

    Thousands separators (``,`` and ``_``) are allowed; exponents (``1e3``) are not. Raises
    :class:`AmountError`.
    """
    places = exponent(currency)
    if places is None:
        raise AmountError(f"unknown currency {currency.upper()!r}: use an ISO 4217 code such as USD, EUR or JPY")
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not _DECIMAL.fullmatch(cleaned):
        raise AmountError(f"{text!r} is not an amount such as 19.99")
    value = Decimal(cleaned)
    if value <= 0:
        raise AmountError(f"{text!r} is not a positive amount")
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{text!r} has more decimal places than {currency.upper()} has ({places})")
    return int(scaled)
