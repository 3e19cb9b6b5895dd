"""3-D Secure 2 through a real server: every 3DS card of the catalogue, the merchant's policy, the
challenge answered by the simulated ACS (approve, deny, wrong code), forged and replayed answers,
expiry by the maintenance sweep on the test clock, idempotency across the flow, who may do what,
and the operations that follow an authenticated authorization."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2 as M
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import simulator_pb2 as S
from paysim_proto.v1 import threeds_pb2 as T

from paysim.services.verification import verify_all
from paysim.store.schema import payment_events, payments
from tests.support.client import Stubs, expect_error, operation, outcome, rich_error
from tests.support.factories import (
    MerchantAccount,
    create_customer,
    register_customer_user,
    register_merchant,
)
from tests.support.harness import ServerHandle

MANUAL = P.CAPTURE_METHOD_MANUAL
CHALLENGE_CARDS = ("4000002500003155", "4000002760003184", "4000000000003220")
CAVV_RE = re.compile(r"^[A-Za-z0-9+/]{27}=$")


def card(pan: str, holder: str = "Ann Payer") -> P.CardInput:
    cvc = "1234" if pan.startswith(("34", "37")) else "123"
    return P.CardInput(number=pan, exp_month=12, exp_year=2031, cvc=cvc, holder_name=holder)


def create(
    api: Stubs,
    pan: str,
    *,
    amount: int = 1000,
    currency: str = "USD",
    manual: bool = False,
    holder: str = "Ann Payer",
    metadata: Sequence[tuple[str, str]] = (),
) -> P.Payment:
    request = P.CreatePaymentRequest(
        amount_minor=amount,
        currency_code=currency,
        card=card(pan, holder),
        capture_method=MANUAL if manual else P.CAPTURE_METHOD_AUTOMATIC,
    )
    payment: P.Payment = api.payments.CreatePayment(request, metadata=list(metadata)).payment
    return payment


def acs(api: Stubs, payment: P.Payment, action: int = T.ACS_ACTION_APPROVE) -> T.SimulateAcsResponse:
    challenge = payment.next_action.three_ds_challenge
    reply: T.SimulateAcsResponse = api.threeds.SimulateAcs(
        T.SimulateAcsRequest(payment_id=payment.id, challenge_request=challenge.challenge_request, action=action)
    )
    return reply


def complete_request(payment: P.Payment, acs_result: str) -> T.CompleteChallengeRequest:
    challenge_id = payment.next_action.three_ds_challenge.id
    return T.CompleteChallengeRequest(payment_id=payment.id, challenge_id=challenge_id, acs_result=acs_result)


def complete(api: Stubs, payment: P.Payment, acs_result: str, metadata: Sequence[tuple[str, str]] = ()) -> P.Payment:
    reply = api.threeds.CompleteChallenge(complete_request(payment, acs_result), metadata=list(metadata))
    done: P.Payment = reply.payment
    return done


def challenged(api: Stubs, pan: str = "4000000000003220", **kw: object) -> P.Payment:
    payment = create(api, pan, **kw)  # type: ignore[arg-type]
    assert payment.status == P.PAYMENT_STATUS_REQUIRES_ACTION, payment
    return payment


def set_policy(api: Stubs, mode: int, *thresholds: tuple[str, int], merchant_id: str = "") -> T.ThreeDSPolicy:
    reply = api.threeds.SetThreeDSPolicy(
        T.SetThreeDSPolicyRequest(
            merchant_id=merchant_id,
            mode=mode,
            thresholds=[T.ThreeDSThreshold(currency_code=c, amount_minor=a) for c, a in thresholds],
        )
    )
    policy: T.ThreeDSPolicy = reply.policy
    return policy


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def forge(token: str, **changes: object) -> str:
    """The token with its payload changed and its signature kept: what a tamperer can do without the key."""
    payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields.update(changes)
    body = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(body).rstrip(b"=").decode() + "." + signature


def event_types(api: Stubs, payment_id: str) -> list[str]:
    events = api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=payment_id)).events
    # Each event's data is the message of its type.
    assert [e.WhichOneof("data") for e in events] == [e.type.replace(".", "_") for e in events]
    return [e.type for e in events]


@pytest.fixture(scope="module")
def shop(server: ServerHandle) -> MerchantAccount:
    """A merchant with the default policy: it never asks for 3-D Secure itself."""
    return register_merchant(server.stubs())


@pytest.fixture(scope="module")
def strict(server: ServerHandle) -> MerchantAccount:
    """A merchant that asks for 3-D Secure on every payment."""
    merchant = register_merchant(server.stubs())
    set_policy(server.stubs(merchant.api_key), T.THREE_DS_POLICY_MODE_ALWAYS)
    return merchant


@pytest.fixture
def api(server: ServerHandle, shop: MerchantAccount) -> Stubs:
    return server.stubs(shop.api_key)


@pytest.fixture
def strict_api(server: ServerHandle, strict: MerchantAccount) -> Stubs:
    return server.stubs(strict.api_key)


# --- the catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What a card does: ``trans_status`` "" means 3DS does not run."""

    status: int
    trans_status: str = ""
    reason: str = ""
    eci: str = ""
    decline: str = ""
    failure: str = ""
    cavv: bool = False


