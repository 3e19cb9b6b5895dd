"""Amounts as people write them: ``19.99 USD`` for 1999 minor units, ``1,050 JPY`` for 1050.

The server keeps every amount in integer minor units; the currency's exponent says how many of
them make one major unit. This is a copy of the server's ISO 4217 table (a test keeps the two
equal), so that the command line and the client package need nothing of the server.
"""

from __future__ import annotations

import re
from decimal import Decimal

EXPONENTS: dict[str, int] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2,
    "BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2,
    "CHF": 2, "CLP": 0, "CNY": 2, "COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0,
    "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2,
    "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2,
    "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0,
    "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0,
    "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3,
    "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
    "MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2,
    "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2,
    "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2,
    "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2,
    "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2,
    "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "UYU": 2, "UZS": 2, "VES": 2,
    "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2,
    "ZMW": 2, "ZWL": 2,
}  # fmt: skip


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
