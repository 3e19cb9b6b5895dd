"""Card numbers: brands, Luhn, field validation, and the PAN-free summary."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paysim.domain.cards import (
    Brand,
    CardSummary,
    brand_of,
    check_card,
    cvc_length,
    luhn_valid,
    mask,
    normalize_pan,
    summarize,
    valid_lengths,
)
from paysim.domain.errors import FieldViolation
from paysim.domain.validation import Violations

TODAY = datetime.date(2026, 6, 15)
KEY = b"fingerprint-key-one"

# Every card of the reference's "Cards that succeed, by brand" table.
SUCCESS_CARDS: list[tuple[str, Brand]] = [
    ("4242424242424242", Brand.VISA),
    ("4000056655665556", Brand.VISA),
    ("5555555555554444", Brand.MASTERCARD),
    ("2223003122003222", Brand.MASTERCARD),
    ("5200828282828210", Brand.MASTERCARD),
    ("5105105105105100", Brand.MASTERCARD),
    ("378282246310005", Brand.AMEX),
    ("371449635398431", Brand.AMEX),
    ("6011111111111117", Brand.DISCOVER),
    ("6011000990139424", Brand.DISCOVER),
    ("3056930009020004", Brand.DINERS),
    ("36227206271667", Brand.DINERS),
    ("3566002020360505", Brand.JCB),
    ("6200000000000005", Brand.UNIONPAY),
]

# Every other card of the reference (declines, 3DS, disputes, refunds): all Luhn-valid Visa.
OTHER_REFERENCE_CARDS = [
    "4000000000000002",
    "4000000000009995",
    "4000000000009987",
    "4000000000009979",
    "4000000000000069",
    "4000000000000127",
    "4000000000000119",
    "4000000000006975",
    "4100000000000019",
    "4000002500003155",
    "4000002760003184",
    "4000000000003220",
    "4000008260003178",
    "4000008400001629",
    "4000008400001280",
    "4000000000003055",
    "4000000000003097",
    "4000000000000259",
    "4000000000002685",
    "4000000000001976",
    "4000000000007726",
    "4000000000005126",
]


def _check(
    number: str = "4242424242424242",
    exp_month: int = 12,
    exp_year: int = 2030,
    cvc: str = "123",
    today: datetime.date = TODAY,
) -> list[FieldViolation]:
    v = Violations()
    check_card(v, prefix="card", number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, today=today)
    return v.items


def _reasons(items: list[FieldViolation]) -> set[tuple[str, str]]:
    return {(item.field, item.reason) for item in items}


def _with_check_digit(body: str) -> str:
    """``body`` plus the Luhn check digit that makes it valid."""
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("no Luhn check digit")


# --- brands and Luhn -------------------------------------------------------------------------------


@pytest.mark.parametrize(("pan", "brand"), SUCCESS_CARDS)
def test_every_success_card_is_luhn_valid_of_its_brand_and_passes_validation(pan: str, brand: Brand) -> None:
    assert luhn_valid(pan)
    assert brand_of(pan) is brand
    assert len(pan) in valid_lengths(brand)
    assert _check(pan, cvc="1" * cvc_length(brand)) == []


@pytest.mark.parametrize("pan", OTHER_REFERENCE_CARDS)
def test_every_other_reference_card_is_a_valid_visa(pan: str) -> None:
    assert luhn_valid(pan)
    assert brand_of(pan) is Brand.VISA
    assert _check(pan) == []


def test_the_incorrect_number_card_fails_luhn() -> None:
    assert not luhn_valid("4242424242424241")
    assert _reasons(_check("4242424242424241")) == {("card.number", "INCORRECT_NUMBER")}


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("4", Brand.VISA),
        ("51", Brand.MASTERCARD),
        ("55", Brand.MASTERCARD),
        ("50", Brand.UNKNOWN),
        ("56", Brand.UNKNOWN),
        ("2221", Brand.MASTERCARD),
        ("2720", Brand.MASTERCARD),
        ("2220", Brand.UNKNOWN),
        ("2721", Brand.UNKNOWN),
        ("34", Brand.AMEX),
        ("37", Brand.AMEX),
        ("35", Brand.UNKNOWN),  # outside 3528–3589
        ("6011", Brand.DISCOVER),
        ("6012", Brand.UNKNOWN),
        ("644", Brand.DISCOVER),
        ("649", Brand.DISCOVER),
        ("643", Brand.UNKNOWN),
        ("65", Brand.DISCOVER),
        ("622126", Brand.UNIONPAY),  # UnionPay/Discover co-brand: reported as the issuer, UnionPay
        ("622925", Brand.UNIONPAY),
        ("62", Brand.UNIONPAY),
        ("81", Brand.UNIONPAY),
        ("300", Brand.DINERS),
        ("305", Brand.DINERS),
        ("306", Brand.UNKNOWN),
        ("3095", Brand.DINERS),
        ("36", Brand.DINERS),
        ("38", Brand.DINERS),
        ("39", Brand.DINERS),
        ("3528", Brand.JCB),
        ("3589", Brand.JCB),
        ("3527", Brand.UNKNOWN),
        ("3590", Brand.UNKNOWN),
        ("1", Brand.UNKNOWN),
        ("9", Brand.UNKNOWN),
    ],
)
def test_brand_ranges(prefix: str, brand: Brand) -> None:
    assert brand_of(prefix.ljust(16, "0")) is brand


@pytest.mark.parametrize("pan", ["", "4242 4242", "42a4", "４２４２", "4²", "-4242"])
def test_brand_of_non_digits_is_unknown(pan: str) -> None:
    assert brand_of(pan) is Brand.UNKNOWN


def test_brand_of_a_prefix_shorter_than_the_range_does_not_match() -> None:
    assert brand_of("3") is Brand.UNKNOWN
    assert brand_of("222") is Brand.UNKNOWN


def test_cvc_length_and_labels() -> None:
    assert cvc_length(Brand.AMEX) == 4
    assert all(cvc_length(b) == 3 for b in Brand if b is not Brand.AMEX)
    assert Brand.AMEX.label == "American Express"
    assert {b.value for b in Brand} == {
        "visa",
        "mastercard",
        "amex",
        "discover",
        "diners",
        "jcb",
        "unionpay",
        "unknown",
    }


@pytest.mark.parametrize("value", ["", "abc", "4242x", "٤٢٤٢", "4242 4242 4242 4242", "²"])
def test_luhn_rejects_empty_and_non_ascii_digits(value: str) -> None:
    assert not luhn_valid(value)


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_luhn_accepts_any_body_with_its_check_digit(body: str) -> None:
    assert luhn_valid(_with_check_digit(body))


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=30),
    st.data(),
)
def test_luhn_catches_every_single_digit_change(body: str, data: st.DataObject) -> None:
    pan = _with_check_digit(body)
    position = data.draw(st.integers(0, len(pan) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != pan[position]]))
    assert not luhn_valid(pan[:position] + replacement + pan[position + 1 :])


def test_normalize_pan_strips_spaces_and_dashes_only() -> None:
    assert normalize_pan(" 4242-4242 4242-4242 ") == "4242424242424242"
    assert normalize_pan("4242\t4242") == "4242\t4242"
    assert normalize_pan("4242.4242") == "4242.4242"


# --- check_card ------------------------------------------------------------------------------------


def test_a_good_card_has_no_violations_and_spaces_and_dashes_are_accepted() -> None:
    assert _check() == []
    assert _check("4242 4242 4242 4242") == []
    assert _check("4242-4242-4242-4242") == []


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "INVALID_NUMBER"),
        ("   ", "INVALID_NUMBER"),
        ("4242424242424a42", "INVALID_NUMBER"),
        ("4242.4242.4242.4242", "INVALID_NUMBER"),
        ("４２４２４２４２４２４２４２４２", "INVALID_NUMBER"),  # full-width digits are not ASCII digits
        ("424242424242", "INVALID_NUMBER"),  # short for a Visa
        ("42424242424242424242", "INVALID_NUMBER"),  # 20 digits
        ("555555555555444", "INVALID_NUMBER"),  # a 15-digit Mastercard
        ("3782822463100050", "INVALID_NUMBER"),  # a 16-digit Amex
        ("12345678901", "INVALID_NUMBER"),  # unknown brand below 12 digits
        ("4242424242424241", "INCORRECT_NUMBER"),
        ("4000000000000001", "INCORRECT_NUMBER"),
    ],
)
def test_bad_numbers(number: str, reason: str) -> None:
    cvc = "1" * cvc_length(brand_of(normalize_pan(number)))
    assert _reasons(_check(number, cvc=cvc)) == {("card.number", reason)}


def test_visa_lengths_13_16_19() -> None:
    for length in (13, 16, 19):
        assert _check(_with_check_digit("4" + "0" * (length - 2))) == []
    for length in (14, 15, 17, 18):
        assert _reasons(_check(_with_check_digit("4" + "0" * (length - 2)))) == {("card.number", "INVALID_NUMBER")}


def test_an_unknown_brand_is_accepted_at_12_to_19_digits_with_a_3_or_4_digit_cvc() -> None:
    pan = _with_check_digit("9" + "0" * 10)
    assert brand_of(pan) is Brand.UNKNOWN
    assert _check(pan, cvc="123") == []
    assert _check(pan, cvc="1234") == []
    assert _reasons(_check(pan, cvc="12")) == {("card.cvc", "INVALID_CVC")}


@pytest.mark.parametrize("month", [0, 13, -1, 100])
def test_month_outside_1_to_12(month: int) -> None:
    assert _reasons(_check(exp_month=month)) == {("card.exp_month", "INVALID_EXPIRY_MONTH")}


def test_month_13_in_the_current_year_is_one_violation() -> None:
    assert _reasons(_check(exp_month=13, exp_year=TODAY.year)) == {("card.exp_month", "INVALID_EXPIRY_MONTH")}


@pytest.mark.parametrize("year", [2025, 2000, 2019])
def test_past_year(year: int) -> None:
    items = _check(exp_year=year)
    assert _reasons(items) == {("card.exp_year", "INVALID_EXPIRY_YEAR")}
    assert "past" in items[0].description


@pytest.mark.parametrize("year", [30, 26, 0, 99, 1999, 2101, 20300, -2030])
def test_year_must_have_four_digits_from_2000_to_2100(year: int) -> None:
    items = _check(exp_year=year)
    assert _reasons(items) == {("card.exp_year", "INVALID_EXPIRY_YEAR")}
    assert "four-digit" in items[0].description


def test_more_than_50_years_ahead() -> None:
    assert _check(exp_year=TODAY.year + 50) == []
    assert _reasons(_check(exp_year=TODAY.year + 51)) == {("card.exp_year", "INVALID_EXPIRY_YEAR")}


def test_a_past_month_of_this_year_is_reported_on_exp_month() -> None:
    items = _check(exp_month=TODAY.month - 1, exp_year=TODAY.year)
    assert _reasons(items) == {("card.exp_month", "INVALID_EXPIRY_MONTH")}
    assert "past" in items[0].description


def test_a_card_is_good_through_its_expiry_month() -> None:
    assert _check(exp_month=TODAY.month, exp_year=TODAY.year) == []
    assert _check(exp_month=1, exp_year=2027, today=datetime.date(2026, 12, 31)) == []
    assert _check(exp_month=12, exp_year=2026, today=datetime.date(2026, 12, 31)) == []
    assert _reasons(_check(exp_month=12, exp_year=2026, today=datetime.date(2027, 1, 1))) == {
        ("card.exp_year", "INVALID_EXPIRY_YEAR")
    }


@pytest.mark.parametrize(
    ("number", "cvc"),
    [
        ("378282246310005", "123"),  # 3 digits for an Amex
        ("378282246310005", "12345"),
        ("4242424242424242", "1234"),  # 4 digits for a Visa
        ("4242424242424242", "12"),  # 2 digits
        ("4242424242424242", ""),
        ("4242424242424242", "12a"),
        ("4242424242424242", " 123"),
        ("4242424242424242", "１２３"),
    ],
)
def test_bad_cvc(number: str, cvc: str) -> None:
    assert _reasons(_check(number, cvc=cvc)) == {("card.cvc", "INVALID_CVC")}


def test_amex_takes_a_4_digit_cvc() -> None:
    assert _check("378282246310005", cvc="1234") == []
    items = _check("378282246310005", cvc="123")
    assert "4 digits" in items[0].description and "American Express" in items[0].description


def test_every_bad_field_is_reported_at_once_under_the_prefix() -> None:
    v = Violations()
    check_card(v, prefix="payment_method.card", number="12", exp_month=0, exp_year=2020, cvc="x", today=TODAY)
    assert _reasons(v.items) == {
        ("payment_method.card.number", "INVALID_NUMBER"),
        ("payment_method.card.exp_month", "INVALID_EXPIRY_MONTH"),
        ("payment_method.card.exp_year", "INVALID_EXPIRY_YEAR"),
        ("payment_method.card.cvc", "INVALID_CVC"),
    }


@pytest.mark.parametrize(
    "number", ["4242424242424241", "4242424242424242424242", "424242424242", "4242424242424a42", "378282246310005"]
)
def test_descriptions_never_contain_the_number_or_the_cvc(number: str) -> None:
    items = _check(number, exp_month=0, exp_year=1, cvc="98765")
    assert items
    for item in items:
        assert number not in item.description
        assert number[-8:] not in item.description
        assert "98765" not in item.description


@given(
    number=st.text(max_size=40),
    exp_month=st.integers(),
    exp_year=st.integers(),
    cvc=st.text(max_size=8),
    today=st.dates(),
)
def test_check_card_never_raises(number: str, exp_month: int, exp_year: int, cvc: str, today: datetime.date) -> None:
    v = Violations()
    check_card(v, prefix="card", number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, today=today)
    for item in v.items:
        assert item.field.startswith("card.")
        assert item.reason in {
            "INVALID_NUMBER",
            "INCORRECT_NUMBER",
            "INVALID_EXPIRY_MONTH",
            "INVALID_EXPIRY_YEAR",
            "INVALID_CVC",
        }
    assert len({item.field for item in v.items}) == len(v.items)  # at most one violation per field


@given(number=st.text(alphabet="0123456789 -", min_size=12, max_size=30), cvc=st.text(alphabet="0123456789"))
def test_no_description_echoes_a_number(number: str, cvc: str) -> None:
    v = Violations()
    check_card(v, prefix="card", number=number, exp_month=13, exp_year=1, cvc=cvc, today=TODAY)
    digits = normalize_pan(number)
    for item in v.items:
        assert digits not in item.description or len(digits) < 5
        assert (not cvc) or len(cvc) < 5 or cvc not in item.description


# --- summary, fingerprint, mask --------------------------------------------------------------------


def test_summarize_keeps_bin_last4_brand_expiry_and_fingerprint() -> None:
    summary = summarize("4242 4242 4242 4242", 12, 2030, KEY)
    assert summary.bin == "424242"
    assert summary.last4 == "4242"
    assert summary.brand is Brand.VISA
    assert (summary.exp_month, summary.exp_year) == (12, 2030)
    assert len(summary.fingerprint) == 32
    assert all(c in "0123456789abcdef" for c in summary.fingerprint)


@pytest.mark.parametrize(("pan", "_brand"), SUCCESS_CARDS)
def test_summary_never_contains_the_pan(pan: str, _brand: Brand) -> None:
    summary = summarize(pan, 1, 2031, KEY)
    assert pan not in repr(summary)
    assert pan not in str(summary)
    for value in dataclasses.astuple(summary):
        assert pan not in str(value)
    assert summary.brand is brand_of(pan)
    assert f"last4='{pan[-4:]}'" in repr(summary)


def test_summary_has_no_place_for_a_pan_or_cvc() -> None:
    assert {f.name for f in dataclasses.fields(CardSummary)} == {
        "bin",
        "last4",
        "brand",
        "exp_month",
        "exp_year",
        "fingerprint",
    }
    summary = summarize("4242424242424242", 12, 2030, KEY)
    assert not hasattr(summary, "__dict__")  # slots: no attribute can be added
    with pytest.raises((AttributeError, TypeError)):  # 3.11 raises TypeError for frozen slots classes
        summary.pan = "4242424242424242"  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.last4 = "0000"  # type: ignore[misc]


def test_fingerprint_is_stable_per_key_and_differs_across_keys_and_cards() -> None:
    one = summarize("4242424242424242", 12, 2030, KEY)
    again = summarize("4242-4242-4242-4242", 1, 2031, KEY)  # same card, other formatting and expiry
    other_key = summarize("4242424242424242", 12, 2030, b"fingerprint-key-two")
    other_card = summarize("4000056655665556", 12, 2030, KEY)
    assert one.fingerprint == again.fingerprint
    assert one.fingerprint != other_key.fingerprint
    assert one.fingerprint != other_card.fingerprint


def test_fingerprint_is_a_truncated_hmac_sha256() -> None:
    import hashlib
    import hmac

    expected = hmac.new(KEY, b"4242424242424242", hashlib.sha256).hexdigest()[:32]
    assert summarize("4242424242424242", 12, 2030, KEY).fingerprint == expected


@pytest.mark.parametrize("pan", ["", "4242", "42424242424", "4242x42424242424", "4" * 20])
def test_summarize_refuses_an_unvalidated_number_without_echoing_it(pan: str) -> None:
    with pytest.raises(ValueError) as caught:
        summarize(pan, 12, 2030, KEY)
    assert not pan or pan not in str(caught.value)


def test_summarize_refuses_an_empty_key() -> None:
    with pytest.raises(ValueError, match="fingerprint_key"):
        summarize("4242424242424242", 12, 2030, b"")


@pytest.mark.parametrize(
    ("pan", "masked"),
    [
        ("4242424242424242", "424242******4242"),
        ("4242 4242 4242 4242", "424242******4242"),
        ("378282246310005", "378282*****0005"),
        ("36227206271667", "362272****1667"),
        ("4000000000000000002", "400000*********0002"),
        ("424242424242", "424242**4242"),
        ("42424242424", "***********"),
        ("", ""),
    ],
)
def test_mask(pan: str, masked: str) -> None:
    assert mask(pan) == masked


@pytest.mark.parametrize(("pan", "_brand"), SUCCESS_CARDS)
def test_mask_never_contains_the_pan(pan: str, _brand: Brand) -> None:
    masked = mask(pan)
    assert pan not in masked
    assert len(masked) == len(pan)
    assert masked.count("*") == len(pan) - 10
