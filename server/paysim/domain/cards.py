"""Card numbers: brand by BIN/IIN, Luhn, field validation, and the PAN-free summary we keep.

The full PAN and the CVC never leave this module inside a returned object, an error description or a
repr: callers keep a :class:`CardSummary` (BIN, last 4, brand, expiry, keyed fingerprint) and drop the rest.

Brand ranges (prefix → brand), matched on the leading digits; the longest matching prefix wins:

- Visa: ``4``. Lengths 13, 16, 19.
- Mastercard: ``51``–``55`` and the 2-series ``2221``–``2720``. Length 16.
- American Express: ``34``, ``37``. Length 15, 4-digit CVC.
- Discover: ``6011``, ``644``–``649``, ``65``. Lengths 16–19.
- Diners Club: ``300``–``305``, ``3095``, ``36``, ``38``, ``39``. Lengths 14–19.
- JCB: ``3528``–``3589``. Lengths 16–19.
- UnionPay: ``62`` and ``81``. Lengths 16–19. The range ``622126``–``622925`` is issued by UnionPay and
  merely *accepted* on the Discover network (co-brand); we report the issuing brand, UnionPay, as the
  other ``62`` cards are.
- Anything else is ``UNKNOWN`` and accepted at any ISO/IEC 7812 length from 12 to 19 digits, with a 3- or
  4-digit CVC, so a valid card of a brand we do not list still works.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import hmac
from collections.abc import Set
from dataclasses import dataclass

from paysim.domain.validation import Violations


class Brand(enum.StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """The name a person reads, e.g. ``American Express``."""
        return _LABELS[self]


_LABELS: dict[Brand, str] = {
    Brand.VISA: "Visa",
    Brand.MASTERCARD: "Mastercard",
    Brand.AMEX: "American Express",
    Brand.DISCOVER: "Discover",
    Brand.DINERS: "Diners Club",
    Brand.JCB: "JCB",
    Brand.UNIONPAY: "UnionPay",
    Brand.UNKNOWN: "Unknown brand",
}

# (first prefix, last prefix, brand): both ends inclusive and of the same number of digits.
_RANGES: tuple[tuple[str, str, Brand], ...] = (
    ("4", "4", Brand.VISA),
    ("51", "55", Brand.MASTERCARD),
    ("2221", "2720", Brand.MASTERCARD),
    ("34", "34", Brand.AMEX),
    ("37", "37", Brand.AMEX),
    ("6011", "6011", Brand.DISCOVER),
    ("644", "649", Brand.DISCOVER),
    ("65", "65", Brand.DISCOVER),
    ("300", "305", Brand.DINERS),
    ("3095", "3095", Brand.DINERS),
    ("36", "36", Brand.DINERS),
    ("38", "39", Brand.DINERS),
    ("3528", "3589", Brand.JCB),
    ("62", "62", Brand.UNIONPAY),  # includes the 622126–622925 Discover co-brand range, see module docstring
    ("81", "81", Brand.UNIONPAY),
)
# Longest prefixes first, so a more specific range wins should two ever overlap.
_RANGES_BY_SPECIFICITY = tuple(sorted(_RANGES, key=lambda r: -len(r[0])))

MIN_PAN_DIGITS = 12
MAX_PAN_DIGITS = 19

_LENGTHS: dict[Brand, frozenset[int]] = {
    Brand.VISA: frozenset({13, 16, 19}),
    Brand.MASTERCARD: frozenset({16}),
    Brand.AMEX: frozenset({15}),
    Brand.DISCOVER: frozenset(range(16, 20)),
    Brand.DINERS: frozenset(range(14, 20)),
    Brand.JCB: frozenset(range(16, 20)),
    Brand.UNIONPAY: frozenset(range(16, 20)),
    Brand.UNKNOWN: frozenset(range(MIN_PAN_DIGITS, MAX_PAN_DIGITS + 1)),
}

MIN_EXPIRY_YEAR = 2000
MAX_EXPIRY_YEAR = 2100
MAX_YEARS_AHEAD = 50
BIN_DIGITS = 6
FINGERPRINT_HEX_CHARS = 32


def _is_digits(value: str) -> bool:
    """ASCII digits only: ``str.isdigit`` alone would accept superscripts and other scripts' digits."""
    return bool(value) and value.isascii() and value.isdigit()


