"""Domain errors. One interceptor turns each into a gRPC status (see app/error_mapping.py).

Every error names a machine-readable ``reason`` (UPPER_SNAKE) that clients can switch on;
the human ``message`` may change between versions, the reason may not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# An answer lists at most this many field violations: a request with thousands of bad values
# must not make an error whose message and details outgrow what a client accepts in metadata.
MAX_REPORTED_VIOLATIONS = 20


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field of a request: ``field`` is a path such as ``owner_email`` or ``metadata.key``."""

    field: str
    description: str
    reason: str = "INVALID_FIELD"


@dataclass(frozen=True, slots=True)
class PreconditionViolation:
    """One failed precondition, as ``google.rpc.PreconditionFailure.Violation``."""

    type: str
    subject: str
    description: str


class DomainError(Exception):
    """Base of every deliberate error. Subclasses fix the gRPC code."""

    code_name = "INTERNAL"
    default_reason = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})
        # Set when the error is the stored outcome of an earlier request with the same
        # idempotency key, replayed rather than produced afresh.
        self.replayed = False


class InvalidArgument(DomainError):
    code_name = "INVALID_ARGUMENT"
    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        violations: Sequence[FieldViolation],
        *,
        message: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.violations = list(violations)
        shown = self.violations[:MAX_REPORTED_VIOLATIONS]
        text = message or "; ".join(f"{v.field}: {v.description}" for v in shown)
        if not message and len(self.violations) > len(shown):
            text += f"; and {len(self.violations) - len(shown)} more"
        super().__init__(text or "invalid request", reason=reason)


class FailedPrecondition(DomainError):
    code_name = "FAILED_PRECONDITION"
    default_reason = "FAILED_PRECONDITION"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[PreconditionViolation] = (),
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = list(violations)


class Aborted(DomainError):
    code_name = "ABORTED"
    default_reason = "ABORTED"

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float = 1.0,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds


class AlreadyExists(DomainError):
    code_name = "ALREADY_EXISTS"
    default_reason = "ALREADY_EXISTS"


class Unauthenticated(DomainError):
    code_name = "UNAUTHENTICATED"
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    code_name = "PERMISSION_DENIED"
    default_reason = "PERMISSION_DENIED"


class NotFound(DomainError):
    """Also what another tenant's object looks like: its existence is never revealed."""

    code_name = "NOT_FOUND"
    default_reason = "NOT_FOUND"

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"{kind} {object_id!r} not found", reason=f"{kind.upper()}_NOT_FOUND")
        self.metadata = {"resource_type": kind, "resource_id": object_id}


class ResourceExhausted(DomainError):
    code_name = "RESOURCE_EXHAUSTED"
    default_reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float,
        reason: str | None = None,
        quota_subject: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds
        self.quota_subject = quota_subject


class Unavailable(DomainError):
    code_name = "UNAVAILABLE"
    default_reason = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float = 1.0,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds
