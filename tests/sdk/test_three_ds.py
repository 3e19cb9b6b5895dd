"""3-D Secure and the other payment methods through the client: challenges answered as the
cardholder would, idempotent completion, the merchant's policy, UPI and PayPal wallets."""

from __future__ import annotations

import asyncio

import pytest
from paysim_client import AsyncClient, Client
from paysim_client.types import (
    AcsAction,
    CaptureMethod,
    CardInput,
    NextActionType,
    PaymentMethodType,
    PaymentStatus,
    PayPalWalletInput,
    ThreeDSChallengeStatus,
    ThreeDSPolicyMode,
    UpiInput,
)

from tests.sdk.conftest import VISA
from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle

CHALLENGE_CARD = CardInput(number="4000000000003220", exp_month=12, exp_year=2031, cvc="123")


def test_a_challenge_answered_by_the_cardholder_captures_the_payment(client: Client) -> None:
    payment = client.payments.create(amount_minor=2500, card=CHALLENGE_CARD)
    assert payment.status == PaymentStatus.PAYMENT_STATUS_REQUIRES_ACTION
    assert payment.next_action.type == NextActionType.NEXT_ACTION_TYPE_THREE_DS_CHALLENGE
    challenge = payment.next_action.three_ds_challenge
    assert (
        client.three_ds.get_challenge(payment.id).challenge.status
        == ThreeDSChallengeStatus.THREE_DS_CHALLENGE_STATUS_PENDING
    )

    answer = client.three_ds.simulate_acs(payment.id, challenge.challenge_request, AcsAction.ACS_ACTION_APPROVE)
    assert answer.trans_status == "Y" and answer.challenge_id == challenge.id
    key = f"{payment.id}-3ds"
    done = client.three_ds.complete_challenge(payment.id, challenge.id, answer.acs_result, idempotency_key=key)
    assert done.status == PaymentStatus.PAYMENT_STATUS_CAPTURED
    assert (done.three_ds.trans_status, done.three_ds.eci, done.three_ds.challenged) == ("Y", "05", True)
    replayed = client.three_ds.complete_challenge(payment.id, challenge.id, answer.acs_result, idempotency_key=key)
    assert replayed.version == done.version
    state = client.three_ds.get_challenge(payment.id)
    assert state.challenge.status == ThreeDSChallengeStatus.THREE_DS_CHALLENGE_STATUS_COMPLETED


@pytest.mark.parametrize(
    ("action", "reason"),
    [(AcsAction.ACS_ACTION_DENY, "cardholder_denied"), (AcsAction.ACS_ACTION_WRONG_CODE, "wrong_code")],
)
def test_a_refused_challenge_fails_the_payment(client: Client, action: AcsAction.ValueType, reason: str) -> None:
    payment = client.payments.create(amount_minor=2500, card=CHALLENGE_CARD)
    failed = client.three_ds.answer_challenge(payment, action)
    assert failed.status == PaymentStatus.PAYMENT_STATUS_FAILED
    assert failed.three_ds.trans_status_reason == reason


def test_manual_capture_after_a_challenge_and_the_async_client(server: ServerHandle, merchant: MerchantAccount) -> None:
    async def scenario() -> None:
        async with AsyncClient.connect(server.target, api_key=merchant.api_key) as client:
            payment = await client.payments.create(
                amount_minor=4000, card=CHALLENGE_CARD, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL
            )
            authorized = await client.three_ds.answer_challenge(payment)
            assert authorized.status == PaymentStatus.PAYMENT_STATUS_AUTHORIZED
            captured = await client.payments.capture(payment.id)
            assert captured.captured_amount_minor == 4000
            with pytest.raises(ValueError, match="no 3-D Secure challenge"):
                await client.three_ds.answer_challenge(captured)

    asyncio.run(scenario())


def test_the_merchants_policy(client: Client) -> None:
    assert client.three_ds.get_policy().mode == ThreeDSPolicyMode.THREE_DS_POLICY_MODE_NEVER
    policy = client.three_ds.set_policy(ThreeDSPolicyMode.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, thresholds={"USD": 1000})
    assert [(t.currency_code, t.amount_minor) for t in policy.thresholds] == [("USD", 1000)]
    assert client.three_ds.get_policy().mode == ThreeDSPolicyMode.THREE_DS_POLICY_MODE_ABOVE_AMOUNT
    small = client.payments.create(amount_minor=1000, currency_code="USD", card=VISA)
    large = client.payments.create(amount_minor=1001, currency_code="USD", card=VISA)
    assert not small.HasField("three_ds")
    assert large.status == PaymentStatus.PAYMENT_STATUS_CAPTURED and large.three_ds.trans_status == "A"


def test_upi_and_paypal_wallets(client: Client) -> None:
    client.merchants.gateway_configs.set("razorpay", priority=1)
    client.merchants.gateway_configs.set("paypal", priority=2)
    upi = client.payments.create(amount_minor=50000, currency_code="INR", upi=UpiInput(vpa="success@razorpay"))
    assert upi.status == PaymentStatus.PAYMENT_STATUS_CAPTURED and upi.gateway == "razorpay"
    assert (upi.method_type, upi.method_account) == (PaymentMethodType.PAYMENT_METHOD_TYPE_UPI, "success@razorpay")
    wallet = client.payments.create(amount_minor=1500, paypal_wallet=PayPalWalletInput(email="payer@example.test"))
    assert wallet.gateway == "paypal" and wallet.method_type == PaymentMethodType.PAYMENT_METHOD_TYPE_PAYPAL_WALLET
    with pytest.raises(ValueError, match="one of"):
        client.payments.create(amount_minor=100, card=VISA, upi=UpiInput(vpa="success@razorpay"))
