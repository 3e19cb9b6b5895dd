"""The transport's loop against a scripted fake channel: one key and one request id across
retries, no retry of unsafe calls, one renewal on UNAUTHENTICATED, the deadline per attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from paysim_client import RetryPolicy, errors
from paysim_client._generated import rpcs
from paysim_client._transport import Transport
from paysim_proto.v1 import customer_pb2, payment_pb2


def _error(code: grpc.StatusCode, reason: str = "") -> grpc.aio.AioRpcError:
    status = status_pb2.Status(code=code.value[0], message="scripted")
    if reason:
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="paysim.v1"))
        status.details.append(packed)
    trailers = grpc.aio.Metadata(*rpc_status.to_status(status).trailing_metadata)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailers, "scripted")


@dataclass
class FakeChannel:
    """Answers each call with the next scripted outcome: an exception or a response."""

    outcomes: list[Any]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def unary_unary(self, path: str, request_serializer: Any, response_deserializer: Any) -> Any:
        async def invoke(request: Any, *, timeout: float | None, metadata: Sequence[tuple[str, str]]) -> Any:  # noqa: ASYNC109 - grpc's signature
            self.calls.append({"path": path, "timeout": timeout, "metadata": dict(metadata)})
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        return invoke

    async def close(self, grace: float | None) -> None:
        return None


class Renewing:
    def __init__(self) -> None:
        self.token = "old"
        self.renewals = 0

    async def authorization(self) -> str | None:
        return self.token

    async def renew(self, used: str | None, error: errors.Unauthenticated) -> bool:
        self.renewals += 1
        self.token = "new"
        return True


def _transport(channel: FakeChannel, **kw: Any) -> tuple[Transport, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    options: dict[str, Any] = {"timeout": 30.0, "retry": RetryPolicy(), **kw}
    transport = Transport(channel, random_source=lambda: 0.0, sleep=sleep, **options)  # type: ignore[arg-type]
    return transport, slept


def test_a_keyed_call_keeps_its_key_and_request_id_across_retries() -> None:
    reply = payment_pb2.CapturePaymentResponse(payment=payment_pb2.Payment(id="pay_1"))
    channel = FakeChannel(
        [_error(grpc.StatusCode.UNAVAILABLE), _error(grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_IN_USE"), reply]
    )
    transport, slept = _transport(channel)
    got = asyncio.run(transport.call(rpcs.CAPTURE_PAYMENT, payment_pb2.CapturePaymentRequest(payment_id="pay_1")))
    assert got.payment.id == "pay_1"
    keys = {c["metadata"]["idempotency-key"] for c in channel.calls}
    ids = {c["metadata"]["x-request-id"] for c in channel.calls}
    assert len(channel.calls) == 3 and len(keys) == 1 and len(ids) == 1
    assert next(iter(keys)).startswith("sdk-")
    assert slept == pytest.approx([0.1, 0.2])


def test_the_callers_key_is_used_and_reads_carry_none() -> None:
    channel = FakeChannel([payment_pb2.VoidPaymentResponse(), payment_pb2.GetPaymentResponse()])
    transport, _ = _transport(channel)
    asyncio.run(transport.call(rpcs.VOID_PAYMENT, payment_pb2.VoidPaymentRequest(), idempotency_key="order-7-void"))
    asyncio.run(transport.call(rpcs.GET_PAYMENT, payment_pb2.GetPaymentRequest()))
    assert channel.calls[0]["metadata"]["idempotency-key"] == "order-7-void"
    assert "idempotency-key" not in channel.calls[1]["metadata"]


def test_an_unsafe_call_is_not_repeated_after_unavailable() -> None:
    channel = FakeChannel([_error(grpc.StatusCode.UNAVAILABLE), customer_pb2.CreateCustomerResponse()])
    transport, slept = _transport(channel)
    with pytest.raises(errors.Unavailable):
        asyncio.run(transport.call(rpcs.CREATE_CUSTOMER, customer_pb2.CreateCustomerRequest()))
    assert len(channel.calls) == 1 and slept == []


def test_unauthenticated_renews_the_credentials_once_then_gives_up() -> None:
    channel = FakeChannel(
        [
            _error(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED"),
            _error(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED"),
        ]
    )
    transport, _ = _transport(channel)
    credentials = Renewing()
    transport.credentials = credentials
    with pytest.raises(errors.Unauthenticated):
        asyncio.run(transport.call(rpcs.GET_PAYMENT, payment_pb2.GetPaymentRequest()))
    assert credentials.renewals == 1
    assert [c["metadata"]["authorization"] for c in channel.calls] == ["Bearer old", "Bearer new"]


def test_anonymous_rpcs_never_carry_credentials() -> None:
    from paysim_proto.v1 import auth_pb2

    channel = FakeChannel([auth_pb2.RefreshTokenResponse()])
    transport, _ = _transport(channel)
    transport.credentials = Renewing()
    asyncio.run(transport.call(rpcs.REFRESH_TOKEN, auth_pb2.RefreshTokenRequest()))
    assert "authorization" not in channel.calls[0]["metadata"]


def test_each_attempt_gets_what_is_left_of_the_deadline() -> None:
    channel = FakeChannel([_error(grpc.StatusCode.UNAVAILABLE), payment_pb2.GetPaymentResponse()])
    transport, _ = _transport(channel, timeout=20.0)
    asyncio.run(transport.call(rpcs.GET_PAYMENT, payment_pb2.GetPaymentRequest(), timeout=5.0))
    first, second = (c["timeout"] for c in channel.calls)
    assert 4.5 < first <= 5.0 and second <= first
    channel = FakeChannel([payment_pb2.GetPaymentResponse()])
    transport, _ = _transport(channel, timeout=None)
    asyncio.run(transport.call(rpcs.GET_PAYMENT, payment_pb2.GetPaymentRequest()))
    assert channel.calls[0]["timeout"] is None


def test_a_retry_info_delay_beyond_the_deadline_raises_at_once() -> None:
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message="scripted")
    for detail in (
        error_details_pb2.ErrorInfo(reason="CIRCUIT_OPEN"),
        error_details_pb2.RetryInfo(retry_delay={"seconds": 30}),
    ):
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    trailers = grpc.aio.Metadata(*rpc_status.to_status(status).trailing_metadata)
    raw = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), trailers, "scripted")
    channel = FakeChannel([raw])
    transport, slept = _transport(channel)
    with pytest.raises(errors.CircuitOpen) as caught:
        asyncio.run(transport.call(rpcs.GET_PAYMENT, payment_pb2.GetPaymentRequest(), timeout=5.0))
    assert caught.value.retry_delay == 30 and slept == []


def test_a_closed_transport_refuses_calls() -> None:
    transport, _ = _transport(FakeChannel([]))
    asyncio.run(transport.close())
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(transport.call(rpcs.GET_PAYMENT, payment_pb2.GetPaymentRequest()))
