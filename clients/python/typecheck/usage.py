"""Uses the public surface with types; ``scripts/check_dist.py`` runs ``mypy --strict`` on it
against the installed distribution (it is never run). The ``type: ignore`` comments mark
deliberate mistakes: with ``warn_unused_ignores`` they fail the check if a type degrades to Any.
"""

from __future__ import annotations

from collections.abc import Sequence

import paysim_client
from paysim_client import AsyncPager, Page, Pager, RetryPolicy, SimulationOverride, TLSConfig, errors, webhooks
from paysim_client.types import (
    AcsAction,
    CaptureMethod,
    CardInput,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    ThreeDSPolicyMode,
    UpiInput,
)

CARD = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")


async def take_payment(target: str, api_key: str) -> Payment:
    retry = RetryPolicy(max_attempts=3, aborted_reasons=frozenset({"IDEMPOTENCY_KEY_IN_USE", "PAYMENT_BUSY"}))
    async with paysim_client.connect(target, api_key=api_key, retry=retry, timeout=10) as client:
        payment = await client.payments.create(
            amount_minor=1999,
            card=CARD,
            capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL,
            idempotency_key="order-1",
            simulate=SimulationOverride(latency_ms=10),
        )
        payment = await client.payments.capture(payment.id, amount_minor=1000)
        refunded = await client.payments.refund(payment.id, amount_minor=100, reason="returned")
        refund: Refund = refunded.refund
        pager: AsyncPager[Payment] = client.payments.list(statuses=[PaymentStatus.PAYMENT_STATUS_CAPTURED])
        ids: list[str] = [p.id async for p in pager]
        pages: list[Page[PaymentEvent]] = [page async for page in client.payments.events(payment.id).pages()]
        await client.payments.get(1999)  # type: ignore[arg-type]
        challenged = await client.payments.create(amount_minor=2500, card=CARD)
        if challenged.status == PaymentStatus.PAYMENT_STATUS_REQUIRES_ACTION:
            challenged = await client.three_ds.answer_challenge(challenged, AcsAction.ACS_ACTION_DENY)
        eci: str = challenged.three_ds.eci
        await client.three_ds.set_policy(ThreeDSPolicyMode.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, thresholds={"USD": 100})
        await client.payments.create(amount_minor=100, upi=UpiInput(vpa="success@razorpay"))
        _ = eci
        _ = (refund, ids, pages)
    return payment


def blocking(target: str, email: str, password: str) -> int:
    with paysim_client.Client.connect(target, email=email, password=password, tls=TLSConfig()) as client:
        try:
            client.payments.capture("pay_123", amount_minor=10**6)
        except errors.AmountExceedsAuthorized as error:
            limit: int | None = error.authorized_amount_minor
            _ = limit
        except errors.RpcError as error:
            reason: str = error.reason
            request_id: str = error.request_id
            fields: Sequence[errors.FieldViolation] = error.field_violations
            delay: float | None = error.retry_delay
            _ = (reason, request_id, fields, delay)
        payments: Pager[Payment] = client.payments.list(page_size=50)
        total = sum(p.amount_minor for p in payments)
        declined = client.payments.create(amount_minor=100, card=CARD)
        declined.amount_minor + "x"  # type: ignore[operator]
        client.customers.create(email="a@example.test", metadata={"k": "v"})
        client.merchants.gateway_configs.set("stripe", priority=1, settings={"timeout_ms": 2000})
        client.simulator.script_outcomes("simulator", ["error", "approve"])
        tokens = client.auth.tokens
        if tokens is not None:
            expires: int = tokens.access_token_expire_time.seconds
            _ = expires
    return total


def receive(body: bytes, header: str, secret: str) -> int:
    try:
        return webhooks.verify(body, header, secret, tolerance=300)
    except webhooks.SignatureVerificationError as error:
        print(error.reason)
        return 0
