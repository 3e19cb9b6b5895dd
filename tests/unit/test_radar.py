"""Fraud screening, the pure part: risk levels, the issuer's checks, Stripe's default rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paysim.domain.radar import (
    CHECK_CARDS,
    CVC_CHECK_FAILED,
    HIGHEST_RISK_LEVEL,
    POSTAL_CODE_CHECK_FAILED,
    RISK_CARDS,
    Block,
    Check,
    RiskLevel,
    Screening,
    blocked,
    screen,
)
from paysim.domain.scenarios import CARD_SCENARIOS, scenario_for

P, F, U, N = Check.PASS, Check.FAIL, Check.UNAVAILABLE, Check.UNCHECKED


def screened(pan: str, *, line1: bool = True, postal: bool = True, amount: int = 2_000, name: str = "Ann") -> Screening:
    return screen(scenario_for(pan, amount, name), address_line1_given=line1, postal_code_given=postal)


@pytest.mark.parametrize(
    ("pan", "level", "block"),
    [
        ("4000000000004954", RiskLevel.HIGHEST, Block(HIGHEST_RISK_LEVEL, "fraudulent")),
        ("4100000000000019", RiskLevel.HIGHEST, Block(HIGHEST_RISK_LEVEL, "fraudulent")),
        ("4000000000009235", RiskLevel.ELEVATED, None),
        ("4242424242424242", RiskLevel.NORMAL, None),
        ("4111111111111111", RiskLevel.NORMAL, None),  # outside the catalogue
    ],
)
def test_risk_levels_and_the_highest_risk_rule(pan: str, level: RiskLevel, block: Block | None) -> None:
    screening = screened(pan)
    assert screening.risk_level is level
    assert blocked(screening) == block


@pytest.mark.parametrize(
    ("pan", "checks", "block"),
    [
        ("4000000000000101", (F, P, P), Block(CVC_CHECK_FAILED, "incorrect_cvc")),
        ("4000000000000028", (P, F, P), None),
        ("4000000000000036", (P, P, F), Block(POSTAL_CODE_CHECK_FAILED, "incorrect_zip")),
        ("4000000000000010", (P, F, F), Block(POSTAL_CODE_CHECK_FAILED, "incorrect_zip")),
        ("4000000000000044", (P, U, U), None),
        ("4242424242424242", (P, P, P), None),
    ],
)
def test_check_cards_with_an_address(pan: str, checks: tuple[Check, Check, Check], block: Block | None) -> None:
    screening = screened(pan)
    assert (screening.cvc_check, screening.address_line1_check, screening.address_postal_code_check) == checks
    assert blocked(screening) == block


@pytest.mark.parametrize("pan", sorted(CHECK_CARDS))
def test_without_an_address_the_address_is_unchecked_and_only_the_cvc_can_block(pan: str) -> None:
    screening = screened(pan, line1=False, postal=False)
    assert (screening.address_line1_check, screening.address_postal_code_check) == (N, N)
    expected = Block(CVC_CHECK_FAILED, "incorrect_cvc") if CHECK_CARDS[pan][0] is F else None
    assert blocked(screening) == expected


def test_a_holder_name_or_a_magic_amount_replaces_the_cards_screening() -> None:
    by_name = screened("4000000000004954", name="decline insufficient_funds")
    by_amount = screened("4000000000000101", amount=1_009_995)
    for screening in (by_name, by_amount):
        assert screening.risk_level is RiskLevel.NORMAL and screening.cvc_check is P
        assert blocked(screening) is None


def test_every_screened_card_is_in_the_catalogue() -> None:
    assert set(CHECK_CARDS) <= set(CARD_SCENARIOS)
    assert {"4000000000004954", "4000000000009235", "4100000000000019"} <= set(CARD_SCENARIOS)


def test_the_readme_table_lists_every_screened_card() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Risk levels and verification checks", 1)[1].split("\n### ", 1)[0]
    listed = re.findall(r"^\| `(\d+)` \|", section, re.MULTILINE)
    assert sorted(listed) == sorted({*RISK_CARDS, *CHECK_CARDS})
