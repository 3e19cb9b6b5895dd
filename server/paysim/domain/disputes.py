"""A payment's dispute: its values, how its events change it, and the rules that decide them.

A dispute belongs to its payment (Stripe's charge has at most one): its events are the payment's
events (domain/payment_events.py), and its state is part of the payment's state, so replaying a
payment's events rebuilds its dispute too. The ``disputes`` table is a projection of it for lists
and for the deadline sweep.

Times, all on the clock the payment lives on:

- a dispute opens in the transaction that captures its payment (the dispute test cards);
- ``EVIDENCE_WINDOW`` after it opened, evidence is due: a chargeback nobody answered is lost, a
  warning (inquiry, early fraud warning) nobody answered closes;
- ``REVIEW_PERIOD`` after evidence is submitted, the review decides: ``winning_evidence`` in
  ``uncategorized_text`` wins, anything else loses (a warning closes, or with ``losing_evidence``
  escalates to a chargeback).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from paysim.domain.currency import exponent

EVIDENCE_WINDOW = timedelta(days=7)
REVIEW_PERIOD = timedelta(minutes=5)
WINNING_EVIDENCE = "winning_evidence"
LOSING_EVIDENCE = "losing_evidence"

# The fee a chargeback costs, by currency, in minor units (Stripe: 15.00 USD). Any other currency
# pays 15 of its major units.
_FEES = {"USD": 1500, "CAD": 1500, "EUR": 2000, "GBP": 2000, "AUD": 2500, "JPY": 2000}
_DEFAULT_FEE_MAJOR = 15

# Stripe's evidence object, its text fields: what SubmitDisputeEvidence accepts.
EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
MAX_EVIDENCE_FIELD_CHARS = 20_000
MAX_EVIDENCE_TOTAL_CHARS = 150_000  # Stripe's limit on all text fields together


class DisputeKind(enum.StrEnum):
    CHARGEBACK = "chargeback"  # the money is withdrawn when it opens
    INQUIRY = "inquiry"  # a question from the issuer first: no money moves unless it escalates
    EARLY_FRAUD_WARNING = "early_fraud_warning"  # the issuer's fraud report: no money moves


class DisputeStatus(enum.StrEnum):
    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


CLOSED = frozenset({DisputeStatus.WARNING_CLOSED, DisputeStatus.WON, DisputeStatus.LOST})
_AWAITING_EVIDENCE = frozenset({DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE})
_UNDER_REVIEW = frozenset({DisputeStatus.UNDER_REVIEW, DisputeStatus.WARNING_UNDER_REVIEW})
# While the money is (or stays) with the cardholder the payment cannot be refunded: Stripe's
# ``is_charge_refundable`` is false for a chargeback.
_REFUND_REFUSED = frozenset({DisputeStatus.NEEDS_RESPONSE, DisputeStatus.UNDER_REVIEW, DisputeStatus.LOST})


class DisputeReason(enum.StrEnum):
    FRAUDULENT = "fraudulent"
    PRODUCT_NOT_RECEIVED = "product_not_received"
    GENERAL = "general"


class CloseReason(enum.StrEnum):
    ACCEPTED = "accepted"  # the merchant accepted it (AcceptDispute)
    EVIDENCE_DEADLINE_PASSED = "evidence_deadline_passed"
    EVIDENCE_WON = "evidence_won"
    EVIDENCE_LOST = "evidence_lost"
    REVIEWED = "reviewed"  # a warning's evidence said neither: it closes without escalating


@dataclass(frozen=True, slots=True)
class Opening:
    """What a dispute test card opens."""

    kind: DisputeKind
    reason: DisputeReason


@dataclass(frozen=True, slots=True)
class DisputeState:
    id: str
    kind: DisputeKind
    reason: DisputeReason
    status: DisputeStatus
    amount: int
    evidence_due_by: datetime
    created_at: datetime
    updated_at: datetime
    evidence: Mapping[str, str] = field(default_factory=dict)
    evidence_submitted_at: datetime | None = None
    review_due_at: datetime | None = None
    withdrawn: int = 0  # of the disputed amount
    fee: int = 0  # the dispute fee withdrawn (never reinstated)
    reinstated: int = 0
    close_reason: str = ""
    test_clock_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED

    @property
    def is_warning(self) -> bool:
        return self.status in (
            DisputeStatus.WARNING_NEEDS_RESPONSE,
            DisputeStatus.WARNING_UNDER_REVIEW,
            DisputeStatus.WARNING_CLOSED,
        )

    @property
    def charge_refundable(self) -> bool:
        return self.status not in _REFUND_REFUSED

    @property
    def awaiting_evidence(self) -> bool:
        return self.status in _AWAITING_EVIDENCE

    @property
    def under_review(self) -> bool:
        return self.status in _UNDER_REVIEW

    @property
    def net_withdrawn(self) -> int:
        """What the dispute takes from the payment's net now: amount and fee, less what came back."""
        return self.withdrawn + self.fee - self.reinstated

    @property
    def due_at(self) -> datetime | None:
        """When its next transition falls due: the evidence deadline, the review's end, or never."""
        if self.awaiting_evidence:
            return self.evidence_due_by
        if self.under_review:
            return self.review_due_at
        return None


def fee_for(currency: str) -> int:
    """The dispute fee in minor units of ``currency``."""
    known = _FEES.get(currency)
    return known if known is not None else _DEFAULT_FEE_MAJOR * 10 ** int(exponent(currency))


def outcome_of(evidence: Mapping[str, str]) -> str:
    """Stripe's test convention: the review's result, from the words in ``uncategorized_text``."""
    text = evidence.get("uncategorized_text", "")
    if WINNING_EVIDENCE in text:
        return WINNING_EVIDENCE
    if LOSING_EVIDENCE in text:
        return LOSING_EVIDENCE
    return ""


# --- serialisation (inside the payment's state) --------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def to_dict(d: DisputeState) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind.value,
        "reason": d.reason.value,
        "status": d.status.value,
        "amount": d.amount,
        "evidence_due_by": d.evidence_due_by.isoformat(),
        "created_at": d.created_at.isoformat(),
        "updated_at": d.updated_at.isoformat(),
        "evidence": dict(d.evidence),
        "evidence_submitted_at": _time(d.evidence_submitted_at),
        "review_due_at": _time(d.review_due_at),
        "withdrawn": d.withdrawn,
        "fee": d.fee,
        "reinstated": d.reinstated,
        "close_reason": d.close_reason,
        "test_clock_id": d.test_clock_id,
    }


def from_dict(d: Mapping[str, Any]) -> DisputeState:
    return DisputeState(
        id=d["id"],
        kind=DisputeKind(d["kind"]),
        reason=DisputeReason(d["reason"]),
        status=DisputeStatus(d["status"]),
        amount=int(d["amount"]),
        evidence_due_by=datetime.fromisoformat(d["evidence_due_by"]),
        created_at=datetime.fromisoformat(d["created_at"]),
        updated_at=datetime.fromisoformat(d["updated_at"]),
        evidence=dict(d.get("evidence", {})),
        evidence_submitted_at=_parse(d.get("evidence_submitted_at")),
        review_due_at=_parse(d.get("review_due_at")),
        withdrawn=int(d.get("withdrawn", 0)),
        fee=int(d.get("fee", 0)),
        reinstated=int(d.get("reinstated", 0)),
        close_reason=d.get("close_reason", ""),
        test_clock_id=d.get("test_clock_id"),
    )


def touched(d: DisputeState, at: datetime, **changes: Any) -> DisputeState:
    return replace(d, updated_at=at, **changes)
