"""The analytics read model as a pure fold over stored payment events.

Events arrive as the event store keeps them (type, payment id, merchant id, JSON data, time), not
as the payment aggregate's classes: the read model depends on the stored format only. Folding a
batch gives the changes to make (counter deltas per bucket, per-payment rows); the projector
writes them, and ``paysim verify`` folds every event from nothing and compares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

PAYMENT_COUNTERS = (
    "payments", "volume", "authorized", "authorized_volume", "captured", "captured_volume", "declined",
    "failed", "voided", "refunds", "refunded_volume", "capture_latency_ms",
)  # fmt: skip
LATENCY_BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Upper bounds of the latency histogram's buckets ``lat_0`` … ``lat_9``; ``lat_10`` is above them."""
GATEWAY_COUNTERS = (
    "attempts", "approved", "declined", "errors", "timeouts", "breaker_rejections", "latency_ms",
    *(f"lat_{i}" for i in range(len(LATENCY_BOUNDS_MS) + 1)),
)  # fmt: skip
SIZES = ("m", "h", "d")
SPLIT_SIZES = ("h", "d")
"""The sizes kept for every dimension. Minute buckets are kept for the unsplit series only: seven
dimensions in minutes would be most of the read model's rows and writes, for little use."""
DIMENSIONS = ("currency", "gateway", "method", "brand", "decline_code", "status")
PLATFORM = ""
"""The merchant id under which the platform's totals are kept."""

# The status each event type moves its payment into (events that do not change it are absent).
_STATUS_AFTER = {
    "payment.created": "processing",
    "payment.authorized": "authorized",
    "payment.declined": "declined",
    "payment.failed": "failed",
    "payment.captured": "captured",
    "payment.voided": "voided",
    "payment.three_ds_challenge_required": "requires_action",
    "payment.three_ds_authenticated": "processing",
    "payment.three_ds_challenge_expired": "failed",
}


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    type: str
    payment_id: str
    merchant_id: str
    data: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """What the read model keeps of one payment."""

    id: str
    merchant_id: str
    customer_id: str
    status: str
    amount: int
    currency: str
    method: str
    card_brand: str
    card_last4: str
    gateway: str
    description: str
    search_text: str
    captured_amount: int
    refunded_amount: int
    # Refunds requested and not yet settled, {refund id: amount}: refund.succeeded names only the id.
    refunds: Mapping[str, int]
    authorized_at: datetime | None
    created_at: datetime


PaymentKey = tuple[str, str, str, str, int]  # merchant, size, dimension, value, start (epoch seconds)
GatewayKey = tuple[str, str, str, int]  # merchant, size, gateway, start (epoch seconds)


CellKey = tuple[str, str, str, int]  # merchant, dimension, value, minute start
GatewayCellKey = tuple[str, str, int]  # merchant, gateway, minute start


class Changes:
    """What a batch of events changes: counters to add and payment rows to write.

    Events are counted per merchant and minute first: a batch's events mostly share their minute,
    so spreading the counts over the platform's totals and the hour and day buckets is done once
    per cell when the buckets are read, not once per event.
    """

    def __init__(self) -> None:
        self.rows: dict[str, PaymentRow] = {}
        self._cells: defaultdict[CellKey, dict[str, int]] = defaultdict(dict)
        self._gateway_cells: defaultdict[GatewayCellKey, dict[str, int]] = defaultdict(dict)
        # Gateway latency maxima are kept apart: they combine with max, not with +.
        self._gateway_cell_max: dict[GatewayCellKey, int] = {}

    @property
    def payment_buckets(self) -> dict[PaymentKey, dict[str, int]]:
        """Counters to add per bucket (computed on every read)."""
        buckets: defaultdict[PaymentKey, dict[str, int]] = defaultdict(dict)
        for (merchant, dimension, value, minute), counts in self._cells.items():
            for size in SPLIT_SIZES if dimension else SIZES:  # minutes: the unsplit series only
                start = minute - minute % BUCKET_SECONDS[size]
                for owner in (merchant, PLATFORM):
                    _add(buckets[(owner, size, dimension, value, start)], counts)
        return dict(buckets)

    @property
    def gateway_buckets(self) -> dict[GatewayKey, dict[str, int]]:
        buckets: defaultdict[GatewayKey, dict[str, int]] = defaultdict(dict)
        for (merchant, gateway, minute), counts in self._gateway_cells.items():
            for size in SIZES:
                start = minute - minute % BUCKET_SECONDS[size]
                for owner in (merchant, PLATFORM):
                    _add(buckets[(owner, size, gateway, start)], counts)
        return dict(buckets)

    @property
    def gateway_max_latency(self) -> dict[GatewayKey, int]:
        maxima: dict[GatewayKey, int] = {}
        for (merchant, gateway, minute), latency in self._gateway_cell_max.items():
            for size in SIZES:
                start = minute - minute % BUCKET_SECONDS[size]
                for owner in (merchant, PLATFORM):
                    key = (owner, size, gateway, start)
                    maxima[key] = max(maxima.get(key, 0), latency)
        return maxima

    def count(self, merchant: str, minute: int, dimensions: list[tuple[str, str]], counts: Mapping[str, int]) -> None:
        for dimension, value in dimensions:
            _add(self._cells[(merchant, dimension, value, minute)], counts)

    def count_attempt(
        self, merchant: str, gateway: str, minute: int, counts: Mapping[str, int], latency: int | None
    ) -> None:
        """``latency`` None: the attempt never reached the gateway (no latency to keep)."""
        key = (merchant, gateway, minute)
        _add(self._gateway_cells[key], counts)
        if latency is not None:
            self._gateway_cell_max[key] = max(self._gateway_cell_max.get(key, 0), latency)


