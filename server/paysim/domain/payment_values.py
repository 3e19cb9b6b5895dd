"""The values a payment is made of: its status, the card kept of it, a decline, a gateway attempt.

They sit below both the aggregate (domain/payment.py) and its events (domain/payment_events.py),
which each carry them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Status(enum.StrEnum):
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    DECLINED = "declined"
    FAILED = "failed"


class CaptureMethod(enum.StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Card:
    """What is kept of a card: never the number or the CVC."""

    brand: str
    bin: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    holder_name: str
    # Where the card was issued (ISO 3166-1 alpha-2, empty when unknown) and how it is funded
    # (credit, debit, prepaid, unknown); payments from before these were kept read as unknown.
    country: str = ""
    funding: str = "unknown"
    # Fraud screening at creation (domain/radar.py): the payment's risk level and the issuer's
    # checks of the CVC and the billing address; empty for payments from before them (and without a card).
    risk_level: str = ""
    cvc_check: str = ""
    address_line1_check: str = ""
    address_postal_code_check: str = ""


NO_CARD = Card("", "", "", 0, 0, "", "", funding="")
"""The card of a payment paid another way (UPI, a PayPal wallet)."""


@dataclass(frozen=True, slots=True)
class DeclineInfo:
    code: str
    error_code: str
    message: str
    retryable: bool
    blocked_by: str = ""  # the fraud rule that blocked the payment before any gateway (domain/radar.py)


@dataclass(frozen=True, slots=True)
class Attempt:
    gateway: str
    operation: str
    outcome: str
    reference: str
    latency_ms: int
    at: datetime
    detail: str = ""
    chaos: bool = False  # the outcome was a chaos profile's draw
    simulated_by: str = ""  # what the simulator did to the call (chaos, outage, script), if anything


@dataclass(frozen=True, slots=True)
class RefundState:
    id: str
    amount: int
    status: str  # pending | succeeded | failed
    reason: str
    created_at: datetime
    failure_reason: str = ""
    # An asynchronous refund (domain/refund_settlement.py): when it settles, and how ("succeed":
    # pending until then; "fail": succeeded until then, reversed then). Its amount counts as
    # refunded while it waits.
    settles_at: datetime | None = None
    settlement: str = ""
