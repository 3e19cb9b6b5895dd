"""Every exception class, raised by a real server's answer (or, for the transport's own classes,
by a real broken connection), with the reason, metadata, violations and request id it carries."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from paysim_client import AsyncClient, Client, RetryPolicy, SimulationOverride, _status_errors, errors
from paysim_client._rpc import Rpc, Safety
from paysim_client.types import CaptureMethod, CardInput, PaymentStatus, UpiInput
from paysim_proto.v1 import payment_pb2

from tests.sdk.conftest import VISA, wait_for
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle
from tests.support.tcp_proxy import TcpProxy

ONCE = RetryPolicy.disabled()
# Classes for codes paysim never answers with: reached through the mapping alone
# (test_error_mapping.py). INTERNAL would be a server bug; CANCELLED comes from this process;
# UNKNOWN is gRPC's answer to an undecodable request, which paysim answers INVALID_ARGUMENT.
NEVER_FROM_PAYSIM = {errors.Cancelled, errors.Internal, errors.DataLoss, errors.OutOfRange, errors.Unknown}
# Per-code bases whose every paysim answer today has a more specific class.
ONLY_THROUGH_SUBCLASSES = {
    errors.NotFound,
    errors.AlreadyExists,
    errors.PermissionDenied,
    errors.Unauthenticated,
    errors.ResourceExhausted,
    errors.FailedPrecondition,
    errors.Aborted,
    errors.PaymentStateError,
}


@dataclass
class Ctx:
    server: ServerHandle
    merchant: MerchantAccount
    client: Client
    admin: Client


@pytest.fixture
def ctx(server: ServerHandle, merchant: MerchantAccount, client: Client, admin: Client) -> Ctx:
    return Ctx(server, merchant, client, admin)


def _manual(ctx: Ctx, amount: int = 5000) -> str:
    return ctx.client.payments.create(
        amount_minor=amount, card=VISA, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL
    ).id


def invalid_argument(ctx: Ctx) -> None:
    card = CardInput(number="4242424242424241", exp_month=12, exp_year=2031, cvc="123")
    ctx.client.payments.create(amount_minor=700, card=card)


def not_found(ctx: Ctx) -> None:
    other = register_merchant(ctx.server.stubs())
    with Client.connect(ctx.server.target, api_key=other.api_key) as theirs:
        payment = theirs.payments.create(amount_minor=100, card=VISA)
    ctx.client.payments.get(payment.id)


def already_exists(ctx: Ctx) -> None:
    ctx.client.merchants.register(name="Another shop", owner_email=ctx.merchant.email, owner_password="long enough pw")


def permission_denied(ctx: Ctx) -> None:
    next(iter(ctx.client.merchants.list()))


def merchant_inactive(ctx: Ctx) -> None:
    ctx.admin.merchants.deactivate(ctx.merchant.merchant_id)
    try:
        ctx.client.payments.create(amount_minor=100, card=VISA)
    finally:
        ctx.admin.merchants.activate(ctx.merchant.merchant_id)


def unauthenticated(ctx: Ctx) -> None:
    with Client.connect(ctx.server.target, api_key="sk_test_" + "x" * 40) as forged:
        forged.auth.me()


def invalid_credentials(ctx: Ctx) -> None:
    ctx.client.auth.login(ctx.merchant.email, "not the password")


def idempotency_key_reused(ctx: Ctx) -> None:
    ctx.client.payments.create(amount_minor=100, card=VISA, idempotency_key="order-1")
    ctx.client.payments.create(amount_minor=200, card=VISA, idempotency_key="order-1")


def payment_not_capturable(ctx: Ctx) -> None:
    payment = ctx.client.payments.create(amount_minor=100, card=VISA)
    ctx.client.payments.capture(payment.id)


def payment_not_voidable(ctx: Ctx) -> None:
    payment = ctx.client.payments.create(amount_minor=100, card=VISA)
    ctx.client.payments.void(payment.id)


def payment_not_refundable(ctx: Ctx) -> None:
    ctx.client.payments.refund(_manual(ctx))


def amount_exceeds_authorized(ctx: Ctx) -> None:
    ctx.client.payments.capture(_manual(ctx, 5000), amount_minor=5001)


def amount_exceeds_refundable(ctx: Ctx) -> None:
    payment = ctx.client.payments.create(amount_minor=3000, card=VISA)
    ctx.client.payments.refund(payment.id, amount_minor=1000)
    ctx.client.payments.refund(payment.id, amount_minor=2001)


THREE_DS_CARD = CardInput(number="4000000000003220", exp_month=12, exp_year=2031, cvc="123")


def payment_method_not_available(ctx: Ctx) -> None:
    ctx.client.payments.create(amount_minor=100, currency_code="INR", upi=UpiInput(vpa="success@razorpay"))


def three_ds_challenge_completed(ctx: Ctx) -> None:
    payment = ctx.client.payments.create(amount_minor=100, card=THREE_DS_CARD)
    assert ctx.client.three_ds.answer_challenge(payment).status == PaymentStatus.PAYMENT_STATUS_CAPTURED
    ctx.client.three_ds.answer_challenge(payment)


def idempotency_key_in_use(ctx: Ctx) -> None:
    slow = SimulationOverride(latency_ms=1500)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(ctx.client.payments.create, amount_minor=900, card=VISA, idempotency_key="k", simulate=slow)
        wait_for(lambda: any(True for _ in ctx.client.payments.list()), what="the first request in flight")
        try:
            ctx.client.payments.create(amount_minor=900, card=VISA, idempotency_key="k", retry=ONCE)
        finally:
            first.result(30)


def payment_busy(ctx: Ctx) -> None:
    ctx.client.merchants.gateway_configs.set("simulator", priority=1, settings={"latency_ms": 1500})
    payment_id = _manual(ctx)
    with ThreadPoolExecutor(1) as pool:
        capture = pool.submit(ctx.client.payments.capture, payment_id)
        wait_for(
            lambda: any(e.type == "payment.capture_requested" for e in ctx.client.payments.events(payment_id)),
            what="the capture in flight",
        )
        try:
            ctx.client.payments.void(payment_id)
        finally:
            capture.result(30)


def gateway_unavailable(ctx: Ctx) -> None:
    ctx.client.simulator.script_outcomes("simulator", ["error"])
    ctx.client.payments.create(amount_minor=100, card=VISA, retry=ONCE)


def circuit_open(ctx: Ctx) -> None:
    threshold = ctx.client.simulator.list_breakers().settings.failure_threshold
    ctx.client.simulator.script_outcomes("simulator", ["error"] * threshold)
    for _ in range(threshold):
        with pytest.raises(errors.GatewayUnavailable):
            ctx.client.payments.create(amount_minor=100, card=VISA, retry=ONCE)
    started = time.monotonic()
    try:
        # Retries are on, but the server's RetryInfo (the cool-down) ends past the deadline.
        ctx.client.payments.create(amount_minor=100, card=VISA, timeout=5)
    finally:
        assert time.monotonic() - started < 3, "no waiting for a retry that cannot happen in time"


def unavailable(ctx: Ctx) -> None:
    proxy = TcpProxy("127.0.0.1", ctx.server.port)
    proxy.start()
    try:
        with Client.connect(f"127.0.0.1:{proxy.port}", api_key=ctx.merchant.api_key, retry=ONCE) as cut_off:
            cut_off.auth.me()
            proxy.cut()
            cut_off.auth.me()
    finally:
        proxy.close()


def deadline_exceeded(ctx: Ctx) -> None:
    try:
        ctx.client.payments.create(
            amount_minor=100, card=VISA, simulate=SimulationOverride(latency_ms=1000), timeout=0.3
        )
    finally:
        # The server finishes what it started: wait for it rather than leave it running.
        wait_for(
            lambda: [PaymentStatus.Name(p.status) for p in ctx.client.payments.list()] == ["PAYMENT_STATUS_CAPTURED"],
            what="the abandoned payment to finish",
        )


def _raw_call(ctx: Ctx, rpc: Rpc[Any, Any], request: Any) -> None:
    async def call() -> None:
        async with AsyncClient.connect(ctx.server.target, api_key=ctx.merchant.api_key, retry=ONCE) as raw:
            await raw._transport.call(rpc, request)

    asyncio.run(call())


def unimplemented(ctx: Ctx) -> None:
    # What a client newer than the server meets: an RPC the server does not have.
    rpc = Rpc("/paysim.v1.PaymentService/NotYetThere", payment_pb2.GetPaymentRequest, payment_pb2.Payment, Safety.READ)
    _raw_call(ctx, rpc, payment_pb2.GetPaymentRequest())


def rate_limited_and_login_locked(
    make_server: Callable[..., ServerHandle],
) -> tuple[errors.RpcError, errors.RpcError]:
    server = make_server(rate_limit_per_minute=12, login_max_failures=2)
    account = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=account.api_key) as client:
        with pytest.raises(errors.RateLimited) as limited:
            for _ in range(13):
                client.auth.me()
        with pytest.raises(errors.InvalidCredentials):
            client.auth.login(account.email, "wrong password")
        with pytest.raises(errors.LoginLocked) as locked:
            client.auth.login(account.email, "wrong again")  # the second failure locks the email
        with pytest.raises(errors.LoginLocked):
            client.auth.login(account.email, account.password)
    return limited.value, locked.value


CASES: list[tuple[type[errors.RpcError], Callable[[Ctx], None], str]] = [
    (errors.InvalidArgument, invalid_argument, "INVALID_ARGUMENT"),
    (errors.PaymentNotFound, not_found, "PAYMENT_NOT_FOUND"),
    (errors.EmailTaken, already_exists, "EMAIL_TAKEN"),
    (errors.AdminOnly, permission_denied, "ADMIN_ONLY"),
    (errors.MerchantInactive, merchant_inactive, "MERCHANT_INACTIVE"),
    (errors.InvalidApiKey, unauthenticated, "INVALID_API_KEY"),
    (errors.InvalidCredentials, invalid_credentials, "INVALID_CREDENTIALS"),
    (errors.IdempotencyKeyReused, idempotency_key_reused, "IDEMPOTENCY_KEY_REUSED"),
    (errors.PaymentNotCapturable, payment_not_capturable, "PAYMENT_NOT_CAPTURABLE"),
    (errors.PaymentNotVoidable, payment_not_voidable, "PAYMENT_NOT_VOIDABLE"),
    (errors.PaymentNotRefundable, payment_not_refundable, "PAYMENT_NOT_REFUNDABLE"),
    (errors.AmountExceedsAuthorized, amount_exceeds_authorized, "AMOUNT_EXCEEDS_AUTHORIZED"),
    (errors.AmountExceedsRefundable, amount_exceeds_refundable, "AMOUNT_EXCEEDS_REFUNDABLE"),
    (errors.PaymentMethodNotAvailable, payment_method_not_available, "PAYMENT_METHOD_NOT_AVAILABLE"),
    (errors.ThreeDSChallengeCompleted, three_ds_challenge_completed, "THREE_DS_CHALLENGE_COMPLETED"),
    (errors.IdempotencyKeyInUse, idempotency_key_in_use, "IDEMPOTENCY_KEY_IN_USE"),
    (errors.PaymentBusy, payment_busy, "PAYMENT_BUSY"),
    (errors.GatewayUnavailable, gateway_unavailable, "GATEWAY_UNAVAILABLE"),
    (errors.CircuitOpen, circuit_open, "CIRCUIT_OPEN"),
    (errors.Unavailable, unavailable, ""),
    (errors.DeadlineExceeded, deadline_exceeded, ""),
    (errors.Unimplemented, unimplemented, ""),
]


@pytest.mark.parametrize(("cls", "trigger", "reason"), CASES, ids=[c[0].__name__ for c in CASES])
def test_raised_by_a_real_server(
    ctx: Ctx, cls: type[errors.RpcError], trigger: Callable[[Ctx], None], reason: str
) -> None:
    with pytest.raises(errors.RpcError) as caught:
        trigger(ctx)
    error = caught.value
    assert type(error) is cls, f"{type(error).__name__}: {error}"
    assert error.code is cls.grpc_code
    assert error.reason == reason
    if reason:  # paysim's own answers carry the domain and the request id of the call
        assert error.domain == "paysim.v1" and len(error.request_id) == 32
    _check_details(error)


def _check_details(error: errors.RpcError) -> None:
    if isinstance(error, errors.InvalidArgument):
        assert [(v.field, v.reason) for v in error.field_violations] == [("card.number", "INCORRECT_NUMBER")]
        assert "4242424242424241" not in str(error)
    if isinstance(error, errors.PaymentStateError):
        assert error.metadata["payment_id"].startswith("pay_")
        assert [v.type for v in error.precondition_violations] == ["PAYMENT_STATUS"]
    if isinstance(error, errors.AmountExceedsAuthorized):
        assert error.authorized_amount_minor == 5000
    if isinstance(error, errors.AmountExceedsRefundable):
        assert error.refundable_amount_minor == 2000
    if isinstance(error, errors.IdempotencyKeyReused):
        assert error.metadata["idempotency_key"] == "order-1"
    if isinstance(error, errors.Aborted | errors.GatewayUnavailable) and error.reason:
        assert error.retry_delay is not None and error.retry_delay > 0
    if isinstance(error, errors.GatewayUnavailable):
        assert error.metadata["payment_id"].startswith("pay_")
    if isinstance(error, errors.CircuitOpen):
        assert error.retry_delay is not None and error.retry_delay > 5


def test_rate_limited_and_login_locked(make_server: Callable[..., ServerHandle]) -> None:
    limited, locked = rate_limited_and_login_locked(make_server)
    for error in (limited, locked):
        assert error.code is errors.ResourceExhausted.grpc_code
        assert error.retry_delay is not None and error.retry_delay > 0 and error.request_id
    assert limited.reason == "RATE_LIMITED" and limited.quota_violations
    assert locked.reason == "LOGIN_LOCKED"


def test_three_ds_challenge_expired(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=account.api_key) as client:
        payment = client.payments.create(amount_minor=100, card=THREE_DS_CARD)
        assert payment.status == PaymentStatus.PAYMENT_STATUS_REQUIRES_ACTION
        server.clock.advance(timedelta(minutes=16))
        with pytest.raises(errors.ThreeDSChallengeExpired) as caught:
            client.three_ds.answer_challenge(payment)
    assert caught.value.metadata["payment_id"] == payment.id and caught.value.request_id


def _status_classes() -> Iterator[type[errors.RpcError]]:
    """The hand-written classes: one per status code, and the refinements the SDK documents."""
    for name in _status_errors.__all__:
        value = getattr(errors, name)
        if inspect.isclass(value) and issubclass(value, errors.RpcError) and value is not errors.RpcError:
            yield value


# Raised by real servers in test_watch.py (event streams) and test_webhook_endpoints.py.
COVERED_ELSEWHERE = {
    errors.ServerShuttingDown,
    errors.SubscriberTooSlow,
    errors.TooManyStreams,
    errors.WebhookEndpointDisabled,
    errors.WebhookEndpointLimit,
}
# The reason classes the SDK had before they were generated from the contract: each is raised by a
# real server. (Every reason class is tied to the contract by tests/unit/test_contract.py.)
DOCUMENTED_REASON_CLASSES = {
    errors.InvalidCredentials,
    errors.MerchantInactive,
    errors.RateLimited,
    errors.LoginLocked,
    errors.IdempotencyKeyReused,
    errors.PaymentNotCapturable,
    errors.PaymentNotVoidable,
    errors.PaymentNotRefundable,
    errors.AmountExceedsAuthorized,
    errors.AmountExceedsRefundable,
    errors.PaymentMethodNotAvailable,
    errors.ThreeDSChallengeCompleted,
    errors.ThreeDSChallengeExpired,
    errors.IdempotencyKeyInUse,
    errors.PaymentBusy,
    errors.GatewayUnavailable,
    errors.CircuitOpen,
    *COVERED_ELSEWHERE,
}


def test_every_exception_class_is_covered() -> None:
    covered = {case[0] for case in CASES} | {errors.RateLimited, errors.LoginLocked, errors.ThreeDSChallengeExpired}
    covered |= COVERED_ELSEWHERE
    assert covered >= DOCUMENTED_REASON_CLASSES
    by_status = {cls for cls in covered if cls in set(_status_classes())}
    assert set(_status_classes()) == by_status | NEVER_FROM_PAYSIM | ONLY_THROUGH_SUBCLASSES
    for base in ONLY_THROUGH_SUBCLASSES:
        assert any(issubclass(cls, base) for cls in covered), base