BUCKET_SECONDS = {"m": 60, "h": 3600, "d": 86_400}


def bucket_start(at: datetime, size: str) -> int:
    """The start of the bucket holding ``at``, in seconds since the epoch (UTC)."""
    seconds = int(at.timestamp())
    return seconds - seconds % BUCKET_SECONDS[size]


def latency_bucket(latency_ms: int) -> int:
    for i, bound in enumerate(LATENCY_BOUNDS_MS):
        if latency_ms <= bound:
            return i
    return len(LATENCY_BOUNDS_MS)


def search_text(payment_id: str, data: Mapping[str, Any]) -> str:
    card = data.get("card") or {}
    method = data.get("method") or {}
    parts = [
        payment_id,
        str(data.get("customer_id", "")),
        str(data.get("description", "")),
        str(card.get("last4", "")),
        str(method.get("account", "")),
        *(str(v) for v in (data.get("metadata") or {}).values()),
    ]
    return "\n".join(p for p in parts if p).lower()


def _created_row(event: StoredEvent) -> PaymentRow:
    d = event.data
    card = d.get("card") or {}
    return PaymentRow(
        id=event.payment_id,
        merchant_id=event.merchant_id,
        customer_id=str(d.get("customer_id", "")),
        status="processing",
        amount=int(d["amount"]),
        currency=str(d["currency"]),
        method=str((d.get("method") or {}).get("type", "card")),
        card_brand=str(card.get("brand", "")),
        card_last4=str(card.get("last4", "")),
        gateway="",
        description=str(d.get("description", ""))[:500],
        search_text=search_text(event.payment_id, d),
        captured_amount=0,
        refunded_amount=0,
        refunds={},
        authorized_at=None,
        created_at=event.at,
    )


def _counts(event: StoredEvent, row: PaymentRow) -> tuple[dict[str, int], PaymentRow, str]:
    """The counters an event adds, the payment row after it, and its decline code if any."""
    t, d = event.type, event.data
    if t == "payment.created":
        return {"payments": 1, "volume": row.amount}, row, ""
    if t == "payment.authorized":
        return {"authorized": 1, "authorized_volume": int(d["amount"])}, replace(row, authorized_at=event.at), ""
    if t == "payment.declined" or (t == "payment.three_ds_failed" and d.get("decline")):
        return {"declined": 1}, replace(row, status="declined"), str(d["decline"]["code"])
    if t in ("payment.failed", "payment.three_ds_challenge_expired", "payment.three_ds_failed"):
        return {"failed": 1}, replace(row, status="failed"), ""
    if t == "payment.captured":
        amount = int(d["amount"])
        waited = event.at - row.authorized_at if row.authorized_at is not None else None
        latency = max(0, int(waited.total_seconds() * 1000)) if waited is not None else 0
        counts = {"captured": 1, "captured_volume": amount, "capture_latency_ms": latency}
        return counts, replace(row, captured_amount=amount), ""
    if t == "payment.voided":
        return {"voided": 1}, row, ""
    if t == "refund.requested":
        return {}, replace(row, refunds={**row.refunds, str(d["refund_id"]): int(d["amount"])}), ""
    if t in ("refund.pending", "refund.succeeded", "refund.failed"):
        return _refund_counts(t, d, row)
    return {}, row, ""


