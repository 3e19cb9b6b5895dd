"""A payment's events: one class per event type, each carrying its facts typed.

The aggregate (domain/payment.py) is changed only by these; the store keeps them in the form of
domain/event_codec.py, and the wire shows them as contract/events.py renders them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from paysim.domain import threeds
from paysim.domain.disputes import DisputeKind, DisputeReason, DisputeStatus
from paysim.domain.payment_values import Attempt, CaptureMethod, Card, DeclineInfo


class EventType(enum.StrEnum):
    CREATED = "payment.created"
    AUTHORIZED = "payment.authorized"
    DECLINED = "payment.declined"
    FAILED = "payment.failed"
    CAPTURE_REQUESTED = "payment.capture_requested"
    CAPTURED = "payment.captured"
    CAPTURE_FAILED = "payment.capture_failed"
    VOID_REQUESTED = "payment.void_requested"
    VOIDED = "payment.voided"
    VOID_FAILED = "payment.void_failed"
    REFUND_REQUESTED = "refund.requested"
    # The gateway accepted the refund, which settles later (an asynchronous refund).
    REFUND_PENDING = "refund.pending"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    # A gateway attempt that gave no answer (an error, a timeout, an open breaker): the payment
    # moves on to the next gateway, so its status does not change.
    ATTEMPT_FAILED = "payment.attempt_failed"
    # 3-D Secure (domain/threeds.py). Each carries the authentication as it stands.
    THREE_DS_CHALLENGE_REQUIRED = "payment.three_ds_challenge_required"  # → requires_action
    THREE_DS_AUTHENTICATED = "payment.three_ds_authenticated"  # Y or A: on to the gateway
    THREE_DS_NOT_SUPPORTED = "payment.three_ds_not_supported"  # U: on to the gateway without it
    THREE_DS_FAILED = "payment.three_ds_failed"  # N, R or U: failed (a failed lookup: declined)
    THREE_DS_CHALLENGE_EXPIRED = "payment.three_ds_challenge_expired"  # not answered in time: failed
    # Not captured within the authorization's validity (payment_rules.AUTHORIZATION_VALIDITY): the
    # hold is released, the payment voided.
    AUTHORIZATION_EXPIRED = "payment.authorization_expired"
    # The payment's dispute (domain/disputes.py): its events are the payment's.
    DISPUTE_CREATED = "dispute.created"
    DISPUTE_UPDATED = "dispute.updated"  # evidence submitted, or a warning escalated
    DISPUTE_CLOSED = "dispute.closed"  # won, lost or warning_closed
    DISPUTE_FUNDS_WITHDRAWN = "dispute.funds_withdrawn"
    DISPUTE_FUNDS_REINSTATED = "dispute.funds_reinstated"


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCreated:
    type: ClassVar[EventType] = EventType.CREATED
    at: datetime
    merchant_id: str
    customer_id: str
    amount: int
    currency: str
    capture_method: CaptureMethod
    card: Card
    description: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    fee_percent_bps: int
    fee_fixed: int
    # "card", or a method without a card ("upi", "paypal_wallet") and the account it charges.
    method_type: str = "card"
    method_account: str = ""
    # The test clock it lives on; "" for real time.
    test_clock_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentAuthorized:
    type: ClassVar[EventType] = EventType.AUTHORIZED
    at: datetime
    amount: int
    reference: str = ""
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentDeclined:
    type: ClassVar[EventType] = EventType.DECLINED
    at: datetime
    decline: DeclineInfo
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentFailed:
    type: ClassVar[EventType] = EventType.FAILED
    at: datetime
    reason: str
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentAttemptFailed:
    type: ClassVar[EventType] = EventType.ATTEMPT_FAILED
    at: datetime
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCaptureRequested:
    type: ClassVar[EventType] = EventType.CAPTURE_REQUESTED
    at: datetime
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCaptured:
    type: ClassVar[EventType] = EventType.CAPTURED
    at: datetime
    amount: int
    fee: int
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCaptureFailed:
    type: ClassVar[EventType] = EventType.CAPTURE_FAILED
    at: datetime
    reason: str = ""
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentVoidRequested:
    type: ClassVar[EventType] = EventType.VOID_REQUESTED
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentVoided:
    type: ClassVar[EventType] = EventType.VOIDED
    at: datetime
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentVoidFailed:
    type: ClassVar[EventType] = EventType.VOID_FAILED
    at: datetime
    reason: str = ""
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundRequested:
    type: ClassVar[EventType] = EventType.REFUND_REQUESTED
    at: datetime
    refund_id: str
    amount: int
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundSucceeded:
    type: ClassVar[EventType] = EventType.REFUND_SUCCEEDED
    at: datetime
    refund_id: str
    attempt: Attempt | None = None
    # Set for a refund that succeeds now and is reversed (refund.failed) at this time.
    fails_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundPending:
    type: ClassVar[EventType] = EventType.REFUND_PENDING
    at: datetime
    refund_id: str
    settles_at: datetime
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundFailed:
    type: ClassVar[EventType] = EventType.REFUND_FAILED
    at: datetime
    refund_id: str
    reason: str = ""
    attempt: Attempt | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreeDSChallengeRequired:
    type: ClassVar[EventType] = EventType.THREE_DS_CHALLENGE_REQUIRED
    at: datetime
    authentication: threeds.Authentication
    challenge: threeds.Challenge


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreeDSAuthenticated:
    type: ClassVar[EventType] = EventType.THREE_DS_AUTHENTICATED
    at: datetime
    authentication: threeds.Authentication


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreeDSNotSupported:
    type: ClassVar[EventType] = EventType.THREE_DS_NOT_SUPPORTED
    at: datetime
    authentication: threeds.Authentication


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreeDSFailed:
    """A failed lookup declines the payment (``decline``); a failed challenge fails it (``reason``)."""

    type: ClassVar[EventType] = EventType.THREE_DS_FAILED
    at: datetime
    authentication: threeds.Authentication
    reason: str = ""
    decline: DeclineInfo | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreeDSChallengeExpired:
    type: ClassVar[EventType] = EventType.THREE_DS_CHALLENGE_EXPIRED
    at: datetime
    authentication: threeds.Authentication
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentAuthorizationExpired:
    type: ClassVar[EventType] = EventType.AUTHORIZATION_EXPIRED
    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeCreated:
    type: ClassVar[EventType] = EventType.DISPUTE_CREATED
    at: datetime
    dispute_id: str
    kind: DisputeKind
    reason: DisputeReason
    status: DisputeStatus
    amount: int
    evidence_due_by: datetime
    test_clock_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeUpdated:
    """The dispute's status changed without closing: evidence submitted, or a warning escalated to
    a chargeback (then with a new deadline and no evidence)."""

    type: ClassVar[EventType] = EventType.DISPUTE_UPDATED
    at: datetime
    dispute_id: str
    status: DisputeStatus
    evidence: Mapping[str, str] = field(default_factory=dict)
    evidence_due_by: datetime
    review_due_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeClosed:
    type: ClassVar[EventType] = EventType.DISPUTE_CLOSED
    at: datetime
    dispute_id: str
    status: DisputeStatus
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeFundsWithdrawn:
    type: ClassVar[EventType] = EventType.DISPUTE_FUNDS_WITHDRAWN
    at: datetime
    dispute_id: str
    amount: int
    fee: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeFundsReinstated:
    type: ClassVar[EventType] = EventType.DISPUTE_FUNDS_REINSTATED
    at: datetime
    dispute_id: str
    amount: int


DisputeEvent = DisputeCreated | DisputeUpdated | DisputeClosed | DisputeFundsWithdrawn | DisputeFundsReinstated

PaymentEvent = (
    PaymentCreated
    | PaymentAuthorized
    | PaymentDeclined
    | PaymentFailed
    | PaymentAttemptFailed
    | PaymentCaptureRequested
    | PaymentCaptured
    | PaymentCaptureFailed
    | PaymentVoidRequested
    | PaymentVoided
    | PaymentVoidFailed
    | RefundRequested
    | RefundPending
    | RefundSucceeded
    | RefundFailed
    | ThreeDSChallengeRequired
    | ThreeDSAuthenticated
    | ThreeDSNotSupported
    | ThreeDSFailed
    | ThreeDSChallengeExpired
    | PaymentAuthorizationExpired
    | DisputeEvent
)

EVENT_CLASSES: Mapping[EventType, type[PaymentEvent]] = {
    cls.type: cls
    for cls in (
        PaymentCreated,
        PaymentAuthorized,
        PaymentDeclined,
        PaymentFailed,
        PaymentAttemptFailed,
        PaymentCaptureRequested,
        PaymentCaptured,
        PaymentCaptureFailed,
        PaymentVoidRequested,
        PaymentVoided,
        PaymentVoidFailed,
        RefundRequested,
        RefundPending,
        RefundSucceeded,
        RefundFailed,
        ThreeDSChallengeRequired,
        ThreeDSAuthenticated,
        ThreeDSNotSupported,
        ThreeDSFailed,
        ThreeDSChallengeExpired,
        PaymentAuthorizationExpired,
        DisputeCreated,
        DisputeUpdated,
        DisputeClosed,
        DisputeFundsWithdrawn,
        DisputeFundsReinstated,
    )
}
"""Each event type's class: a type missing here fails the unit test that walks EventType."""


def at_time(event: PaymentEvent, at: datetime) -> PaymentEvent:
    """``event`` as it happened at ``at``, its gateway attempt too: what an object on a test clock
    records, whatever the server's clock said when the work was done."""
    attempt: Attempt | None = getattr(event, "attempt", None)
    changes: dict[str, Any] = {"at": at}
    if attempt is not None:
        changes["attempt"] = replace(attempt, at=at)
    return replace(event, **changes)
