"""The deterministic scenario catalogue: test cards, magic amounts, holder names, precedence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paysim.domain.card_issuers import Funding, Issuer, issuer_of
from paysim.domain.cards import brand_of, luhn_valid, normalize_pan
from paysim.domain.declines import DECLINES
from paysim.domain.scenarios import (
    CARD_SCENARIOS,
    DEFAULT_SCENARIO,
    MAGIC_AMOUNTS,
    Scenario,
    ScenarioKind,
    catalogue,
    holder_name_code,
    scenario_for,
)

PLAIN_AMOUNT = 2_000
PLAIN_CARD = "4242424242424242"
NO_NAME = "Jane Doe"

SUCCESS_CARDS = {
    "4242424242424242": "Visa",
    "4000056655665556": "Visa (debit)",
    "5555555555554444": "Mastercard",
    "2223003122003222": "Mastercard (2-series)",
    "5200828282828210": "Mastercard (debit)",
    "5105105105105100": "Mastercard (prepaid)",
    "378282246310005": "American Express",
    "371449635398431": "American Express",
    "6011111111111117": "Discover",
    "6011000990139424": "Discover",
    "3056930009020004": "Diners Club",
    "36227206271667": "Diners Club",
    "3566002020360505": "JCB",
    "6200000000000005": "UnionPay",
}

DECLINE_CARDS = {
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000009987": "lost_card",
    "4000000000009979": "stolen_card",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
    "4000000000006975": "card_velocity_exceeded",
    "4100000000000019": "fraudulent",
}

THREE_DS_CARDS: dict[str, tuple[ScenarioKind, str | None]] = {
    "4000002500003155": (ScenarioKind.THREE_DS_REQUIRED, None),
    "4000002760003184": (ScenarioKind.THREE_DS_REQUIRED, None),
    "4000000000003220": (ScenarioKind.THREE_DS_REQUIRED, None),
    "4000000000003063": (ScenarioKind.THREE_DS_REQUIRED, None),
    "4000003800000446": (ScenarioKind.THREE_DS_REQUIRED, None),
    "4000008260003178": (ScenarioKind.THREE_DS_AUTH_THEN_DECLINE, "insufficient_funds"),
    "4000008400001629": (ScenarioKind.THREE_DS_CHALLENGE_THEN_DECLINE, "generic_decline"),
    "4000008400001280": (ScenarioKind.THREE_DS_LOOKUP_ERROR, "processing_error"),
    "4000000000003055": (ScenarioKind.THREE_DS_FRICTIONLESS, None),
    "4000000000003097": (ScenarioKind.THREE_DS_ATTEMPT_ERROR, None),
    "4242424242424242": (ScenarioKind.APPROVE, None),
    "378282246310005": (ScenarioKind.THREE_DS_NOT_SUPPORTED, None),
}

# Fraud screening (domain/radar.py) and the card declined once attached to a customer.
SCREENING_CARDS: dict[str, tuple[ScenarioKind, str | None]] = {
    "4000000000004954": (ScenarioKind.BLOCKED_HIGHEST_RISK, "fraudulent"),
    "4000000000009235": (ScenarioKind.ELEVATED_RISK, None),
    "4000000000000101": (ScenarioKind.CHECKS, "incorrect_cvc"),
    "4000000000000028": (ScenarioKind.CHECKS, None),
    "4000000000000036": (ScenarioKind.CHECKS, None),
    "4000000000000010": (ScenarioKind.CHECKS, None),
    "4000000000000044": (ScenarioKind.CHECKS, None),
    "4000000000000341": (ScenarioKind.DECLINE, "generic_decline"),
}

AFTER_PAYMENT_CARDS = {
    "4000000000000259": ScenarioKind.DISPUTE_FRAUDULENT,
    "4000000000002685": ScenarioKind.DISPUTE_NOT_RECEIVED,
    "4000000000001976": ScenarioKind.DISPUTE_INQUIRY,
    "4000000000005423": ScenarioKind.DISPUTE_EARLY_FRAUD_WARNING,
    "4000000000007726": ScenarioKind.REFUND_ASYNC,
    "4000000000005126": ScenarioKind.REFUND_FAILS,
}

MAGIC = {
    1_000_002: "generic_decline",
    1_009_995: "insufficient_funds",
    1_009_987: "lost_card",
    1_009_979: "stolen_card",
    1_000_069: "expired_card",
    1_000_127: "incorrect_cvc",
    1_000_119: "processing_error",
    1_006_975: "card_velocity_exceeded",
    1_000_019: "fraudulent",
}


# Stripe's cards by country and by funding (docs.stripe.com/testing): number → (country, funding).
COUNTRY_CARDS = {
    "4000000760000002": ("BR", "credit"),
    "4000001240000000": ("CA", "credit"),
    "4000001520000001": ("CL", "credit"),
    "4000001700000003": ("CO", "credit"),
    "4000001880000005": ("CR", "credit"),
    "4000002180000000": ("EC", "credit"),
    "4000004840008001": ("MX", "credit"),
    "4000005910000000": ("PA", "credit"),
    "4000006000000066": ("PY", "credit"),
    "4000006040000068": ("PE", "credit"),
    "4000008580000003": ("UY", "credit"),
    "4000000320000021": ("AR", "credit"),
    "4000007840000001": ("AE", "credit"),
    "4000000400000008": ("AT", "credit"),
    "4000000560000004": ("BE", "credit"),
    "4000001000000000": ("BG", "credit"),
    "4000001910000009": ("HR", "credit"),
    "4000001960000008": ("CY", "credit"),
    "4000002030000002": ("CZ", "credit"),
    "4000002080000001": ("DK", "credit"),
    "4000002330000009": ("EE", "credit"),
    "4000002460000001": ("FI", "credit"),
    "4000002500000003": ("FR", "credit"),
    "4000002760000016": ("DE", "credit"),
    "4000002920000005": ("GI", "credit"),
    "4000003000000030": ("GR", "credit"),
    "4000003480000005": ("HU", "credit"),
    "4000003720000005": ("IE", "credit"),
    "4000003800000008": ("IT", "credit"),
    "4000004280000005": ("LV", "credit"),
    "4000004380000004": ("LI", "credit"),
    "4000004400000000": ("LT", "credit"),
    "4000004420000006": ("LU", "credit"),
    "4000004700000007": ("MT", "credit"),
    "4000005280000002": ("NL", "credit"),
    "4000005780000007": ("NO", "credit"),
    "4000006160000005": ("PL", "credit"),
    "4000006200000007": ("PT", "credit"),
    "4000006420000001": ("RO", "credit"),
    "4000007050000006": ("SI", "credit"),
    "4000007030000001": ("SK", "credit"),
    "4000007240000007": ("ES", "credit"),
    "4000007520000008": ("SE", "credit"),
    "4000007560000009": ("CH", "credit"),
    "4000008260000000": ("GB", "credit"),
    "4000058260000005": ("GB", "debit"),
    "5555558265554449": ("GB", "credit"),
    "4000000360000006": ("AU", "credit"),
    "4000001560000002": ("CN", "credit"),
    "4000003440000004": ("HK", "credit"),
    "4000003560000008": ("IN", "credit"),
    "4000003920000003": ("JP", "credit"),
    "3530111333300000": ("JP", "credit"),
    "4000004580000002": ("MY", "credit"),
    "4000005540000008": ("NZ", "credit"),
    "4000007020000003": ("SG", "credit"),
    "4000001580000008": ("TW", "credit"),
    "4000007640000003": ("TH", "credit"),
    "4000057640000008": ("TH", "debit"),
    "6011981111111113": ("US", "debit"),
    "6200000000000047": ("CN", "debit"),
}


def test_every_reference_card_has_a_scenario_and_nothing_else_does() -> None:
    expected = (
        set(SUCCESS_CARDS)
        | set(DECLINE_CARDS)
        | set(THREE_DS_CARDS)
        | set(AFTER_PAYMENT_CARDS)
        | set(COUNTRY_CARDS)
        | set(SCREENING_CARDS)
    )
    assert set(CARD_SCENARIOS) == expected
    assert len(CARD_SCENARIOS) == 37 + 61 + 8 + 2


@pytest.mark.parametrize(("pan", "expected"), sorted(SCREENING_CARDS.items()))
def test_screening_cards(pan: str, expected: tuple[ScenarioKind, str | None]) -> None:
    scenario = scenario_for(pan, PLAIN_AMOUNT, NO_NAME)
    assert (scenario.kind, scenario.decline_code) == expected


def test_the_card_declined_after_attach_names_no_magic_amount() -> None:
    assert 1_000_341 not in MAGIC_AMOUNTS


@pytest.mark.parametrize(("pan", "issued"), sorted(COUNTRY_CARDS.items()))
def test_cards_by_country_approve_and_say_where_they_were_issued(pan: str, issued: tuple[str, str]) -> None:
    assert CARD_SCENARIOS[pan].kind is ScenarioKind.APPROVE
    issuer = issuer_of(pan, in_catalogue=True)
    assert (issuer.country, issuer.funding.value) == issued


def test_funding_of_the_brand_cards_and_of_cards_outside_the_catalogue() -> None:
    assert issuer_of("4242424242424242", in_catalogue=True) == Issuer("US", Funding.CREDIT)
    assert issuer_of("4000056655665556", in_catalogue=True) == Issuer("US", Funding.DEBIT)
    assert issuer_of("5105105105105100", in_catalogue=True) == Issuer("US", Funding.PREPAID)
    assert issuer_of("4000000000009995", in_catalogue=True) == Issuer("US", Funding.CREDIT)
    assert issuer_of("4111111111111111", in_catalogue=False) == Issuer("", Funding.UNKNOWN)


@pytest.mark.parametrize("pan", sorted(CARD_SCENARIOS))
def test_every_scenario_card_is_a_valid_number_and_its_trigger_names_it(pan: str) -> None:
    assert luhn_valid(pan)
    assert CARD_SCENARIOS[pan].trigger == f"card {pan}"
    assert scenario_for(pan, PLAIN_AMOUNT, NO_NAME) is CARD_SCENARIOS[pan]


@pytest.mark.parametrize(("pan", "label"), sorted(SUCCESS_CARDS.items()))
def test_success_cards_approve_and_name_their_brand(pan: str, label: str) -> None:
    scenario = CARD_SCENARIOS[pan]
    # 378282246310005 is also the reference's "does not support 3DS" card: it approves without 3DS.
    expected = ScenarioKind.THREE_DS_NOT_SUPPORTED if pan == "378282246310005" else ScenarioKind.APPROVE
    assert scenario.kind is expected
    assert scenario.decline_code is None
    assert scenario.description.startswith(label)
    assert brand_of(pan).label in scenario.description
    assert "approves" in scenario.description


def test_4242_supports_3ds_but_is_not_enrolled() -> None:
    assert "not enrolled" in CARD_SCENARIOS["4242424242424242"].description


@pytest.mark.parametrize(("pan", "code"), sorted(DECLINE_CARDS.items()))
def test_decline_cards(pan: str, code: str) -> None:
    scenario = scenario_for(pan, PLAIN_AMOUNT, NO_NAME)
    assert scenario.kind is ScenarioKind.DECLINE
    assert scenario.decline_code == code
    assert code in scenario.description


def test_fraud_and_processing_error_cards() -> None:
    assert CARD_SCENARIOS["4100000000000019"].decline_code == "fraudulent"
    assert CARD_SCENARIOS["4000000000000119"].decline_code == "processing_error"


def test_the_luhn_failure_card_is_not_a_scenario() -> None:
    assert "4242424242424241" not in CARD_SCENARIOS
    assert not luhn_valid("4242424242424241")


@pytest.mark.parametrize(("pan", "expected"), sorted(THREE_DS_CARDS.items()))
def test_three_ds_cards(pan: str, expected: tuple[ScenarioKind, str | None]) -> None:
    scenario = scenario_for(pan, PLAIN_AMOUNT, NO_NAME)
    assert (scenario.kind, scenario.decline_code) == expected


def test_always_requires_authentication_is_distinguished_in_the_description() -> None:
    assert "always" in CARD_SCENARIOS["4000002760003184"].description
    assert "insufficient_funds" in CARD_SCENARIOS["4000008260003178"].description
    assert "card_declined" in CARD_SCENARIOS["4000008400001629"].description


@pytest.mark.parametrize(("pan", "kind"), sorted(AFTER_PAYMENT_CARDS.items()))
def test_dispute_and_refund_cards(pan: str, kind: ScenarioKind) -> None:
    scenario = scenario_for(pan, PLAIN_AMOUNT, NO_NAME)
    assert scenario.kind is kind
    assert scenario.decline_code is None


def test_every_kind_has_a_card() -> None:
    kinds = {s.kind for s in CARD_SCENARIOS.values()}
    assert kinds == set(ScenarioKind)


@pytest.mark.parametrize(("amount", "code"), sorted(MAGIC.items()))
def test_magic_amounts_force_a_decline_with_any_card(amount: int, code: str) -> None:
    for pan in (PLAIN_CARD, "5555555555554444", "4000000000003055", "4111111111111111"):
        scenario = scenario_for(pan, amount, NO_NAME)
        assert scenario is MAGIC_AMOUNTS[amount]
        assert (scenario.kind, scenario.decline_code) == (ScenarioKind.DECLINE, code)
        assert scenario.trigger == f"amount {amount}"


def test_magic_amounts_mirror_the_decline_cards() -> None:
    assert set(MAGIC_AMOUNTS) == set(MAGIC)
    derived = {1_000_000 + int(pan[-4:]): code for pan, code in DECLINE_CARDS.items()}
    assert derived == MAGIC


@pytest.mark.parametrize("amount", [0, 1, 999_999, 1_000_000, 1_000_001, 1_000_003, 1_009_996, 10_000_002, -1_000_002])
def test_other_amounts_are_not_magic(amount: int) -> None:
    assert scenario_for(PLAIN_CARD, amount, NO_NAME) is CARD_SCENARIOS[PLAIN_CARD]


@pytest.mark.parametrize("code", sorted(DECLINES))
def test_holder_name_triggers_every_decline_code(code: str) -> None:
    scenario = scenario_for(PLAIN_CARD, PLAIN_AMOUNT, f"decline {code}")
    assert (scenario.kind, scenario.decline_code) == (ScenarioKind.DECLINE, code)
    assert scenario.trigger == f"holder name 'decline {code}'"


@pytest.mark.parametrize(
    "name",
    [
        "Decline do_not_honor",
        "DECLINE DO_NOT_HONOR",
        "  decline do_not_honor  ",
        "decline   do_not_honor",
        "\tDecline Do_Not_Honor\n",
    ],
)
def test_holder_name_is_case_and_space_insensitive(name: str) -> None:
    assert holder_name_code(name) == "do_not_honor"
    assert scenario_for(PLAIN_CARD, PLAIN_AMOUNT, name).decline_code == "do_not_honor"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "decline",
        "decline nope",
        "decline card_declined",  # an error-code family, not a decline code
        "declined insufficient_funds",
        "decline insufficient funds",
        "decline insufficient_funds now",
        "please decline insufficient_funds",
        "declineinsufficient_funds",
        "Jane Doe",
    ],
)
def test_other_holder_names_are_not_triggers(name: str) -> None:
    assert holder_name_code(name) is None
    assert scenario_for(PLAIN_CARD, PLAIN_AMOUNT, name) is CARD_SCENARIOS[PLAIN_CARD]
    assert scenario_for("4111111111111111", PLAIN_AMOUNT, name) is DEFAULT_SCENARIO


def test_precedence_holder_name_over_amount_over_card_over_default() -> None:
    card = "4000000000009987"  # lost_card
    amount = 1_009_979  # stolen_card
    name = "decline pickup_card"
    assert scenario_for(card, amount, name).decline_code == "pickup_card"
    assert scenario_for(card, amount, NO_NAME).decline_code == "stolen_card"
    assert scenario_for(card, PLAIN_AMOUNT, NO_NAME).decline_code == "lost_card"
    assert scenario_for("4111111111111111", PLAIN_AMOUNT, NO_NAME) is DEFAULT_SCENARIO


def test_a_magic_amount_overrides_a_3ds_card_and_a_name_overrides_a_dispute_card() -> None:
    assert scenario_for("4000002500003155", 1_000_002, NO_NAME).kind is ScenarioKind.DECLINE
    assert scenario_for("4000000000000259", PLAIN_AMOUNT, "decline try_again_later").decline_code == "try_again_later"


def test_card_lookup_ignores_spaces_and_dashes() -> None:
    assert scenario_for("4000 0000 0000 9995", PLAIN_AMOUNT, NO_NAME).decline_code == "insufficient_funds"
    assert scenario_for("4000-0000-0000-9995", PLAIN_AMOUNT, NO_NAME).decline_code == "insufficient_funds"


def test_default_approves() -> None:
    assert DEFAULT_SCENARIO.kind is ScenarioKind.APPROVE
    assert DEFAULT_SCENARIO.decline_code is None
    assert DEFAULT_SCENARIO.description == "any other valid card approves"


@given(pan=st.text(max_size=25), amount=st.integers(), name=st.text(max_size=40))
def test_scenario_for_always_answers(pan: str, amount: int, name: str) -> None:
    scenario = scenario_for(pan, amount, name)
    assert scenario in catalogue()
    if scenario.trigger.startswith("card "):  # a trigger names a card only when it is a catalogue test card
        assert normalize_pan(pan) in CARD_SCENARIOS


def test_catalogue_has_every_entry_with_a_self_describing_trigger() -> None:
    entries = catalogue()
    assert len(entries) == len(CARD_SCENARIOS) + len(MAGIC_AMOUNTS) + len(DECLINES) + 1
    assert entries[-1] is DEFAULT_SCENARIO
    assert len({s.trigger for s in entries}) == len(entries)
    for entry in entries:
        assert isinstance(entry, Scenario)
        assert entry.trigger.startswith(("card ", "amount ", "holder name '", "any other valid card"))
        assert entry.description
        assert (entry.decline_code is None) or entry.decline_code in DECLINES
        if entry.kind is ScenarioKind.DECLINE:
            assert entry.decline_code is not None
    assert set(CARD_SCENARIOS.values()) <= set(entries)
    assert set(MAGIC_AMOUNTS.values()) <= set(entries)


def test_catalogue_is_a_fresh_list() -> None:
    first = catalogue()
    first.clear()
    assert catalogue()


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        CARD_SCENARIOS["4111111111111111"] = DEFAULT_SCENARIO  # type: ignore[index]
    with pytest.raises(TypeError):
        MAGIC_AMOUNTS[5] = DEFAULT_SCENARIO  # type: ignore[index]
