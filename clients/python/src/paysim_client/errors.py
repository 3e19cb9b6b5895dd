"""The exceptions the client raises, built from the server's ``google.rpc.Status`` details.

Every failed call raises a subclass of :class:`RpcError`: one class per gRPC status code
(:class:`NotFound`, :class:`FailedPrecondition`, …) and, beneath them, one per reason worth
switching on (:class:`AmountExceedsRefundable`, :class:`IdempotencyKeyReused`, …). Each carries
the stable ``reason``, its ``metadata``, field and precondition violations, the server's retry
delay and the request id to find the call in the server's log.

A declined card is not an error: ``payments.create`` returns the payment with status
``PAYMENT_STATUS_DECLINED`` and a ``decline``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

REQUEST_ID_HEADER = "x-request-id"


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


# --- the reasons worth a class of their own ----------------------------------------------------


class InvalidCredentials(Unauthenticated):
    """Login refused: the email or the password is not correct."""

    REASON: ClassVar[str] = "INVALID_CREDENTIALS"


class MerchantInactive(PermissionDenied):
    """The merchant has been deactivated by an admin; its credentials are refused."""

    REASON: ClassVar[str] = "MERCHANT_INACTIVE"


class RateLimited(ResourceExhausted):
    """Too many calls per minute for this caller; wait ``retry_delay`` seconds."""

    REASON: ClassVar[str] = "RATE_LIMITED"


class LoginLocked(ResourceExhausted):
    """Too many failed logins for this email; it is locked for ``retry_delay`` seconds."""

    REASON: ClassVar[str] = "LOGIN_LOCKED"


class IdempotencyKeyReused(FailedPrecondition):
    """The idempotency key was used before with another method or other parameters.

    A bug in the caller: a new request needs a new key. ``metadata['idempotency_key']`` names it.
    """

    REASON: ClassVar[str] = "IDEMPOTENCY_KEY_REUSED"


class PaymentStateError(FailedPrecondition):
    """The payment's status does not allow the operation; ``metadata`` has ``payment_id`` and
    ``status``."""


class PaymentNotCapturable(PaymentStateError):
    """Only an ``AUTHORIZED`` payment can be captured, and only once."""

    REASON: ClassVar[str] = "PAYMENT_NOT_CAPTURABLE"


class PaymentNotVoidable(PaymentStateError):
    """Only an ``AUTHORIZED`` payment can be voided (a captured one is refunded)."""

    REASON: ClassVar[str] = "PAYMENT_NOT_VOIDABLE"


class PaymentNotRefundable(PaymentStateError):
    """Only a ``CAPTURED`` or ``PARTIALLY_REFUNDED`` payment can be refunded."""

    REASON: ClassVar[str] = "PAYMENT_NOT_REFUNDABLE"


class AmountExceedsAuthorized(FailedPrecondition):
    """The capture is larger than the authorization; ``authorized_amount_minor`` is the limit."""

    REASON: ClassVar[str] = "AMOUNT_EXCEEDS_AUTHORIZED"

    @property
    def authorized_amount_minor(self) -> int | None:
        return _int_or_none(self.metadata.get("authorized_amount_minor"))


class AmountExceedsRefundable(FailedPrecondition):
    """The refund is larger than what is left to refund; ``refundable_amount_minor`` says what is."""

    REASON: ClassVar[str] = "AMOUNT_EXCEEDS_REFUNDABLE"

    @property
    def refundable_amount_minor(self) -> int | None:
        return _int_or_none(self.metadata.get("refundable_amount_minor"))


class PaymentMethodNotAvailable(FailedPrecondition):
    """None of the merchant's gateways takes this payment method (UPI, PayPal wallet…)."""

    REASON: ClassVar[str] = "PAYMENT_METHOD_NOT_AVAILABLE"


class ThreeDSChallengeCompleted(FailedPrecondition):
    """The 3-D Secure challenge was already completed: it is answered once."""

    REASON: ClassVar[str] = "THREE_DS_CHALLENGE_COMPLETED"


class ThreeDSChallengeExpired(FailedPrecondition):
    """The 3-D Secure challenge was not completed in time; its payment has failed."""

    REASON: ClassVar[str] = "THREE_DS_CHALLENGE_EXPIRED"


class WebhookEndpointLimit(FailedPrecondition):
    """The merchant already has as many webhook endpoints as it may (16); delete one first."""

    REASON: ClassVar[str] = "WEBHOOK_ENDPOINT_LIMIT"


class WebhookEndpointDisabled(FailedPrecondition):
    """The delivery's endpoint is disabled (by you, or by paysim after a 410 answer): enable it
    before redelivering. ``metadata['webhook_endpoint_id']`` names it."""

    REASON: ClassVar[str] = "WEBHOOK_ENDPOINT_DISABLED"