CAPTURED = P.PAYMENT_STATUS_CAPTURED
DECLINED = P.PAYMENT_STATUS_DECLINED
FAILED = P.PAYMENT_STATUS_FAILED

# Cards that need no challenge (reference/test-cards.md, 3-D Secure 2), as a merchant that never
# asks and one that always asks see them.
WITHOUT_CHALLENGE: dict[str, tuple[Expected, Expected]] = {
    "4000008400001280": (  # 3DS lookup fails (processing_error): the issuer asks, so always
        Expected(DECLINED, "U", "lookup_failed", "07", decline="processing_error"),
        Expected(DECLINED, "U", "lookup_failed", "07", decline="processing_error"),
    ),
    "4000000000003055": (  # supports 3DS, not required: frictionless when asked
        Expected(CAPTURED),
        Expected(CAPTURED, "Y", "", "05", cavv=True),
    ),
    "4000000000003097": (  # supports 3DS; attempting it errors
        Expected(CAPTURED),
        Expected(FAILED, "U", "authentication_error", "07", failure="three_ds_authentication_error"),
    ),
    "4242424242424242": (  # supports 3DS, not enrolled: the network attempts it
        Expected(CAPTURED),
        Expected(CAPTURED, "A", "card_not_enrolled", "06", cavv=True),
    ),
    "378282246310005": (  # does not support 3DS: the payment goes on without it
        Expected(CAPTURED),
        Expected(CAPTURED, "U", "card_not_supported", "07"),
    ),
    "5555555555554444": (  # a Mastercard: its own ECI values
        Expected(CAPTURED),
        Expected(CAPTURED, "A", "card_not_enrolled", "01", cavv=True),
    ),
    "371449635398431": (  # American Express uses Visa's ECI values
        Expected(CAPTURED),
        Expected(CAPTURED, "A", "card_not_enrolled", "06", cavv=True),
    ),
}


def _check(p: P.Payment, want: Expected, pan: str) -> None:
    assert p.status == want.status, (pan, p.status, p.failure_reason, p.decline.code)
    assert p.decline.code == want.decline, pan
    assert p.failure_reason == want.failure, pan
    assert not p.HasField("next_action")
    if not want.trans_status:
        assert not p.HasField("three_ds"), pan
        return
    t = p.three_ds
    assert (t.trans_status, t.trans_status_reason, t.eci, t.version) == (
        want.trans_status,
        want.reason,
        want.eci,
        "2.2.0",
    )
    assert not t.challenged
    assert bool(CAVV_RE.match(t.cavv)) is want.cavv, t.cavv
    assert is_uuid(t.ds_transaction_id) is (want.reason != "card_not_supported")
    # The gateway is called only when authentication lets the payment go on.
    gateway_called = want.status == CAPTURED
    assert [operation(a) for a in p.attempts] == (["authorize"] if gateway_called else [])


@pytest.mark.parametrize("pan", sorted(WITHOUT_CHALLENGE))
def test_cards_without_a_challenge_behave_as_listed(api: Stubs, strict_api: Stubs, pan: str) -> None:
    never, always = WITHOUT_CHALLENGE[pan]
    _check(create(api, pan), never, pan)
    _check(create(strict_api, pan), always, pan)


@pytest.mark.parametrize("pan", CHALLENGE_CARDS)
def test_challenge_cards_require_action_then_capture_when_approved(api: Stubs, pan: str) -> None:
    p = challenged(api, pan)
    # Waiting for the cardholder: no gateway call yet, a pending challenge, status C.
    assert p.attempts == [] and p.authorized_amount_minor == 0
    assert p.next_action.type == P.NEXT_ACTION_TYPE_THREE_DS_CHALLENGE
    c = p.next_action.three_ds_challenge
    assert c.id.startswith("chl_") and c.acs_url.startswith("https://")
    assert c.status == P.THREE_DS_CHALLENGE_STATUS_PENDING
    assert c.expire_time.ToDatetime() - c.create_time.ToDatetime() == timedelta(minutes=15)
    assert (p.three_ds.trans_status, p.three_ds.eci, p.three_ds.cavv) == ("C", "", "")
    assert is_uuid(p.three_ds.ds_transaction_id) and p.three_ds.challenged
    answer = acs(api, p)
    assert (answer.trans_status, answer.challenge_id) == ("Y", c.id)
    done = complete(api, p, answer.acs_result)
    assert done.status == CAPTURED and done.captured_amount_minor == 1000
    assert not done.HasField("next_action")
    t = done.three_ds
    assert (t.trans_status, t.eci, t.trans_status_reason, t.challenged) == ("Y", "05", "", True)
    assert CAVV_RE.match(t.cavv) and t.ds_transaction_id == p.three_ds.ds_transaction_id
    assert [(operation(a), outcome(a)) for a in done.attempts] == [("authorize", "approved")]
    assert event_types(api, p.id) == [
        "payment.created",
        "payment.three_ds_challenge_required",
        "payment.three_ds_authenticated",
        "payment.authorized",
        "payment.captured",
    ]
    got = api.threeds.GetChallenge(T.GetChallengeRequest(payment_id=p.id))
    assert got.challenge.id == c.id and got.challenge.status == P.THREE_DS_CHALLENGE_STATUS_COMPLETED
    assert got.three_ds == t


@pytest.mark.parametrize(
    ("pan", "code", "error_code"),
    [
        ("4000008260003178", "insufficient_funds", "card_declined"),
        ("4000008400001629", "generic_decline", "card_declined"),
    ],
)
def test_cards_that_authenticate_then_decline(api: Stubs, pan: str, code: str, error_code: str) -> None:
    p = challenged(api, pan)
    done = complete(api, p, acs(api, p).acs_result)
    # Authenticated, then the gateway decides as it would have for the number itself.
    assert (done.status, done.decline.code, done.decline.error_code) == (DECLINED, code, error_code)
    assert done.three_ds.trans_status == "Y" and done.three_ds.eci == "05"
    assert [(operation(a), outcome(a), a.detail) for a in done.attempts] == [("authorize", "declined", code)]


@pytest.mark.parametrize(
    ("action", "status", "reason", "failure"),
    [
        (T.ACS_ACTION_DENY, "N", "cardholder_denied", "three_ds_authentication_failed"),
        (T.ACS_ACTION_WRONG_CODE, "R", "wrong_code", "three_ds_authentication_rejected"),
    ],
)
def test_a_challenge_that_does_not_authenticate_fails_the_payment(
    api: Stubs, action: int, status: str, reason: str, failure: str
) -> None:
    p = challenged(api)
    answer = acs(api, p, action)
    assert answer.trans_status == status
    done = complete(api, p, answer.acs_result)
    assert (done.status, done.failure_reason) == (FAILED, failure)
    t = done.three_ds
    assert (t.trans_status, t.trans_status_reason, t.eci, t.cavv) == (status, reason, "07", "")
    assert done.attempts == []  # the gateway is never asked
    assert event_types(api, p.id)[-1] == "payment.three_ds_failed"


def test_a_forced_decline_replaces_the_cards_own_behaviour(api: Stubs) -> None:
    """Holder name and magic amount come first, 3-D Secure included (the catalogue's precedence)."""
    p = create(api, "4000000000003220", holder="decline lost_card")
    assert (p.status, p.decline.code) == (DECLINED, "lost_card") and not p.HasField("three_ds")
    p = create(api, "4000000000003220", amount=1_009_995)
    assert (p.status, p.decline.code) == (DECLINED, "insufficient_funds")


def test_overrides_act_on_the_gateway_call_after_the_challenge(api: Stubs) -> None:
    p = challenged(api)
    forced = [("paysim-force-outcome", "decline:do_not_honor")]
    done = complete(api, p, acs(api, p).acs_result, metadata=forced)
    assert (done.status, done.decline.code, done.three_ds.trans_status) == (DECLINED, "do_not_honor", "Y")


# --- after an authenticated authorization -------------------------------------------------------


