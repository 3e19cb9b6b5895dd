"""Idempotency keys (Stripe's semantics) for the payment use cases.

The claim is made inside the use case's first transaction, so a request that fails before
that commit leaves no trace and its retry runs afresh. Results are stored in domain terms (the
payment state as JSON, or a deterministic error), so a replay renders byte-for-byte the same
response as the first time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from paysim.domain.errors import (
    Aborted,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from paysim.observability import metrics
from paysim.store.repositories.idempotency import COMPLETED, StoredKey

KEY_HEADER = "idempotency-key"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
OK_CODE = 0
FAILED_PRECONDITION_CODE = 9


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A request's key and the keyed fingerprint of its method and parameters."""

    key: str
    method: str
    fingerprint: str


def check_key(value: str) -> str:
    if not _KEY_RE.match(value):
        raise InvalidArgument(
            [FieldViolation(KEY_HEADER, "must be 1 to 255 printable ASCII characters", "INVALID_IDEMPOTENCY_KEY")]
        )
    return value


def encode_result(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def encode_error(error: FailedPrecondition) -> bytes:
    violations = [[v.type, v.subject, v.description] for v in error.violations]
    return encode_result(
        {"message": error.message, "reason": error.reason, "metadata": error.metadata, "violations": violations}
    )


def refuse_or_replay(existing: StoredKey, idem: IdempotencyKey) -> dict[str, Any]:
    """For a key that was already claimed: the stored result to replay, or the refusal."""
    if existing.method != idem.method or existing.fingerprint != idem.fingerprint:
        raise FailedPrecondition(
            "this idempotency key was used with different parameters",
            reason="IDEMPOTENCY_KEY_REUSED",
            metadata={"idempotency_key": idem.key},
        )
    if existing.state != COMPLETED or existing.response_blob is None:
        raise Aborted(
            "a request with this idempotency key is still in progress; retry shortly",
            reason="IDEMPOTENCY_KEY_IN_USE",
            retry_after_seconds=0.05,
            metadata={"idempotency_key": idem.key},
        )
    stored: dict[str, Any] = json.loads(existing.response_blob)
    metrics.idempotency_replay()
    if existing.response_code != OK_CODE:
        error: DomainError = FailedPrecondition(
            stored["message"],
            reason=stored["reason"],
            metadata=stored.get("metadata") or {},
            violations=[PreconditionViolation(*v) for v in stored.get("violations") or ()],
        )
        error.replayed = True
        raise error
    return stored
