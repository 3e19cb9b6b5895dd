"""What the payment servicer reads from its requests beyond the contract's conversions: list
filters and the rows its page tokens are made from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from paysim_proto.v1 import payment_pb2

from paysim.contract.payment_messages import STATUS_FROM_PROTO
from paysim.domain.validation import Violations
from paysim.store.repositories.payments import PaymentFilter


@dataclass(frozen=True, slots=True)
class PageRow:
    id: str
    created_at: datetime


def payment_filter(v: Violations, r: payment_pb2.ListPaymentsRequest) -> PaymentFilter:
    statuses: list[str] = []
    for value in r.statuses:
        if value not in STATUS_FROM_PROTO:
            v.add("statuses", f"unknown status {value}", "INVALID_STATUS")
        else:
            statuses.append(STATUS_FROM_PROTO[value].value)
    if r.card_last4 and not (len(r.card_last4) == 4 and r.card_last4.isdigit()):
        v.add("card_last4", "must be four digits", "INVALID_LAST4")
    min_amount = r.min_amount_minor if r.HasField("min_amount_minor") else None
    max_amount = r.max_amount_minor if r.HasField("max_amount_minor") else None
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        v.add("min_amount_minor", "must not exceed max_amount_minor", "INVALID_RANGE")
    after = r.created_after.ToDatetime(tzinfo=UTC) if r.HasField("created_after") else None
    before = r.created_before.ToDatetime(tzinfo=UTC) if r.HasField("created_before") else None
    return PaymentFilter(
        customer_id=r.customer_id or None,
        statuses=tuple(sorted(set(statuses))),
        min_amount=min_amount,
        max_amount=max_amount,
        created_after=after,
        created_before=before,
        card_last4=r.card_last4 or None,
    )
