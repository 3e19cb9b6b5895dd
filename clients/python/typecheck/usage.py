"""Uses the public surface with types; ``scripts/check_dist.py`` runs ``mypy --strict`` on it
against the installed distribution (it is never run). The ``type: ignore`` comments mark
deliberate mistakes: with ``warn_unused_ignores`` they fail the check if a type degrades to Any.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import paysim_client
from paysim_client import (
    AsyncPager,
    AsyncWatcher,
    Page,
    Pager,
    ReconnectPolicy,
    RetryPolicy,
    SimulationOverride,
    TLSConfig,
    Watcher,
    errors,
    webhooks,
)
from paysim_client.types import (
    AcsAction,
    CaptureMethod,
    CardInput,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundStatus,
    StreamStart,
    ThreeDSPolicyMode,
    TokenPair,
    UpiInput,
    WebhookDelivery,
    WebhookDeliveryState,
    WebhookEndpoint,
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
        succeeded: bool = refund.status == RefundStatus.REFUND_STATUS_SUCCEEDED
        refunds: AsyncPager[Refund] = client.payments.list_refunds(payment.id, page_size=10)
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
        _ = (refund, ids, pages, succeeded, refunds)
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


async def watch(client: paysim_client.AsyncClient, saved: int | None) -> int | None:
    policy = ReconnectPolicy(max_backoff=5.0, max_attempts=None)
    watcher: AsyncWatcher = client.payments.watch(event_types=["payment.captured"], after_seq=saved, reconnect=policy)
    async with watcher:
        async for event in watcher:
            kind: str = event.type
            version: int = event.payment_version
            captured: int = event.payment_captured.amount_minor
            _ = (kind, version, captured)
            break
    client.payments.watch(start=StreamStart.STREAM_START_NOW, stall_timeout=30.0)
    client.payments.watch(after_seq="5")  # type: ignore[arg-type]
    return watcher.cursor


def watch_blocking(client: paysim_client.Client) -> list[PaymentEvent]:
    got: list[PaymentEvent] = []
    with client.payments.watch(payment_id="pay_123") as watcher:
        blocking_watcher: Watcher = watcher
        for event in blocking_watcher:
            got.append(event)
            cursor: int | None = watcher.cursor
            last: errors.RpcError | None = watcher.last_error
            _ = (cursor, last, watcher.reconnects)
            break
    return got


def manage_webhooks(client: paysim_client.Client) -> str:
    made = client.webhooks.create("https://shop.example/hooks", event_types=["payment.captured"])
    secret: str = made.secret
    endpoint: WebhookEndpoint = client.webhooks.update(made.webhook_endpoint.id, enabled=False)
    rotated = client.webhooks.rotate_secret(endpoint.id, overlap_seconds=3600)
    dead = WebhookDeliveryState.WEBHOOK_DELIVERY_STATE_DEAD
    deliveries: Pager[WebhookDelivery] = client.webhooks.list_deliveries(state=dead)
    for delivery in deliveries:
        client.webhooks.redeliver(delivery.id)
    client.webhooks.get(123)  # type: ignore[arg-type]
    try:
        client.webhooks.delete(endpoint.id)
    except errors.WebhookEndpointDisabled as error:
        _ = error.reason
    return secret + rotated.secret


class FileStore:
    """A TokenStore: structural, no base class needed."""

    def load(self) -> TokenPair | None:
        return None

    def save(self, tokens: TokenPair | None) -> None:
        _ = tokens

    def lock(self) -> AbstractContextManager[object]:
        return nullcontext()


def resume(target: str, email: str, password: str) -> str:
    store: paysim_client.TokenStore = FileStore()
    with paysim_client.Client.connect(target, email=email, password=password, token_store=store):
        pass  # the login is saved in the store
    with paysim_client.Client.connect(target, token_store=store) as client:
        me = client.auth.me()
        paysim_client.Client.connect(target, token_store="file.json")  # type: ignore[arg-type]
    return me.user.email
