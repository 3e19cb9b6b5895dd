"""Domain errors → ``google.rpc.Status`` with rich details (README, "Errors").

Every status carries ``ErrorInfo`` (reason, domain ``paysim.v1``, metadata) and ``RequestInfo``
(the request id); field errors add ``BadRequest``, throttling and transient failures add
``RetryInfo`` (and ``QuotaFailure``), broken preconditions add ``PreconditionFailure``.
"""

from __future__ import annotations

import math

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from paysim.domain import errors

DOMAIN = "paysim.v1"


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _duration(seconds: float) -> duration_pb2.Duration:
    whole = math.floor(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))


def to_status_proto(error: errors.DomainError, request_id: str) -> status_pb2.Status:
    code = code_pb2.Code.Value(error.code_name)
    status = status_pb2.Status(code=code, message=error.message)
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
    status.details.append(_pack(info))
    if isinstance(error, errors.InvalidArgument):
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description, reason=v.reason)
                for v in error.violations[: errors.MAX_REPORTED_VIOLATIONS]
            ]
        )
        status.details.append(_pack(bad))
    if isinstance(error, errors.FailedPrecondition) and error.violations:
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=v.type, subject=v.subject, description=v.description
                )
                for v in error.violations[: errors.MAX_REPORTED_VIOLATIONS]
            ]
        )
        status.details.append(_pack(failure))
    if isinstance(error, errors.ResourceExhausted | errors.Unavailable | errors.Aborted):
        retry = error_details_pb2.RetryInfo(retry_delay=_duration(max(error.retry_after_seconds, 0.0)))
        status.details.append(_pack(retry))
    if isinstance(error, errors.ResourceExhausted) and error.quota_subject:
        quota = error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(subject=error.quota_subject, description=error.message)
            ]
        )
        status.details.append(_pack(quota))
    status.details.append(_pack(error_details_pb2.RequestInfo(request_id=request_id)))
    return status


def internal_status_proto(request_id: str) -> status_pb2.Status:
    """A bug: say so, with the request id to find it in the logs, and nothing of the internals."""
    return to_status_proto(
        errors.DomainError(f"internal error; quote request id {request_id}", reason="INTERNAL"), request_id
    )


def to_grpc_status(status: status_pb2.Status) -> grpc.Status:
    result: grpc.Status = rpc_status.to_status(status)
    return result