def _refund_counts(t: str, d: Mapping[str, Any], row: PaymentRow) -> tuple[dict[str, int], PaymentRow, str]:
    """An asynchronous refund counts when the gateway accepts it, as the payment counts it; it is
    kept in ``refunds`` as a negative amount until it settles, so a reversal can take it back."""
    refunds = dict(row.refunds)
    refund_id = str(d["refund_id"])
    amount = refunds.pop(refund_id, 0)
    if amount < 0:  # counted already: it settles (nothing changes) or is reversed
        if t != "refund.failed":
            return {}, replace(row, refunds=refunds), ""
        row = replace(row, refunds=refunds, refunded_amount=row.refunded_amount + amount)
        return {"refunds": -1, "refunded_volume": amount}, row, ""
    if t == "refund.failed":
        return {}, replace(row, refunds=refunds), ""
    if t == "refund.pending" or d.get("fails_at"):
        refunds[refund_id] = -amount
    row = replace(row, refunds=refunds, refunded_amount=row.refunded_amount + amount)
    return {"refunds": 1, "refunded_volume": amount}, row, ""


def _dimension_values(row: PaymentRow, status: str, decline_code: str) -> list[tuple[str, str]]:
    found = [("", ""), ("currency", row.currency), ("method", row.method), ("brand", row.card_brand)]
    if row.gateway:
        found.append(("gateway", row.gateway))
    if status:
        found.append(("status", status))
    if decline_code:
        found.append(("decline_code", decline_code))
    return found


def _add(target: dict[str, int], counts: Mapping[str, int]) -> None:
    for name, value in counts.items():
        target[name] = target.get(name, 0) + value


def _count_attempt(changes: Changes, event: StoredEvent, attempt: Mapping[str, Any]) -> None:
    outcome, detail = str(attempt.get("outcome", "")), str(attempt.get("detail", ""))
    latency = int(attempt.get("latency_ms", 0))
    counts = {"attempts": 1}
    if outcome == "skipped":
        counts["breaker_rejections"] = 1
    else:
        counts["latency_ms"] = latency
        counts[f"lat_{latency_bucket(latency)}"] = 1
        if outcome in ("approved", "declined"):
            counts[outcome] = 1
        else:
            counts["errors"] = 1
            if detail.startswith("timeout"):
                counts["timeouts"] = 1
    gateway = str(attempt.get("gateway", ""))
    minute = bucket_start(event.at, "m")
    changes.count_attempt(event.merchant_id, gateway, minute, counts, None if outcome == "skipped" else latency)


def fold(changes: Changes, event: StoredEvent, row: PaymentRow | None) -> None:
    """Add one event to ``changes``. ``row`` is the payment's row before it (None before
    payment.created, or for an event whose payment the read model does not know: ignored)."""
    row = changes.rows.get(event.payment_id, row)
    if event.type == "payment.created":
        row = _created_row(event)
    if row is None:
        return
    attempt = event.data.get("attempt")
    counts, row, decline_code = _counts(event, row)
    status = _STATUS_AFTER.get(event.type, "")
    if event.type == "payment.three_ds_failed":
        status = row.status
    elif event.type.startswith("refund.") and counts:
        status = "refunded" if row.refunded_amount >= row.captured_amount else "partially_refunded"
        status = status if row.refunded_amount else "captured"
    gateway = row.gateway
    if attempt and event.type in ("payment.authorized", "payment.declined"):
        gateway = str(attempt.get("gateway", ""))
    if (status and status != row.status) or gateway != row.gateway:  # one copy for both
        row = replace(row, status=status or row.status, gateway=gateway)
    changes.rows[row.id] = row
    if attempt:
        _count_attempt(changes, event, attempt)
    if not counts and not status:
        return
    changes.count(event.merchant_id, bucket_start(event.at, "m"), _dimension_values(row, status, decline_code), counts)


def fold_all(events: Iterable[StoredEvent], rows: Mapping[str, PaymentRow] | None = None) -> Changes:
    changes = Changes()
    known = rows or {}
    for event in events:
        fold(changes, event, known.get(event.payment_id))
    return changes
