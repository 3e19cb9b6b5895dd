"""Where a test card was issued and how it is funded, as Stripe's testing page lists them: the
``country`` (ISO 3166-1 alpha-2) and ``funding`` a payment's card details carry. Neither needs
the number once the payment is created, so both are kept with the card's summary.

Stripe's cards by country put the country's ISO 3166 numeric code after ``400000``
(``4000000760000002``: 076, Brazil). The brand, decline, 3-D Secure, dispute and refund cards
are United States credit cards unless listed here with another funding. A card outside the
catalogue has no known issuer: country empty, funding ``unknown``."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class Funding(enum.StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"
    PREPAID = "prepaid"
    UNKNOWN = "unknown"


class UnknownCards(enum.StrEnum):
    """What a merchant's payments do with a valid card outside the test catalogue."""

    APPROVE = "approve"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Issuer:
    country: str
    funding: Funding


UNKNOWN_ISSUER = Issuer("", Funding.UNKNOWN)
CATALOGUE_DEFAULT = Issuer("US", Funding.CREDIT)

_C, _D, _P = Funding.CREDIT, Funding.DEBIT, Funding.PREPAID

# (number, brand, country, country name, funding): the cards by country, then the catalogue's
# other cards whose issuer is not a United States credit card.
COUNTRY_CARDS: tuple[tuple[str, str, str, str, Funding], ...] = (
    ("4000000320000021", "Visa", "AR", "Argentina", _C),
    ("4000000760000002", "Visa", "BR", "Brazil", _C),
    ("4000001240000000", "Visa", "CA", "Canada", _C),
    ("4000001520000001", "Visa", "CL", "Chile", _C),
    ("4000001700000003", "Visa", "CO", "Colombia", _C),
    ("4000001880000005", "Visa", "CR", "Costa Rica", _C),
    ("4000002180000000", "Visa", "EC", "Ecuador", _C),
    ("4000004840008001", "Visa", "MX", "Mexico", _C),
    ("4000005910000000", "Visa", "PA", "Panama", _C),
    ("4000006000000066", "Visa", "PY", "Paraguay", _C),
    ("4000006040000068", "Visa", "PE", "Peru", _C),
    ("4000008580000003", "Visa", "UY", "Uruguay", _C),
    ("4000007840000001", "Visa", "AE", "United Arab Emirates", _C),
    ("4000000400000008", "Visa", "AT", "Austria", _C),
    ("4000000560000004", "Visa", "BE", "Belgium", _C),
    ("4000001000000000", "Visa", "BG", "Bulgaria", _C),
    ("4000001910000009", "Visa", "HR", "Croatia", _C),
    ("4000001960000008", "Visa", "CY", "Cyprus", _C),
    ("4000002030000002", "Visa", "CZ", "Czech Republic", _C),
    ("4000002080000001", "Visa", "DK", "Denmark", _C),
    ("4000002330000009", "Visa", "EE", "Estonia", _C),
    ("4000002460000001", "Visa", "FI", "Finland", _C),
    ("4000002500000003", "Visa", "FR", "France", _C),
    ("4000002760000016", "Visa", "DE", "Germany", _C),
    ("4000002920000005", "Visa", "GI", "Gibraltar", _C),
    ("4000003000000030", "Visa", "GR", "Greece", _C),
    ("4000003480000005", "Visa", "HU", "Hungary", _C),
    ("4000003720000005", "Visa", "IE", "Ireland", _C),
    ("4000003800000008", "Visa", "IT", "Italy", _C),
    ("4000004280000005", "Visa", "LV", "Latvia", _C),
    ("4000004380000004", "Visa", "LI", "Liechtenstein", _C),
    ("4000004400000000", "Visa", "LT", "Lithuania", _C),
    ("4000004420000006", "Visa", "LU", "Luxembourg", _C),
    ("4000004700000007", "Visa", "MT", "Malta", _C),
    ("4000005280000002", "Visa", "NL", "Netherlands", _C),
    ("4000005780000007", "Visa", "NO", "Norway", _C),
    ("4000006160000005", "Visa", "PL", "Poland", _C),
    ("4000006200000007", "Visa", "PT", "Portugal", _C),
    ("4000006420000001", "Visa", "RO", "Romania", _C),
    ("4000007050000006", "Visa", "SI", "Slovenia", _C),
    ("4000007030000001", "Visa", "SK", "Slovakia", _C),
    ("4000007240000007", "Visa", "ES", "Spain", _C),
    ("4000007520000008", "Visa", "SE", "Sweden", _C),
    ("4000007560000009", "Visa", "CH", "Switzerland", _C),
    ("4000008260000000", "Visa", "GB", "United Kingdom", _C),
    ("4000058260000005", "Visa (debit)", "GB", "United Kingdom", _D),
    ("5555558265554449", "Mastercard", "GB", "United Kingdom", _C),
    ("4000000360000006", "Visa", "AU", "Australia", _C),
    ("4000001560000002", "Visa", "CN", "China", _C),
    ("4000003440000004", "Visa", "HK", "Hong Kong", _C),
    ("4000003560000008", "Visa", "IN", "India", _C),
    ("4000003920000003", "Visa", "JP", "Japan", _C),
    ("3530111333300000", "JCB", "JP", "Japan", _C),
    ("4000004580000002", "Visa", "MY", "Malaysia", _C),
    ("4000005540000008", "Visa", "NZ", "New Zealand", _C),
    ("4000007020000003", "Visa", "SG", "Singapore", _C),
    ("4000001580000008", "Visa", "TW", "Taiwan", _C),
    ("4000007640000003", "Visa", "TH", "Thailand", _C),
    ("4000057640000008", "Visa (debit)", "TH", "Thailand", _D),
    ("6011981111111113", "Discover (debit)", "US", "United States", _D),
    ("6200000000000047", "UnionPay (debit)", "CN", "China", _D),
)

# The brand cards of the catalogue that are not United States credit cards.
_BRAND_CARDS: Mapping[str, Issuer] = {
    "4000056655665556": Issuer("US", _D),
    "5200828282828210": Issuer("US", _D),
    "5105105105105100": Issuer("US", _P),
    "6200000000000005": Issuer("CN", _C),
}

ISSUERS: Mapping[str, Issuer] = MappingProxyType(
    {**_BRAND_CARDS, **{pan: Issuer(country, funding) for pan, _, country, _, funding in COUNTRY_CARDS}}
)


def issuer_of(pan: str, *, in_catalogue: bool) -> Issuer:
    """The issuer of a card number (digits only): listed, a catalogue card's default, or unknown."""
    found = ISSUERS.get(pan)
    if found is not None:
        return found
    return CATALOGUE_DEFAULT if in_catalogue else UNKNOWN_ISSUER
