"""The base of every exception the client raises, one class per gRPC status code, and the
hand-written refinements that the generated reason classes build on (``_generated/reasons.py``).
Import them from :mod:`paysim_client.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import grpc
from google.rpc import status_pb2


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field of a request (``google.rpc.BadRequest.FieldViolation``)."""

    field: str
    description: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PreconditionViolation:
    """One failed precondition (``google.rpc.PreconditionFailure.Violation``)."""

    type: str
    subject: str
    description: str


@dataclass(frozen=True, slots=True)
class QuotaViolation:
    """One exceeded limit (``google.rpc.QuotaFailure.Violation``)."""

    subject: str
    description: str


class PaysimError(Exception):
    """Base of every exception raised by this package."""


class RpcError(PaysimError):
    """A call the server (or the connection to it) did not carry out.

    ``code`` is the gRPC status code; ``reason`` the server's stable UPPER_SNAKE reason (empty
    when the failure happened before reaching paysim, e.g. a refused connection); ``metadata``
    the reason's details (``payment_id``, ``refundable_amount_minor``…); ``retry_delay`` the
    server's ``RetryInfo`` in seconds, if any; ``request_id`` the id of the call in the server's
    access log; ``status`` the full ``google.rpc.Status``, if the server sent one.
    """

    grpc_code: ClassVar[grpc.StatusCode | None] = None
    # The server reason a subclass stands for; empty for the per-code classes.
    REASON: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[FieldViolation] = (),
        precondition_violations: Sequence[PreconditionViolation] = (),
        quota_violations: Sequence[QuotaViolation] = (),
        retry_delay: float | None = None,
        request_id: str = "",
        status: status_pb2.Status | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code: grpc.StatusCode = code or self.grpc_code or grpc.StatusCode.UNKNOWN
        self.reason = reason
        self.domain = domain
        self.metadata: dict[str, str] = dict(metadata or {})
        self.field_violations: tuple[FieldViolation, ...] = tuple(field_violations)
        self.precondition_violations: tuple[PreconditionViolation, ...] = tuple(precondition_violations)
        self.quota_violations: tuple[QuotaViolation, ...] = tuple(quota_violations)
        self.retry_delay = retry_delay
        self.request_id = request_id
        self.status = status

    def __str__(self) -> str:
        extra = [f"reason={self.reason}"] if self.reason else []
        if self.request_id:
            extra.append(f"request_id={self.request_id}")
        suffix = f" ({', '.join(extra)})" if extra else ""
        return f"{self.code.name}: {self.message}{suffix}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, reason={self.reason!r}, request_id={self.request_id!r})"


# --- one class per status code -----------------------------------------------------------------


class Cancelled(RpcError):
    """The call was cancelled (by this process)."""

    grpc_code = grpc.StatusCode.CANCELLED


class Unknown(RpcError):
    """An error with no better code (paysim itself never answers with it)."""

    grpc_code = grpc.StatusCode.UNKNOWN


class InvalidArgument(RpcError):
    """The request is malformed: ``field_violations`` names each bad field and why."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(RpcError):
    """The call's deadline passed before an answer arrived; the server may still have acted."""

    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(RpcError):
    """No such object, or another tenant's (paysim never reveals that it exists)."""

    grpc_code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(RpcError):
    """A duplicate email, merchant name or API key name."""

    grpc_code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(RpcError):
    """Authenticated, but not allowed to make this call."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(RpcError):
    """A limit was hit (rate limit, login lockout); ``retry_delay`` says when to try again."""

    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(RpcError):
    """Not allowed in the object's current state; retrying the same request will not help."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(RpcError):
    """Lost a concurrency race on the server; ``retry_delay`` says when to retry."""

    grpc_code = grpc.StatusCode.ABORTED


class OutOfRange(RpcError):
    """Out of range (paysim reports ranges as ``InvalidArgument`` instead)."""

    grpc_code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(RpcError):
    """The server does not implement this call."""

    grpc_code = grpc.StatusCode.UNIMPLEMENTED


class Internal(RpcError):
    """A bug in the server: quote ``request_id`` when reporting it."""

    grpc_code = grpc.StatusCode.INTERNAL


class Unavailable(RpcError):
    """The server, its database or a payment gateway cannot be reached right now."""

    grpc_code = grpc.StatusCode.UNAVAILABLE


class DataLoss(RpcError):
    """Unrecoverable data loss (paysim never answers with it)."""

    grpc_code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(RpcError):
    """Missing, expired, revoked or forged credentials."""

    grpc_code = grpc.StatusCode.UNAUTHENTICATED


# The class of each code, for an answer whose reason has no class of its own.
BY_CODE: dict[grpc.StatusCode, type[RpcError]] = {
    cls.grpc_code: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
    if cls.grpc_code is not None
}


# --- refinements the generated reason classes subclass ------------------------------------------


class PaymentStateError(FailedPrecondition):
    """The payment's status does not allow the operation; ``metadata`` has ``payment_id`` and
    ``status``."""


class WithAuthorizedAmount(RpcError):
    """An error whose metadata says how much is authorized."""

    @property
    def authorized_amount_minor(self) -> int | None:
        return _int_or_none(self.metadata.get("authorized_amount_minor"))


class WithRefundableAmount(RpcError):
    """An error whose metadata says how much is still refundable."""

    @property
    def refundable_amount_minor(self) -> int | None:
        return _int_or_none(self.metadata.get("refundable_amount_minor"))


class WithLastSeq(RpcError):
    """An event stream's end whose metadata says the server's last hand-off, to resume after."""

    @property
    def last_seq(self) -> int | None:
        return _int_or_none(self.metadata.get("last_seq"))


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# The public names; the refinements above are only bases of the generated classes.
__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PaymentStateError",
    "PaysimError",
    "PermissionDenied",
    "PreconditionViolation",
    "QuotaViolation",
    "ResourceExhausted",
    "RpcError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
]
