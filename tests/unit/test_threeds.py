"""3-D Secure's pure logic: profiles from the catalogue, plans, the merchant's policy, ECI per network,
CAVV, the signed challenge messages, the rules of an open challenge, the aggregate's 3DS events, and
the network deciding a card given only its fingerprint exactly as it would for its number."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paysim.domain import cards, payment_rules, threeds
from paysim.domain import payment as agg
from paysim.domain.errors import FailedPrecondition, NotFound
from paysim.domain.payment_events import (
    PaymentCreated,
    ThreeDSAuthenticated,
    ThreeDSChallengeExpired,
    ThreeDSChallengeRequired,
    ThreeDSFailed,
)
from paysim.domain.scenarios import CARD_SCENARIOS, MAGIC_AMOUNTS, ScenarioKind
from paysim.domain.threeds import (
    AcsAction,
    Authentication,
    ChallengeStatus,
    MessageSigner,
    Plan,
    Policy,
    PolicyMode,
    Profile,
    Threshold,
    TransStatus,
)
from paysim.domain.validation import Violations
from paysim.gateways.base import AuthorizationRequest
from paysim.gateways.engine import CatalogueCards, card_decision
from paysim.gateways.simulator import SimulatorGateway
from paysim.gateways.stripe_like import StripeLikeGateway

KEY = b"k" * 48
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)

# reference/test-cards.md, 3-D Secure 2.
REFERENCE_PROFILES = {
    "4000002500003155": Profile.CHALLENGE,
    "4000002760003184": Profile.CHALLENGE,
    "4000000000003220": Profile.CHALLENGE,
    "4000008260003178": Profile.CHALLENGE,
    "4000008400001629": Profile.CHALLENGE,
    "4000008400001280": Profile.LOOKUP_ERROR,
    "4000000000003055": Profile.FRICTIONLESS,
    "4000000000003097": Profile.ATTEMPT_ERROR,
    "4242424242424242": Profile.NOT_ENROLLED,
    "378282246310005": Profile.NOT_SUPPORTED,
}


@pytest.mark.parametrize(("pan", "profile"), sorted(REFERENCE_PROFILES.items()))
def test_reference_cards_have_their_profiles(pan: str, profile: Profile) -> None:
    assert threeds.profile_for(CARD_SCENARIOS[pan].kind) is profile


def test_every_3ds_scenario_kind_has_a_profile_and_others_are_not_enrolled() -> None:
    for kind in ScenarioKind:
        profile = threeds.profile_for(kind)
        if kind.value.startswith("three_ds"):
            assert profile is not Profile.NOT_ENROLLED, kind
        else:
            assert profile is Profile.NOT_ENROLLED, kind
    assert {p for p in Profile if p.mandated} == {Profile.CHALLENGE, Profile.LOOKUP_ERROR}


@pytest.mark.parametrize(
    ("profile", "not_requested", "requested"),
    [
        (Profile.CHALLENGE, Plan.CHALLENGE, Plan.CHALLENGE),
        (Profile.LOOKUP_ERROR, Plan.LOOKUP_FAILED, Plan.LOOKUP_FAILED),
        (Profile.FRICTIONLESS, Plan.NONE, Plan.FRICTIONLESS),
        (Profile.ATTEMPT_ERROR, Plan.NONE, Plan.ERROR),
        (Profile.NOT_ENROLLED, Plan.NONE, Plan.ATTEMPTED),
        (Profile.NOT_SUPPORTED, Plan.NONE, Plan.NOT_SUPPORTED),
    ],
)
def test_plan(profile: Profile, not_requested: Plan, requested: Plan) -> None:
    assert threeds.plan(profile, False) is not_requested
    assert threeds.plan(profile, True) is requested


def test_policy_requests() -> None:
    assert not Policy().requests(10**12, "USD")
    assert Policy(PolicyMode.ALWAYS).requests(1, "JPY")
    above = Policy(PolicyMode.ABOVE_AMOUNT, (Threshold("USD", 5_000), Threshold("JPY", 0)))
    assert not above.requests(5_000, "USD") and above.requests(5_001, "USD")
    assert above.requests(1, "JPY")
    assert not above.requests(10**12, "EUR")  # no threshold in that currency
    assert threeds.policy_from("above_amount", above.to_dict()) == above


@pytest.mark.parametrize(
    ("policy", "fields"),
    [
        (Policy(), set()),
        (Policy(PolicyMode.ALWAYS), set()),
        (Policy(PolicyMode.ABOVE_AMOUNT, (Threshold("USD", 0), Threshold("KWD", 10**12))), set()),
        (Policy(PolicyMode.ABOVE_AMOUNT), {"thresholds"}),
        (Policy(PolicyMode.NEVER, (Threshold("USD", 1),)), {"thresholds"}),
        (Policy(PolicyMode.ABOVE_AMOUNT, (Threshold("usd", 1),)), {"thresholds[0].currency_code"}),
        (Policy(PolicyMode.ABOVE_AMOUNT, (Threshold("USD", 10**12 + 1),)), {"thresholds[0].amount_minor"}),
        (
            Policy(PolicyMode.ABOVE_AMOUNT, (Threshold("USD", 1), Threshold("USD", -1))),
            {"thresholds[1].currency_code", "thresholds[1].amount_minor"},
        ),
    ],
)
def test_check_policy(policy: Policy, fields: set[str]) -> None:
    v = Violations()
    threeds.check_policy(v, policy)
    assert {item.field for item in v.items} == fields


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ("visa", ("05", "06", "07")),
        ("amex", ("05", "06", "07")),
        ("discover", ("05", "06", "07")),
        ("jcb", ("05", "06", "07")),
        ("mastercard", ("02", "01", "00")),
    ],
)
def test_eci_per_network(brand: str, expected: tuple[str, str, str]) -> None:
    got = tuple(threeds.eci(brand, s) for s in (TransStatus.AUTHENTICATED, TransStatus.ATTEMPTED))
    failed = {
        threeds.eci(brand, s) for s in (TransStatus.NOT_AUTHENTICATED, TransStatus.REJECTED, TransStatus.UNAVAILABLE)
    }
    assert (*got, *failed) == expected
    assert threeds.eci(brand, TransStatus.CHALLENGE_REQUIRED) == ""


def test_cavv_is_20_bytes_for_authenticated_and_attempted_only() -> None:
    ds = threeds.new_ds_transaction_id()
    for status in (TransStatus.AUTHENTICATED, TransStatus.ATTEMPTED):
        value = threeds.cavv(KEY, ds, status)
        assert len(value) == 28 and len(base64.b64decode(value)) == 20
        assert value == threeds.cavv(KEY, ds, status)  # the same result, the same value
        assert value != threeds.cavv(b"another key" * 4, ds, status)
    assert threeds.cavv(KEY, ds, TransStatus.AUTHENTICATED) != threeds.cavv(KEY, ds, TransStatus.ATTEMPTED)
    for status in (TransStatus.NOT_AUTHENTICATED, TransStatus.REJECTED, TransStatus.UNAVAILABLE):
        assert threeds.cavv(KEY, ds, status) == ""


# --- signed messages ----------------------------------------------------------------------------


def test_messages_verify_only_unaltered_with_their_key_and_kind() -> None:
    signer = MessageSigner(KEY, "challenge_request")
    token = signer.sign({"payment_id": "pay_1", "amount_minor": 5})
    assert signer.verify(token) == {"payment_id": "pay_1", "amount_minor": 5, "kind": "challenge_request"}
    assert MessageSigner(KEY, "acs_result").verify(token) is None  # another purpose
    assert MessageSigner(b"x" * 48, "challenge_request").verify(token) is None  # another key
    payload, signature = token.split(".")
    for altered in (
        payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature,
        payload + "." + signature[:-1] + ("A" if signature[-1] != "A" else "B"),
        payload + "." + signature + "A",
        payload,
        "." + signature,
        token + ".x",
    ):
        assert signer.verify(altered) is None, altered


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_arbitrary_text_never_verifies_and_never_raises(text: str) -> None:
    assert MessageSigner(KEY, "acs_result").verify(text) is None


def test_a_new_challenge_is_signed_and_expires_in_15_minutes() -> None:
    signer = MessageSigner(KEY, "challenge_request")
    challenge, pending = threeds.new_challenge(signer, payment_id="pay_1", amount=700, currency="EUR", now=NOW)
    assert challenge.id.startswith("chl_") and challenge.status is ChallengeStatus.PENDING
    assert challenge.expires_at == NOW + timedelta(minutes=15) and challenge.created_at == NOW
    assert (pending.trans_status, pending.challenged, pending.eci, pending.cavv) == ("C", True, "", "")
    fields = signer.verify(challenge.request)
    assert fields is not None
    request = threeds.read_challenge_request(fields)
    assert request is not None
    assert (request.payment_id, request.challenge_id, request.amount, request.currency) == (
        "pay_1",
        challenge.id,
        700,
        "EUR",
    )
    assert request.expires_at == challenge.expires_at and request.ds_transaction_id == pending.ds_transaction_id
    assert threeds.challenge_from(challenge.to_dict()) == challenge


@pytest.mark.parametrize(
    ("action", "status", "reason", "has_cavv"),
    [
        (AcsAction.APPROVE, TransStatus.AUTHENTICATED, "", True),
        (AcsAction.DENY, TransStatus.NOT_AUTHENTICATED, "cardholder_denied", False),
        (AcsAction.WRONG_CODE, TransStatus.REJECTED, "wrong_code", False),
    ],
)
def test_acs_answers(action: AcsAction, status: TransStatus, reason: str, has_cavv: bool) -> None:
    signer = MessageSigner(KEY, "challenge_request")
    challenge, _ = threeds.new_challenge(signer, payment_id="pay_1", amount=1, currency="USD", now=NOW)
    fields = signer.verify(challenge.request)
    assert fields is not None
    request = threeds.read_challenge_request(fields)
    assert request is not None
    answer = threeds.acs_answer(request, action, KEY)
    assert (answer.trans_status, answer.reason, bool(answer.cavv)) == (status, reason, has_cavv)
    assert answer == threeds.acs_answer(request, action, KEY)  # the ACS answers alike every time
    results = MessageSigner(KEY, "acs_result")
    verified = results.verify(results.sign(answer.fields()))
    assert verified is not None and threeds.read_acs_result(verified) == answer
    assert threeds.proceeds(status) is (action is AcsAction.APPROVE)


def test_read_rejects_incomplete_fields() -> None:
    assert threeds.read_challenge_request({"payment_id": "pay_1"}) is None
    assert threeds.read_acs_result({"payment_id": "pay_1", "trans_status": "Q"}) is None


def test_rules_of_an_open_challenge() -> None:
    challenge, _ = threeds.new_challenge(
        MessageSigner(KEY, "challenge_request"), payment_id="pay_1", amount=1, currency="USD", now=NOW
    )
    assert threeds.open_challenge(challenge, "pay_1", challenge.id, NOW) == challenge
    last_moment = challenge.expires_at - timedelta(microseconds=1)
    assert threeds.open_challenge(challenge, "pay_1", challenge.id, last_moment) == challenge
    with pytest.raises(NotFound) as missing:
        threeds.open_challenge(None, "pay_1", challenge.id, NOW)
    assert missing.value.reason == "THREE_DS_CHALLENGE_NOT_FOUND"
    with pytest.raises(NotFound):
        threeds.open_challenge(challenge, "pay_1", "chl_other", NOW)
    cases: list[tuple[threeds.Challenge, datetime, str]] = [
        (challenge, challenge.expires_at, "THREE_DS_CHALLENGE_EXPIRED"),
        (replace(challenge, status=ChallengeStatus.EXPIRED), NOW, "THREE_DS_CHALLENGE_EXPIRED"),
        (replace(challenge, status=ChallengeStatus.COMPLETED), NOW, "THREE_DS_CHALLENGE_COMPLETED"),
    ]
    for closed, at, reason in cases:
        with pytest.raises(FailedPrecondition) as refused:
            threeds.open_challenge(closed, "pay_1", closed.id, at)
        assert refused.value.reason == reason
    assert threeds.due_to_expire(challenge, challenge.expires_at) and not threeds.due_to_expire(challenge, last_moment)


# --- the aggregate ------------------------------------------------------------------------------


def _created() -> PaymentCreated:
    new = payment_rules.NewPayment(
        merchant_id="mer_1",
        amount=1_000,
        currency="USD",
        pan="4000000000003220",
        card=agg.Card("visa", "400000", "3220", 12, 2031, "f" * 32, "Ann"),
        customer_id="",
        description="",
        metadata={},
        capture_method=agg.CaptureMethod.AUTOMATIC,
    )
    return payment_rules.created_event(new, 290, 30, NOW)


def test_three_ds_events_replay_to_the_same_state_and_round_trip() -> None:
    signer = MessageSigner(KEY, "challenge_request")
    challenge, pending = threeds.new_challenge(signer, payment_id="pay_1", amount=1_000, currency="USD", now=NOW)
    required = ThreeDSChallengeRequired(at=NOW, authentication=pending, challenge=challenge)
    waiting = agg.replay("pay_1", [_created(), required])
    assert waiting.status is agg.Status.REQUIRES_ACTION and not waiting.in_progress
    assert waiting.challenge == challenge and waiting.authentication == pending
    done = threeds.result(TransStatus.AUTHENTICATED, "visa", pending.ds_transaction_id, KEY, challenged=True)
    later = NOW + timedelta(minutes=1)
    authenticated = ThreeDSAuthenticated(at=later, authentication=done)
    resumed = agg.apply(waiting, authenticated)
    assert resumed.status is agg.Status.PROCESSING and resumed.in_progress
    assert resumed.challenge is not None and resumed.challenge.status is ChallengeStatus.COMPLETED
    assert resumed.authentication == done and done.eci == "05"
    assert agg.from_dict(agg.to_dict(resumed)) == resumed
    expired = agg.apply(
        waiting,
        ThreeDSChallengeExpired(
            at=later,
            authentication=threeds.result(
                TransStatus.NOT_AUTHENTICATED, "visa", "", KEY, reason="challenge_expired", challenged=True
            ),
            reason=threeds.EXPIRED_REASON,
        ),
    )
    assert (expired.status, expired.failure_reason) == (agg.Status.FAILED, "three_ds_challenge_expired")
    assert expired.challenge is not None and expired.challenge.status is ChallengeStatus.EXPIRED
    lookup = ThreeDSFailed(
        at=NOW,
        authentication=Authentication(TransStatus.UNAVAILABLE, reason="lookup_failed"),
        decline=agg.DeclineInfo("processing_error", "processing_error", "m", True),
    )
    declined = agg.replay("pay_1", [_created(), lookup])
    assert declined.status is agg.Status.DECLINED and declined.decline is not None
    assert declined.challenge is None and declined.version == 2


def test_a_projection_stored_before_three_ds_still_loads() -> None:
    state = agg.replay("pay_1", [_created()])
    old = agg.to_dict(state)
    del old["authentication"], old["challenge"]
    assert agg.from_dict(old) == state


# --- the network, given only a fingerprint ------------------------------------------------------

HOLDERS = ("Ann Payer", "decline lost_card", "")
AMOUNTS = (1_000, *sorted(MAGIC_AMOUNTS)[:2])


def test_a_fingerprint_decides_as_the_number_would() -> None:
    catalogue = CatalogueCards(KEY)
    others = ("4111111111111111", "5105105105105105")
    for pan in (*CARD_SCENARIOS, *others):
        test_card = catalogue.scenario(cards.fingerprint(pan, KEY))
        assert (test_card is None) is (pan in others)
        for amount in AMOUNTS:
            for holder in HOLDERS:
                assert card_decision("", amount, holder, test_card) == card_decision(pan, amount, holder), pan
    assert catalogue.scenario(cards.fingerprint("4000008400001629", b"another key" * 4)) is None


@pytest.mark.parametrize("pan", ["4000008400001629", "4000008260003178", "4000000000003220", "4242424242424242"])
def test_gateways_decide_a_numberless_request_as_the_number(pan: str) -> None:
    test_card = CatalogueCards(KEY).scenario(cards.fingerprint(pan, KEY))

    async def outcomes(gateway: Any) -> tuple[tuple[str, str], tuple[str, str]]:
        with_number = await gateway.authorize(AuthorizationRequest("pay_1:authorize", 1_000, "USD", pan=pan))
        without = await gateway.authorize(
            AuthorizationRequest("pay_2:authorize", 1_000, "USD", pan="", test_card=test_card)
        )
        return (with_number.outcome, with_number.decline_code), (without.outcome, without.decline_code)

    for gateway in (SimulatorGateway(), StripeLikeGateway()):
        first, second = asyncio.run(outcomes(gateway))
        assert first == second, (gateway, pan)