def test_manual_capture_then_capture_and_refund(api: Stubs) -> None:
    p = challenged(api, manual=True, amount=5_000)
    done = complete(api, p, acs(api, p).acs_result)
    assert done.status == P.PAYMENT_STATUS_AUTHORIZED and done.authorized_amount_minor == 5_000
    assert done.three_ds.eci == "05" and CAVV_RE.match(done.three_ds.cavv)
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=p.id, amount_minor=3_000)).payment
    assert captured.status == CAPTURED and captured.captured_amount_minor == 3_000
    refunded = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=1_000)).payment
    assert refunded.status == P.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert [operation(a) for a in refunded.attempts] == ["authorize", "capture", "refund"]
    assert refunded.three_ds == done.three_ds  # the authentication stays on the payment


def test_manual_capture_then_void(api: Stubs) -> None:
    p = challenged(api, manual=True)
    complete(api, p, acs(api, p).acs_result)
    voided = api.payments.VoidPayment(P.VoidPaymentRequest(payment_id=p.id)).payment
    assert voided.status == P.PAYMENT_STATUS_VOIDED
    assert [operation(a) for a in voided.attempts] == ["authorize", "void"]


def test_a_payment_waiting_for_its_customer_refuses_capture_void_and_refund(api: Stubs) -> None:
    p = challenged(api, manual=True)
    for call, request in (
        (api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=p.id)),
        (api.payments.VoidPayment, P.VoidPaymentRequest(payment_id=p.id)),
        (api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=p.id)),
    ):
        err = expect_error(call, request)
        assert err.code == grpc.StatusCode.FAILED_PRECONDITION and err.metadata["status"] == "requires_action"


# --- forged, wrong and replayed answers ---------------------------------------------------------


def test_a_wrong_challenge_id_is_not_found(api: Stubs) -> None:
    p = challenged(api)
    answer = acs(api, p).acs_result
    other = challenged(api)
    for challenge_id in ("chl_doesnotexist", other.next_action.three_ds_challenge.id):
        request = T.CompleteChallengeRequest(payment_id=p.id, challenge_id=challenge_id, acs_result=answer)
        err = expect_error(api.threeds.CompleteChallenge, request)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "THREE_DS_CHALLENGE_NOT_FOUND")
    err = expect_error(
        api.threeds.CompleteChallenge, T.CompleteChallengeRequest(payment_id=p.id, challenge_id="nope", acs_result="x")
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "challenge_id" in err.field_violations
    # Nothing changed: the right answer still completes it.
    assert complete(api, p, answer).status == CAPTURED


def test_tampered_answers_and_requests_are_rejected(api: Stubs) -> None:
    p = challenged(api)
    denied = acs(api, p, T.ACS_ACTION_DENY).acs_result
    # Turning a denial into an approval without the ACS's key: the signature no longer matches.
    for forged in (forge(denied, trans_status="Y"), denied[:-2] + ("AA" if denied[-2:] != "AA" else "BB"), "x.y", ""):
        err = expect_error(api.threeds.CompleteChallenge, complete_request(p, forged))
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "acs_result" in err.field_violations, forged
    # A challenge request is not an ACS result, even though paysim signed it.
    creq = p.next_action.three_ds_challenge.challenge_request
    err = expect_error(api.threeds.CompleteChallenge, complete_request(p, creq))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    # An altered challenge request is refused by the ACS.
    for forged in (forge(creq, amount_minor=1), creq + "A"):
        err = expect_error(
            api.threeds.SimulateAcs,
            T.SimulateAcsRequest(payment_id=p.id, challenge_request=forged, action=T.ACS_ACTION_APPROVE),
        )
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "challenge_request" in err.field_violations
    # A genuine answer to another payment's challenge does not complete this one.
    other = challenged(api)
    elsewhere = acs(api, other).acs_result
    err = expect_error(api.threeds.CompleteChallenge, complete_request(p, elsewhere))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and err.field_violations
    err = expect_error(
        api.threeds.SimulateAcs,
        T.SimulateAcsRequest(
            payment_id=p.id,
            challenge_request=other.next_action.three_ds_challenge.challenge_request,
            action=T.ACS_ACTION_APPROVE,
        ),
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    still = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert still.status == P.PAYMENT_STATUS_REQUIRES_ACTION and still.version == p.version
    assert complete(api, p, denied).status == FAILED  # the genuine answer still counts


def test_a_completed_challenge_cannot_be_replayed(api: Stubs) -> None:
    p = challenged(api)
    approve = acs(api, p).acs_result
    assert complete(api, p, approve).status == CAPTURED
    for answer in (approve, approve):
        err = expect_error(api.threeds.CompleteChallenge, complete_request(p, answer))
        assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "THREE_DS_CHALLENGE_COMPLETED")
        assert err.metadata["challenge_id"] == p.next_action.three_ds_challenge.id
    err = expect_error(
        api.threeds.SimulateAcs,
        T.SimulateAcsRequest(
            payment_id=p.id,
            challenge_request=p.next_action.three_ds_challenge.challenge_request,
            action=T.ACS_ACTION_DENY,
        ),
    )
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "THREE_DS_CHALLENGE_COMPLETED")
    after = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert after.status == CAPTURED and [operation(a) for a in after.attempts] == ["authorize"]