def normalize_pan(raw: str) -> str:
    """Remove the spaces and dashes people type between digit groups; nothing else is touched."""
    return raw.replace(" ", "").replace("-", "")


def luhn_valid(pan: str) -> bool:
    """True when ``pan`` is non-empty ASCII digits whose Luhn (mod 10) checksum is 0."""
    if not _is_digits(pan):
        return False
    total = 0
    for index, char in enumerate(reversed(pan)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(pan: str) -> Brand:
    """The brand its leading digits belong to (length is not considered); ``UNKNOWN`` for non-digits."""
    if not _is_digits(pan):
        return Brand.UNKNOWN
    for low, high, brand in _RANGES_BY_SPECIFICITY:
        head = pan[: len(low)]
        if len(head) == len(low) and low <= head <= high:  # same-length digit strings compare numerically
            return brand
    return Brand.UNKNOWN


def valid_lengths(brand: Brand) -> Set[int]:
    """The PAN lengths a card of ``brand`` may have."""
    return _LENGTHS[brand]


def cvc_length(brand: Brand) -> int:
    """Digits in the security code: 4 for American Express, 3 for the others."""
    return 4 if brand is Brand.AMEX else 3


def _cvc_lengths(brand: Brand) -> frozenset[int]:
    # A card of unknown brand may be one with a 4-digit code: accept both rather than guess.
    return frozenset({3, 4}) if brand is Brand.UNKNOWN else frozenset({cvc_length(brand)})


def _describe_lengths(lengths: Set[int]) -> str:
    ordered = sorted(lengths)
    if len(ordered) == 1:
        return str(ordered[0])
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]} to {ordered[-1]}"
    return ", ".join(str(n) for n in ordered[:-1]) + f" or {ordered[-1]}"


def _for_brand(brand: Brand) -> str:
    """`` for an American Express card``; empty when the brand is unknown."""
    if brand is Brand.UNKNOWN:
        return ""
    article = "an" if brand.label[0] in "AEIOU" else "a"
    return f" for {article} {brand.label} card"


def check_card(
    v: Violations,
    *,
    prefix: str,
    number: str,
    exp_month: int,
    exp_year: int,
    cvc: str,
    today: datetime.date,
) -> None:
    """Append a violation for every bad card field; never raises, never echoes the number or the CVC.

    Fields are ``{prefix}.number``, ``{prefix}.exp_month``, ``{prefix}.exp_year`` and ``{prefix}.cvc``;
    reasons are Stripe's error codes in UPPER_SNAKE. ``number`` may contain spaces and dashes.

    Expiry: a card is good through the last day of its expiry month. The year must have four digits
    (2000–2100), must not be in the past and at most 50 years ahead (``INVALID_EXPIRY_YEAR`` on
    ``exp_year``). A past month of the current year is reported on ``exp_month`` as
    ``INVALID_EXPIRY_MONTH``: the year alone is fine, the month is what a person has to correct.
    """
    pan = normalize_pan(number)
    brand = brand_of(pan)
    _check_number(v, f"{prefix}.number", pan, brand)
    _check_expiry(v, prefix, exp_month, exp_year, today)
    _check_cvc(v, f"{prefix}.cvc", cvc, brand)


def _check_number(v: Violations, field: str, pan: str, brand: Brand) -> None:
    if not pan:
        v.add(field, "is required", "INVALID_NUMBER")
    elif not _is_digits(pan):
        v.add(field, "must contain only digits (spaces and dashes are ignored)", "INVALID_NUMBER")
    elif len(pan) not in valid_lengths(brand):
        v.add(field, f"must be {_describe_lengths(valid_lengths(brand))} digits{_for_brand(brand)}", "INVALID_NUMBER")
    elif not luhn_valid(pan):
        v.add(field, "is incorrect: it fails the Luhn checksum", "INCORRECT_NUMBER")


