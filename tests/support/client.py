"""Generated stubs with a credential attached, and rich-error decoding for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from paysim_proto.v1 import (
    auth_pb2_grpc,
    clock_pb2_grpc,
    customer_pb2_grpc,
    dispute_pb2_grpc,
    events_pb2_grpc,
    merchant_pb2_grpc,
    payment_pb2,
    payment_pb2_grpc,
    simulator_pb2_grpc,
    threeds_pb2_grpc,
    webhook_pb2_grpc,
)


class _BearerCall:
    """Wraps one stub method so every call carries ``authorization: Bearer <credential>``."""

    def __init__(self, method: Any, credential: str | None) -> None:
        self._method = method
        self._credential = credential

    def _metadata(self, metadata: Any) -> list[tuple[str, str]]:
        items = list(metadata or ())
        if self._credential is not None:
            items.append(("authorization", f"Bearer {self._credential}"))
        return items

    def __call__(self, request: Any, *, metadata: Any = None, timeout: float = 30, **kw: Any) -> Any:
        return self._method(request, metadata=self._metadata(metadata), timeout=timeout, **kw)

    def with_call(self, request: Any, *, metadata: Any = None, timeout: float = 30, **kw: Any) -> Any:
        return self._method.with_call(request, metadata=self._metadata(metadata), timeout=timeout, **kw)


class _AuthedStub:
    def __init__(self, stub: Any, credential: str | None) -> None:
        self._stub = stub
        self._credential = credential

    def __getattr__(self, name: str) -> _BearerCall:
        return _BearerCall(getattr(self._stub, name), self._credential)


class Stubs:
    def __init__(self, channel: grpc.Channel, credential: str | None = None) -> None:
        self.channel = channel
        self.credential = credential
        self.auth = _AuthedStub(auth_pb2_grpc.AuthServiceStub(channel), credential)
        self.merchants = _AuthedStub(merchant_pb2_grpc.MerchantServiceStub(channel), credential)
        self.customers = _AuthedStub(customer_pb2_grpc.CustomerServiceStub(channel), credential)
        self.payments = _AuthedStub(payment_pb2_grpc.PaymentServiceStub(channel), credential)
        self.simulator = _AuthedStub(simulator_pb2_grpc.SimulatorServiceStub(channel), credential)
        self.threeds = _AuthedStub(threeds_pb2_grpc.ThreeDSServiceStub(channel), credential)
        self.webhooks = _AuthedStub(webhook_pb2_grpc.WebhookServiceStub(channel), credential)
        self.events = _AuthedStub(events_pb2_grpc.EventServiceStub(channel), credential)
        self.clocks = _AuthedStub(clock_pb2_grpc.ClockServiceStub(channel), credential)
        self.disputes = _AuthedStub(dispute_pb2_grpc.DisputeServiceStub(channel), credential)

    def as_(self, credential: str | None) -> Stubs:
        return Stubs(self.channel, credential)


@dataclass
class RichError:
    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: dict[str, str] = field(default_factory=dict)
    violation_reasons: dict[str, str] = field(default_factory=dict)
    retry_delay_seconds: float | None = None
    request_id: str = ""
    detail_types: list[str] = field(default_factory=list)


def rich_error(error: grpc.RpcError) -> RichError:
    call: Any = error
    result = RichError(code=call.code(), message=call.details() or "")
    status = rpc_status.from_call(call)
    if status is None:
        return result
    for detail in status.details:
        result.detail_types.append(detail.type_url.rsplit("/", 1)[-1])
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            result.reason, result.domain, result.metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            result.field_violations = {v.field: v.description for v in bad.field_violations}
            result.violation_reasons = {v.field: v.reason for v in bad.field_violations}
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            result.retry_delay_seconds = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
        elif detail.Is(error_details_pb2.RequestInfo.DESCRIPTOR):
            info_r = error_details_pb2.RequestInfo()
            detail.Unpack(info_r)
            result.request_id = info_r.request_id
    return result


def expect_error(fn: Any, *args: Any, **kwargs: Any) -> RichError:
    """Call ``fn`` and return the decoded error it raised; fail if it succeeded."""
    try:
        fn(*args, **kwargs)
    except grpc.RpcError as error:
        return rich_error(error)
    raise AssertionError("the call succeeded but an error was expected")


def _word(enum: Any, value: int, prefix: str) -> str:
    name: str = enum.Name(value)
    return name.removeprefix(prefix).lower()


def operation(attempt: Any) -> str:
    """A ``GatewayAttempt``'s operation as a word: ``"authorize"``, ``"capture"``…"""
    return _word(payment_pb2.GatewayOperation, attempt.operation, "GATEWAY_OPERATION_")


def outcome(attempt: Any) -> str:
    """A ``GatewayAttempt``'s outcome as a word: ``"approved"``, ``"declined"``, ``"error"``, ``"skipped"``."""
    return _word(payment_pb2.GatewayOutcome, attempt.outcome, "GATEWAY_OUTCOME_")


def refund_status(refund: Any) -> str:
    """A ``Refund``'s status as a word: ``"pending"``, ``"succeeded"``, ``"failed"``."""
    return _word(payment_pb2.RefundStatus, refund.status, "REFUND_STATUS_")