def test_invalid_requests_name_their_fields(api: Stubs) -> None:
    err = expect_error(api.threeds.SimulateAcs, T.SimulateAcsRequest())
    assert set(err.field_violations) == {"payment_id", "challenge_request", "action"}
    err = expect_error(api.threeds.CompleteChallenge, T.CompleteChallengeRequest())
    assert set(err.field_violations) == {"payment_id", "challenge_id", "acs_result"}
    err = expect_error(api.threeds.GetChallenge, T.GetChallengeRequest(payment_id="nope"))
    assert "payment_id" in err.field_violations
    plain = create(api, "4242424242424242")
    err = expect_error(api.threeds.GetChallenge, T.GetChallengeRequest(payment_id=plain.id))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "THREE_DS_CHALLENGE_NOT_FOUND")


# --- idempotency --------------------------------------------------------------------------------


def test_idempotency_keys_across_the_challenge_flow(api: Stubs) -> None:
    create_key = [("idempotency-key", f"order-{uuid.uuid4()}")]
    request = P.CreatePaymentRequest(amount_minor=2_500, currency_code="USD", card=card("4000000000003220"))
    first = api.payments.CreatePayment(request, metadata=create_key).payment
    assert first.status == P.PAYMENT_STATUS_REQUIRES_ACTION
    # Until completed, a retry replays the same challenge.
    again, call = api.payments.CreatePayment.with_call(request, metadata=create_key)
    assert again.payment == first and ("idempotent-replayed", "true") in list(call.trailing_metadata())
    answer = acs(api, first).acs_result
    complete_key = [("idempotency-key", f"3ds-{uuid.uuid4()}")]
    done = complete(api, first, answer, metadata=complete_key)
    assert done.status == CAPTURED
    # A retry of the completion replays its answer: one authorization, no second charge.
    replay, call = api.threeds.CompleteChallenge.with_call(complete_request(first, answer), metadata=complete_key)
    assert replay.payment == done and ("idempotent-replayed", "true") in list(call.trailing_metadata())
    # The same key with other parameters is refused, as anywhere.
    err = expect_error(
        api.threeds.CompleteChallenge,
        complete_request(first, acs(api, challenged(api)).acs_result),
        metadata=complete_key,
    )
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED")
    # A new key is a new request: the challenge is done, and that refusal is what the key keeps.
    late_key = [("idempotency-key", f"late-{uuid.uuid4()}")]
    for _ in range(2):
        err = expect_error(api.threeds.CompleteChallenge, complete_request(first, answer), metadata=late_key)
        assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "THREE_DS_CHALLENGE_COMPLETED")
    # The create key keeps the response of its request, as Stripe's keys do: requires_action with
    # the challenge. The payment itself has moved on (GetPayment).
    original = api.payments.CreatePayment(request, metadata=create_key).payment
    assert original == first
    assert api.payments.GetPayment(P.GetPaymentRequest(payment_id=first.id)).payment.status == CAPTURED
    assert len(event_types(api, first.id)) == 5


def test_a_failed_authentication_is_kept_by_the_completion_key(api: Stubs) -> None:
    p = challenged(api)
    answer = acs(api, p, T.ACS_ACTION_DENY).acs_result
    key = [("idempotency-key", f"deny-{uuid.uuid4()}")]
    done = complete(api, p, answer, metadata=key)
    replay, call = api.threeds.CompleteChallenge.with_call(complete_request(p, answer), metadata=key)
    assert replay.payment == done and done.status == FAILED
    assert ("idempotent-replayed", "true") in list(call.trailing_metadata())


# --- policy -------------------------------------------------------------------------------------


def test_policy_defaults_to_never_and_is_replaced(server: ServerHandle) -> None:
    merchant = register_merchant(server.stubs())
    api = server.stubs(merchant.api_key)
    default = api.threeds.GetThreeDSPolicy(T.GetThreeDSPolicyRequest()).policy
    assert (default.merchant_id, default.mode, default.HasField("update_time")) == (
        merchant.merchant_id,
        T.THREE_DS_POLICY_MODE_NEVER,
        False,
    )
    above = set_policy(api, T.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, ("USD", 5_000), ("JPY", 10_000))
    assert above.HasField("update_time") and [(t.currency_code, t.amount_minor) for t in above.thresholds] == [
        ("USD", 5_000),
        ("JPY", 10_000),
    ]
    assert api.threeds.GetThreeDSPolicy(T.GetThreeDSPolicyRequest()).policy == above
    # Strictly above the threshold, in the threshold's currency only.
    assert not create(api, "4242424242424242", amount=5_000).HasField("three_ds")
    assert create(api, "4242424242424242", amount=5_001).three_ds.trans_status == "A"
    assert create(api, "4242424242424242", amount=10_001, currency="JPY").three_ds.trans_status == "A"
    assert not create(api, "4242424242424242", amount=10_000, currency="JPY").HasField("three_ds")
    assert not create(api, "4242424242424242", amount=999_999, currency="EUR").HasField("three_ds")
    # A card whose issuer requires 3DS is challenged under any policy.
    set_policy(api, T.THREE_DS_POLICY_MODE_NEVER)
    assert not create(api, "4000000000003055").HasField("three_ds")
    assert challenged(api).next_action.three_ds_challenge.id


def test_a_policy_changes_only_its_merchants_payments(api: Stubs, strict_api: Stubs) -> None:
    assert create(strict_api, "4000000000003055").three_ds.trans_status == "Y"
    assert not create(api, "4000000000003055").HasField("three_ds")


@pytest.mark.parametrize(
    ("mode", "thresholds", "field"),
    [
        (T.THREE_DS_POLICY_MODE_UNSPECIFIED, (), "mode"),
        (T.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, (), "thresholds"),
        (T.THREE_DS_POLICY_MODE_ALWAYS, (("USD", 1),), "thresholds"),
        (T.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, (("XXX", 1),), "thresholds[0].currency_code"),
        (T.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, (("USD", -1),), "thresholds[0].amount_minor"),
        (T.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, (("USD", 1), ("USD", 2)), "thresholds[1].currency_code"),
    ],
)
def test_bad_policies_are_field_errors(
    api: Stubs, mode: int, thresholds: tuple[tuple[str, int], ...], field: str
) -> None:
    err = expect_error(set_policy, api, mode, *thresholds)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and field in err.field_violations, err.field_violations


def test_admins_name_the_merchant_whose_policy_they_set(server: ServerHandle, admin_token: str) -> None:
    merchant = register_merchant(server.stubs())
    admin = server.stubs(admin_token)
    err = expect_error(set_policy, admin, T.THREE_DS_POLICY_MODE_ALWAYS)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "merchant_id" in err.field_violations
    policy = set_policy(admin, T.THREE_DS_POLICY_MODE_ALWAYS, merchant_id=merchant.merchant_id)
    assert policy.merchant_id == merchant.merchant_id
    mine = server.stubs(merchant.api_key).threeds.GetThreeDSPolicy(T.GetThreeDSPolicyRequest()).policy
    assert mine.mode == T.THREE_DS_POLICY_MODE_ALWAYS
    err = expect_error(set_policy, admin, T.THREE_DS_POLICY_MODE_ALWAYS, merchant_id="mer_doesnotexist")
    assert err.code == grpc.StatusCode.NOT_FOUND
    # Another merchant's policy is not there for a merchant.
    other = server.stubs(register_merchant(server.stubs()).api_key)
    err = expect_error(other.threeds.GetThreeDSPolicy, T.GetThreeDSPolicyRequest(merchant_id=merchant.merchant_id))
    assert err.code == grpc.StatusCode.NOT_FOUND


# --- who may do what ----------------------------------------------------------------------------


