"""Stripe's amount rules as pure logic: the table, the tens rule, the message's major units."""

from __future__ import annotations

import pytest

from paysim.domain import currency, money_rules
from paysim.domain.validation import Violations


def reasons(amount: int, code: str) -> list[str]:
    v = Violations()
    money_rules.check_charge_amount(v, "amount_minor", amount, code)
    return [f.reason for f in v.items]


@pytest.mark.parametrize(("code", "minimum"), sorted(money_rules.MINIMUM_CHARGE.items()))
def test_every_listed_minimum_is_the_smallest_accepted_amount(code: str, minimum: int) -> None:
    assert currency.is_known(code)
    assert reasons(minimum - 1, code) == ["AMOUNT_BELOW_MINIMUM"]
    assert reasons(minimum, code) == []


def test_three_decimal_currencies_take_whole_tens() -> None:
    assert all(currency.exponent(code) == 3 for code in money_rules.TENS_ONLY)
    assert reasons(1_001, "KWD") == ["AMOUNT_NOT_MULTIPLE_OF_TEN"] and reasons(1_000, "KWD") == []
    assert reasons(1_001, "IQD") == []  # three decimals, but not one Stripe takes: no rule of its own


def test_unknown_currencies_are_left_to_the_currency_check() -> None:
    assert reasons(1, "XYZ") == []


def test_minimums_are_shown_in_major_units() -> None:
    assert money_rules.major(50, "USD") == "0.50 USD"
    assert money_rules.major(50, "JPY") == "50 JPY"
    assert money_rules.major(1_010, "KWD") == "1.010 KWD"


def test_only_ascii_codes_are_folded() -> None:
    assert currency.normalize("usd") == "USD" and currency.normalize("Eur") == "EUR"
    assert currency.normalize("uﬀ") == "uﬀ" and currency.normalize("") == ""
