"""The exceptions the client raises, built from the server's ``google.rpc.Status`` details.

Every failed call raises a subclass of :class:`RpcError`: one class per gRPC status code
(:class:`NotFound`, :class:`FailedPrecondition`, …) and, beneath them, one per reason of the
contract's ``ErrorReason`` enum (:class:`AmountExceedsRefundable`, :class:`IdempotencyKeyReused`,
:class:`PaymentNotFound`, …), generated from ``proto/paysim/v1/error_reason.proto`` with its
documentation. Each carries the stable ``reason``, its ``metadata``, field and precondition
violations, the server's retry delay and the request id to find the call in the server's log.

A declined card is not an error: ``payments.create`` returns the payment with status
``PAYMENT_STATUS_DECLINED`` and a ``decline``.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from paysim_client import _status_errors
from paysim_client._generated import reasons
from paysim_client._generated.reasons import *  # noqa: F403 - one class per reason of the contract
from paysim_client._status_errors import *  # noqa: F403 - the base and one class per status code
from paysim_client._status_errors import (
    FieldViolation,
    PreconditionViolation,
    QuotaViolation,
    RpcError,
    Unknown,
)

REQUEST_ID_HEADER = "x-request-id"

__all__ = [*_status_errors.__all__, *reasons.__all__, "error_class", "from_grpc_error"]

# They are used, documented and shown in tracebacks as this module's.
for _public in (*_status_errors.__all__, *reasons.__all__):
    globals()[_public].__module__ = __name__


def error_class(code: grpc.StatusCode, reason: str) -> type[RpcError]:
    """The most specific class for a status code and reason."""
    specific = reasons.BY_REASON.get(reason)
    if specific is not None and specific.grpc_code is code:
        return specific
    return _status_errors.BY_CODE.get(code, Unknown)


def _rich_status(error: grpc.RpcError) -> status_pb2.Status | None:
    call: Any = error  # a sync grpc.Call or an aio AioRpcError: both have what from_call reads
    try:
        status: status_pb2.Status | None = rpc_status.from_call(call)
    except ValueError:  # details that contradict the status line: keep the status line
        return None
    return status


def _trailer(error: grpc.RpcError, name: str) -> str:
    call: Any = error
    for key, value in call.trailing_metadata() or ():
        if key == name:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return ""


def from_grpc_error(error: grpc.RpcError) -> RpcError:
    """Translate a ``grpc.RpcError`` (sync or aio) into the matching :class:`RpcError`."""
    call: Any = error
    code: grpc.StatusCode = call.code()
    message: str = call.details() or code.name.lower().replace("_", " ")
    status = _rich_status(error)
    fields: dict[str, Any] = {"request_id": _trailer(error, REQUEST_ID_HEADER)}
    reason = ""
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
            fields.update(domain=info.domain, metadata=dict(info.metadata))
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields["field_violations"] = [
                FieldViolation(v.field, v.description, v.reason) for v in bad.field_violations
            ]
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            fields["precondition_violations"] = [
                PreconditionViolation(v.type, v.subject, v.description) for v in failure.violations
            ]
        elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
            quota = error_details_pb2.QuotaFailure()
            detail.Unpack(quota)
            fields["quota_violations"] = [QuotaViolation(v.subject, v.description) for v in quota.violations]
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            fields["retry_delay"] = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
        elif detail.Is(error_details_pb2.RequestInfo.DESCRIPTOR):
            request = error_details_pb2.RequestInfo()
            detail.Unpack(request)
            fields["request_id"] = request.request_id or fields["request_id"]
    cls = error_class(code, reason)
    return cls(message, code=code, reason=reason, status=status, **fields)