def test_the_cardholder_and_the_merchant_act_on_their_own_payments(server: ServerHandle, shop: MerchantAccount) -> None:
    stubs = server.stubs()
    api = stubs.as_(shop.api_key)
    holder = register_customer_user(stubs)
    customer = create_customer(stubs, shop.api_key, email=holder.email)
    request = P.CreatePaymentRequest(amount_minor=700, card=card("4000000000003220"), customer_id=customer.id)
    p = api.payments.CreatePayment(request).payment
    cardholder = stubs.as_(holder.access_token)
    # The payment's customer sees its challenge and may answer it at the ACS...
    assert cardholder.threeds.GetChallenge(T.GetChallengeRequest(payment_id=p.id)).challenge.id
    answer = acs(cardholder, p).acs_result
    # ...but completing it is the merchant's (a customer cannot write payments).
    err = expect_error(cardholder.threeds.CompleteChallenge, complete_request(p, answer))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    # Nobody else sees it at all.
    stranger = stubs.as_(register_customer_user(stubs).access_token)
    other_shop = stubs.as_(register_merchant(stubs).api_key)
    for outsider in (stranger, other_shop):
        err = expect_error(outsider.threeds.GetChallenge, T.GetChallengeRequest(payment_id=p.id))
        assert err.code == grpc.StatusCode.NOT_FOUND
        err = expect_error(
            outsider.threeds.SimulateAcs,
            T.SimulateAcsRequest(
                payment_id=p.id,
                challenge_request=p.next_action.three_ds_challenge.challenge_request,
                action=T.ACS_ACTION_APPROVE,
            ),
        )
        assert err.code == grpc.StatusCode.NOT_FOUND
    err = expect_error(other_shop.threeds.CompleteChallenge, complete_request(p, answer))
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert complete(api, p, answer).status == CAPTURED


# --- expiry -------------------------------------------------------------------------------------


def test_unanswered_challenges_expire_with_the_sweep(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    p = challenged(api)
    late = challenged(api)
    # Waiting for the customer is not a gateway call in flight: the recovery sweep leaves it alone.
    server.clock.advance(timedelta(minutes=1))
    assert server.run(server.app.payments.recover_stuck()) == 0
    server.clock.advance(timedelta(minutes=13, seconds=59))
    server.run(server.server.maintenance.run_once())
    assert api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment.status == (
        P.PAYMENT_STATUS_REQUIRES_ACTION
    )
    answer = acs(api, late).acs_result  # answered in time, completed too late below
    server.clock.advance(timedelta(seconds=2))
    server.run(server.server.maintenance.run_once())  # one round of the maintenance loop
    expired = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert (expired.status, expired.failure_reason) == (FAILED, "three_ds_challenge_expired")
    t = expired.three_ds
    assert (t.trans_status, t.trans_status_reason, t.eci, t.cavv) == ("N", "challenge_expired", "07", "")
    assert not expired.HasField("next_action") and expired.attempts == []
    challenge = api.threeds.GetChallenge(T.GetChallengeRequest(payment_id=p.id)).challenge
    assert challenge.status == P.THREE_DS_CHALLENGE_STATUS_EXPIRED
    assert event_types(api, p.id)[-1] == "payment.three_ds_challenge_expired"
    # Completing an expired challenge is refused, even with an answer the ACS gave in time.
    err = expect_error(api.threeds.CompleteChallenge, complete_request(late, answer))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "THREE_DS_CHALLENGE_EXPIRED")
    assert api.payments.GetPayment(P.GetPaymentRequest(payment_id=late.id)).payment.status == FAILED
    assert server.run(server.app.three_ds.expire_challenges()) == 0  # nothing left to do
    assert server.run(verify_all(server.app.unit_of_work)).ok


def test_a_challenge_past_its_time_is_expired_by_whoever_notices(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    p = challenged(api)
    server.clock.advance(timedelta(minutes=15))
    # No sweep ran: the ACS refuses the late answer and the payment fails at once.
    err = expect_error(
        api.threeds.SimulateAcs,
        T.SimulateAcsRequest(
            payment_id=p.id,
            challenge_request=p.next_action.three_ds_challenge.challenge_request,
            action=T.ACS_ACTION_APPROVE,
        ),
    )
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "THREE_DS_CHALLENGE_EXPIRED")
    payment = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert (payment.status, payment.failure_reason) == (FAILED, "three_ds_challenge_expired")


# --- the record ---------------------------------------------------------------------------------


