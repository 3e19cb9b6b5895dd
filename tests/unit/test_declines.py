"""Decline codes: the full public list, error-code families, customer messages, retry advice."""

from __future__ import annotations

import dataclasses

import pytest

from paysim.domain.declines import DECLINES, Decline, DeclineCategory, decline

# The reference's "Decline codes (the full public list)", verbatim.
PUBLIC_LIST = """
authentication_required, approve_with_id, call_issuer, card_not_supported, card_velocity_exceeded,
currency_not_supported, do_not_honor, do_not_try_again, duplicate_transaction, expired_card, fraudulent,
generic_decline, incorrect_number, incorrect_cvc, incorrect_pin, incorrect_zip, insufficient_funds,
invalid_account, invalid_amount, invalid_cvc, invalid_expiry_year, invalid_number, invalid_pin,
issuer_not_available, lost_card, merchant_blacklist, new_account_information_available, no_action_taken,
not_permitted, offline_pin_required, online_or_offline_pin_required, pickup_card, pin_try_exceeded,
processing_error, reenter_transaction, restricted_card, revocation_of_all_authorizations,
revocation_of_authorization, security_violation, service_not_allowed, stolen_card, stop_payment_order,
testmode_decline, transaction_not_allowed, try_again_later, withdrawal_count_limit_exceeded.
"""
PUBLIC_CODES = {code.strip(" \n.") for code in PUBLIC_LIST.split(",")}

# Codes the reference's card tables and "invalid data" line use.
TABLE_CODES = {
    "generic_decline",
    "insufficient_funds",
    "lost_card",
    "stolen_card",
    "expired_card",
    "incorrect_cvc",
    "processing_error",
    "card_velocity_exceeded",
    "incorrect_number",
    "fraudulent",
    "invalid_expiry_month",
    "invalid_expiry_year",
    "invalid_cvc",
}

# The error-code family of the reference's decline table.
TABLE_ERROR_CODES = {
    "generic_decline": "card_declined",
    "insufficient_funds": "card_declined",
    "lost_card": "card_declined",
    "stolen_card": "card_declined",
    "expired_card": "expired_card",
    "incorrect_cvc": "incorrect_cvc",
    "processing_error": "processing_error",
    "card_velocity_exceeded": "card_declined",
    "incorrect_number": "incorrect_number",
    "fraudulent": "card_declined",
}

RETRYABLE = [
    "insufficient_funds",
    "processing_error",
    "issuer_not_available",
    "try_again_later",
    "reenter_transaction",
    "approve_with_id",
]
NOT_RETRYABLE = [
    "lost_card",
    "stolen_card",
    "fraudulent",
    "pickup_card",
    "do_not_try_again",
    "expired_card",
    "incorrect_number",
    "invalid_account",
    "restricted_card",
    "revocation_of_authorization",
    "revocation_of_all_authorizations",
]
FIX_AND_RETRY = ["incorrect_cvc", "expired_card", "incorrect_number", "invalid_cvc", "incorrect_zip"]
# Codes that reveal a fraud or risk verdict must not show it to the customer.
SECRET_VERDICTS = ["fraudulent", "lost_card", "stolen_card", "pickup_card", "merchant_blacklist", "security_violation"]


def test_the_public_list_parses_to_46_codes() -> None:
    assert len(PUBLIC_CODES) == 46
    assert all(code.isidentifier() and code.islower() for code in PUBLIC_CODES)


def test_every_public_code_and_every_table_code_is_covered_and_nothing_else() -> None:
    assert set(DECLINES) == PUBLIC_CODES | TABLE_CODES
    assert len(DECLINES) == 47


@pytest.mark.parametrize("code", sorted(PUBLIC_CODES | TABLE_CODES))
def test_each_decline_is_well_formed(code: str) -> None:
    entry = decline(code)
    assert entry is DECLINES[code]
    assert entry.code == code
    assert entry.error_code.isidentifier() and entry.error_code.islower()
    assert entry.message and entry.message[0].isupper() and entry.message.endswith(".")
    assert "_" not in entry.message  # a sentence for people, not a code
    assert entry.retryable is (entry.category is DeclineCategory.SOFT)


@pytest.mark.parametrize(("code", "error_code"), sorted(TABLE_ERROR_CODES.items()))
def test_error_code_families_match_the_reference(code: str, error_code: str) -> None:
    assert decline(code).error_code == error_code


def test_most_codes_are_card_declined() -> None:
    families = [d.error_code for d in DECLINES.values()]
    assert families.count("card_declined") > len(families) // 2


@pytest.mark.parametrize("code", RETRYABLE)
def test_soft_declines_are_retryable(code: str) -> None:
    assert decline(code).retryable
    assert decline(code).category is DeclineCategory.SOFT


@pytest.mark.parametrize("code", NOT_RETRYABLE)
def test_hard_and_fix_declines_are_not_retryable(code: str) -> None:
    assert not decline(code).retryable


@pytest.mark.parametrize("code", FIX_AND_RETRY)
def test_fix_and_retry_codes(code: str) -> None:
    assert decline(code).category is DeclineCategory.FIX_AND_RETRY


@pytest.mark.parametrize("code", ["lost_card", "stolen_card", "fraudulent", "pickup_card", "do_not_try_again"])
def test_hard_codes(code: str) -> None:
    assert decline(code).category is DeclineCategory.HARD


@pytest.mark.parametrize("code", SECRET_VERDICTS)
def test_risk_verdicts_show_the_customer_a_generic_message(code: str) -> None:
    message = decline(code).message.lower()
    assert message == "your card was declined."
    for word in ("fraud", "lost", "stolen", "pick", "blacklist", "security"):
        assert word not in message


def test_a_few_messages() -> None:
    assert decline("insufficient_funds").message == "Your card has insufficient funds."
    assert decline("expired_card").message == "Your card has expired."
    assert decline("incorrect_cvc").message == "Your card's security code is incorrect."


def test_unknown_code_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        decline("not_a_code")
    with pytest.raises(KeyError):
        decline("GENERIC_DECLINE")


def test_declines_are_immutable() -> None:
    with pytest.raises(TypeError):
        DECLINES["x"] = decline("generic_decline")  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        decline("generic_decline").retryable = False  # type: ignore[misc]
    assert isinstance(decline("generic_decline"), Decline)
