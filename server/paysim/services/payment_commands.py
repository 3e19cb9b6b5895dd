"""What the payment use cases take and give: the commands, the result, their limits, and the
form a result is stored in for an idempotent replay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paysim.domain import cards
from paysim.domain.overrides import Override
from paysim.domain.payment import PaymentState, RefundState, from_dict, to_dict
from paysim.domain.payment_methods import MethodType
from paysim.domain.payment_values import CaptureMethod
from paysim.domain.validation import Violations

MAX_AMOUNT = 10**12
MAX_DESCRIPTION_CHARS = 1000
MAX_REFUND_REASON_CHARS = 500
PAYMENT = "pay"
REFUND = "re"


@dataclass(frozen=True, slots=True)
class CardInput:
    number: str
    exp_month: int
    exp_year: int
    cvc: str
    holder_name: str
    # The billing address, optional: only whether the issuer's checks pass is kept (domain/radar.py).
    address_line1: str = ""
    address_postal_code: str = ""

    def __repr__(self) -> str:  # never let a PAN or CVC reach a log line or a traceback
        return f"CardInput(number={cards.mask(self.number)!r}, exp={self.exp_month}/{self.exp_year})"


@dataclass(frozen=True, slots=True)
class CreatePayment:
    merchant_id: str
    amount: int
    currency: str
    card: CardInput
    customer_id: str
    description: str
    metadata: dict[str, str]
    capture_method: CaptureMethod
    override: Override | None = None
    # Without a card: the method and its account (a UPI address, a PayPal payer's email).
    method_type: MethodType = MethodType.CARD
    method_account: str = ""
    # The test clock to live on; "" for the customer's (if any), else real time.
    test_clock_id: str = ""


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment: PaymentState
    refund_id: str = ""
    replayed: bool = False

    @property
    def refund(self) -> RefundState | None:
        return self.payment.refund(self.refund_id) if self.refund_id else None


def result_payload(result: PaymentResult) -> dict[str, Any]:
    """The stored form of a result, replayed for a repeated idempotency key."""
    return {"payment": to_dict(result.payment), "refund_id": result.refund_id}


def replayed_result(stored: dict[str, Any]) -> PaymentResult:
    return PaymentResult(from_dict(stored["payment"]), stored.get("refund_id", ""), replayed=True)


def check_amount(field: str, amount: int) -> None:
    """An operation's amount: 0 means everything (the whole authorization, all that is refundable)."""
    if not 0 <= amount <= MAX_AMOUNT:
        v = Violations()
        v.add(field, f"must be between 0 (everything) and {MAX_AMOUNT} minor units", "AMOUNT_OUT_OF_RANGE")
        v.raise_if_any()