def test_three_ds_payments_replay_exactly_and_keep_no_card_number(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    set_policy(api, T.THREE_DS_POLICY_MODE_ALWAYS)
    pans = ["4000000000003220", "4000008400001629", "4000008400001280", "4000000000003097", "4242424242424242"]
    made = [create(api, pan, manual=True) for pan in pans]
    complete(api, made[0], acs(api, made[0]).acs_result)
    complete(api, made[1], acs(api, made[1], T.ACS_ACTION_WRONG_CODE).acs_result)
    api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=made[4].id))
    report = server.run(verify_all(server.app.unit_of_work))
    assert report.ok and report.checked == len(pans), report.mismatches

    async def stored_texts() -> list[str]:
        async with server.app.engine.connect() as conn:
            rows = [
                *(await conn.execute(payments.select())).all(),
                *(await conn.execute(payment_events.select())).all(),
            ]
        return [str(value) for row in rows for value in row]

    texts = server.run(stored_texts())
    for pan in pans:
        assert not any(pan in text for text in texts), pan


def test_concurrent_completions_authorize_once(api: Stubs) -> None:
    p = challenged(api)
    answer = acs(api, p).acs_result

    def attempt(_: int) -> P.Payment | str:
        try:
            return complete(api, p, answer)
        except grpc.RpcError as error:
            return rich_error(error).reason

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    done = [o for o in outcomes if isinstance(o, P.Payment)]
    assert len(done) == 1 and done[0].status == CAPTURED, outcomes
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["THREE_DS_CHALLENGE_COMPLETED"] * 5
    final = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert [operation(a) for a in final.attempts] == ["authorize"] and final.version == done[0].version


# --- through the merchant's gateways ------------------------------------------------------------


def _configure(api: Stubs, *gateways: str) -> None:
    for priority, gateway in enumerate(gateways, start=1):
        api.merchants.SetGatewayConfig(M.SetGatewayConfigRequest(gateway=gateway, priority=priority))


@pytest.mark.parametrize("gateway", ["stripe", "paypal", "razorpay", "simulator"])
def test_after_the_challenge_each_gateway_decides_as_for_the_number(server: ServerHandle, gateway: str) -> None:
    """paysim keeps no card number: the gateway recognises the test card by its fingerprint."""
    api = server.stubs(register_merchant(server.stubs()).api_key)
    _configure(api, gateway)
    for pan, status, code in (
        ("4000000000003220", CAPTURED, ""),
        ("4000008400001629", DECLINED, "generic_decline"),
        ("4000008260003178", DECLINED, "insufficient_funds"),
    ):
        p = challenged(api, pan)
        done = complete(api, p, acs(api, p).acs_result)
        assert (done.status, done.decline.code, done.gateway) == (status, code, gateway), pan
        assert [(a.gateway, operation(a)) for a in done.attempts] == [(gateway, "authorize")]


def test_the_authorization_after_a_challenge_fails_over_like_any_other(server: ServerHandle) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    _configure(api, "stripe", "paypal")
    p = challenged(api, manual=True)
    api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway="stripe", mode=S.OUTAGE_MODE_ERROR))
    done = complete(api, p, acs(api, p).acs_result)
    assert (done.status, done.gateway) == (P.PAYMENT_STATUS_AUTHORIZED, "paypal")
    assert [(a.gateway, outcome(a)) for a in done.attempts] == [("stripe", "error"), ("paypal", "approved")]
    assert event_types(api, p.id)[2:] == [
        "payment.three_ds_authenticated",
        "payment.attempt_failed",
        "payment.authorized",
    ]
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=p.id)).payment
    assert captured.attempts[-1].gateway == "paypal" and captured.status == CAPTURED


def test_when_no_gateway_answers_after_the_challenge_the_payment_fails(server: ServerHandle) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    _configure(api, "stripe")
    p = challenged(api)
    api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway="stripe", mode=S.OUTAGE_MODE_ERROR))
    answer = acs(api, p).acs_result
    key = [("idempotency-key", f"down-{uuid.uuid4()}")]
    err = expect_error(api.threeds.CompleteChallenge, complete_request(p, answer), metadata=key)
    assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "GATEWAY_UNAVAILABLE")
    failed = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert (failed.status, failed.failure_reason) == (FAILED, "no_gateway_available")
    assert failed.three_ds.trans_status == "Y"
    # The challenge was used: a retry cannot bring the payment back (a new payment can).
    err = expect_error(api.threeds.CompleteChallenge, complete_request(p, answer), metadata=key)
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "THREE_DS_CHALLENGE_COMPLETED")