class TooManyStreams(ResourceExhausted):
    """The caller already holds as many event streams on that server process as it may, or the
    process as many as it can. ``watch()`` waits and tries again by itself."""

    REASON: ClassVar[str] = "TOO_MANY_STREAMS"


class SubscriberTooSlow(ResourceExhausted):
    """An event stream was ended because its reader fell too far behind the events; resume from
    the last ``seq`` received (``watch()`` does). ``last_seq`` is the server's last hand-off."""

    REASON: ClassVar[str] = "SUBSCRIBER_TOO_SLOW"

    @property
    def last_seq(self) -> int | None:
        return _int_or_none(self.metadata.get("last_seq"))


class IdempotencyKeyInUse(Aborted):
    """The first request with this idempotency key is still being processed.

    The client retries these by itself (same key) until the deadline; you see this only when it
    ran out of time or retries are disabled.
    """

    REASON: ClassVar[str] = "IDEMPOTENCY_KEY_IN_USE"


class PaymentBusy(Aborted):
    """Another capture or void of this payment is in flight; retry after ``retry_delay``."""

    REASON: ClassVar[str] = "PAYMENT_BUSY"


class GatewayUnavailable(Unavailable):
    """No gateway carried out the operation. ``metadata['payment_id']`` names the payment.

    A failed authorization leaves a ``FAILED`` payment; a failed capture, void or refund leaves
    the payment as it was. The idempotency key is released, so a retry with it runs afresh.
    """

    REASON: ClassVar[str] = "GATEWAY_UNAVAILABLE"


class ServerShuttingDown(Unavailable):
    """The server is stopping and ended the event stream; resume from the last ``seq`` received,
    on it once it is back or on another process (``watch()`` does). ``last_seq`` is the
    server's last hand-off."""

    REASON: ClassVar[str] = "SERVER_SHUTTING_DOWN"

    @property
    def last_seq(self) -> int | None:
        return _int_or_none(self.metadata.get("last_seq"))


class CircuitOpen(GatewayUnavailable):
    """Every gateway was skipped because its circuit breaker is open; ``retry_delay`` says when
    the first one lets calls through again."""

    REASON: ClassVar[str] = "CIRCUIT_OPEN"


_BY_CODE: dict[grpc.StatusCode, type[RpcError]] = {
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

_BY_REASON: dict[str, type[RpcError]] = {
    cls.REASON: cls
    for cls in (
        InvalidCredentials,
        MerchantInactive,
        RateLimited,
        LoginLocked,
        IdempotencyKeyReused,
        PaymentNotCapturable,
        PaymentNotVoidable,
        PaymentNotRefundable,
        AmountExceedsAuthorized,
        AmountExceedsRefundable,
        PaymentMethodNotAvailable,
        ThreeDSChallengeCompleted,
        ThreeDSChallengeExpired,
        IdempotencyKeyInUse,
        PaymentBusy,
        GatewayUnavailable,
        CircuitOpen,
        WebhookEndpointLimit,
        WebhookEndpointDisabled,
        TooManyStreams,
        SubscriberTooSlow,
        ServerShuttingDown,
    )
}


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def error_class(code: grpc.StatusCode, reason: str) -> type[RpcError]:
    """The most specific class for a status code and reason."""
    specific = _BY_REASON.get(reason)
    if specific is not None and specific.grpc_code is code:
        return specific
    return _BY_CODE.get(code, Unknown)


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


__all__ = [
    "Aborted",
    "AlreadyExists",
    "AmountExceedsAuthorized",
    "AmountExceedsRefundable",
    "Cancelled",
    "CircuitOpen",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "GatewayUnavailable",
    "IdempotencyKeyInUse",
    "IdempotencyKeyReused",
    "Internal",
    "InvalidArgument",
    "InvalidCredentials",
    "LoginLocked",
    "MerchantInactive",
    "NotFound",
    "OutOfRange",
    "PaymentBusy",
    "PaymentMethodNotAvailable",
    "PaymentNotCapturable",
    "PaymentNotRefundable",
    "PaymentNotVoidable",
    "PaymentStateError",
    "PaysimError",
    "PermissionDenied",
    "PreconditionViolation",
    "QuotaViolation",
    "RateLimited",
    "ResourceExhausted",
    "RpcError",
    "ServerShuttingDown",
    "SubscriberTooSlow",
    "ThreeDSChallengeCompleted",
    "ThreeDSChallengeExpired",
    "TooManyStreams",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "WebhookEndpointDisabled",
    "WebhookEndpointLimit",
    "error_class",
    "from_grpc_error",
]