def _check_expiry(v: Violations, prefix: str, exp_month: int, exp_year: int, today: datetime.date) -> None:
    month_field, year_field = f"{prefix}.exp_month", f"{prefix}.exp_year"
    month_ok = 1 <= exp_month <= 12
    if not month_ok:
        v.add(month_field, "must be a month from 1 to 12", "INVALID_EXPIRY_MONTH")
    if not MIN_EXPIRY_YEAR <= exp_year <= MAX_EXPIRY_YEAR:
        v.add(
            year_field,
            f"must be a four-digit year from {MIN_EXPIRY_YEAR} to {MAX_EXPIRY_YEAR}; two-digit years are not accepted",
            "INVALID_EXPIRY_YEAR",
        )
    elif exp_year < today.year:
        v.add(year_field, "is in the past: the card has expired", "INVALID_EXPIRY_YEAR")
    elif exp_year > today.year + MAX_YEARS_AHEAD:
        v.add(year_field, f"must be at most {MAX_YEARS_AHEAD} years ahead", "INVALID_EXPIRY_YEAR")
    elif exp_year == today.year and month_ok and exp_month < today.month:
        v.add(month_field, "is in the past for this year: the card has expired", "INVALID_EXPIRY_MONTH")


def _check_cvc(v: Violations, field: str, cvc: str, brand: Brand) -> None:
    lengths = _cvc_lengths(brand)
    if not cvc:
        v.add(field, "is required", "INVALID_CVC")
    elif not _is_digits(cvc) or len(cvc) not in lengths:
        v.add(field, f"must be {_describe_lengths(lengths)} digits{_for_brand(brand)}", "INVALID_CVC")


@dataclass(frozen=True, slots=True)
class CardSummary:
    """What we keep of a card: never the full PAN, never the CVC.

    ``fingerprint`` is a keyed HMAC of the PAN: equal for the same card under the same key, and useless
    to anyone without the key.
    """

    bin: str
    last4: str
    brand: Brand
    exp_month: int
    exp_year: int
    fingerprint: str

    def __repr__(self) -> str:  # explicit, so a field added later cannot leak by accident
        return (
            f"CardSummary(bin={self.bin!r}, last4={self.last4!r}, brand={self.brand.value!r}, "
            f"exp_month={self.exp_month}, exp_year={self.exp_year}, fingerprint={self.fingerprint!r})"
        )


def fingerprint(pan: str, fingerprint_key: bytes) -> str:
    """Hex HMAC-SHA256 of the normalized PAN under ``fingerprint_key``, truncated to 32 hex characters."""
    if not fingerprint_key:
        raise ValueError("fingerprint_key must not be empty")
    digest = hmac.new(fingerprint_key, normalize_pan(pan).encode("ascii", "replace"), hashlib.sha256)
    return digest.hexdigest()[:FINGERPRINT_HEX_CHARS]


def summarize(pan: str, exp_month: int, exp_year: int, fingerprint_key: bytes) -> CardSummary:
    """The PAN-free summary of a validated card. ``ValueError`` (without the number) if it is not 12–19 digits."""
    digits = normalize_pan(pan)
    if not _is_digits(digits) or not MIN_PAN_DIGITS <= len(digits) <= MAX_PAN_DIGITS:
        raise ValueError(f"summarize needs a validated card number of {MIN_PAN_DIGITS} to {MAX_PAN_DIGITS} digits")
    return CardSummary(
        bin=digits[:BIN_DIGITS],
        last4=digits[-4:],
        brand=brand_of(digits),
        exp_month=exp_month,
        exp_year=exp_year,
        fingerprint=fingerprint(digits, fingerprint_key),
    )


def mask(pan: str) -> str:
    """BIN, stars, last 4: ``424242******4242``. Shorter than a real PAN (12 digits): all stars."""
    digits = normalize_pan(pan)
    if len(digits) < MIN_PAN_DIGITS:
        return "*" * len(digits)
    return digits[:BIN_DIGITS] + "*" * (len(digits) - BIN_DIGITS - 4) + digits[-4:]
