"""The analytics fold: counting event histories batch by batch, with the payment rows going
through their stored form between batches as the projector does, gives exactly what one brute-force
pass over all the events gives; and the totals are the histories' own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from paysim.domain import analytics as model
from paysim.domain import analytics_figures as figures
from paysim.store.analytics_writer import payment_row, row_values

START = datetime(2026, 3, 1, 23, 50, tzinfo=UTC)
MERCHANTS = ("mer_a", "mer_b")


def _attempt(gateway: str, outcome: str, latency: int, detail: str = "") -> dict[str, Any]:
    return {"gateway": gateway, "operation": "authorize", "outcome": outcome, "latency_ms": latency, "detail": detail}


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, str, dict[str, Any], int]]:
    """One payment's events as (type, merchant, data, minutes after the payment's start)."""
    merchant = draw(st.sampled_from(MERCHANTS))
    amount = draw(st.integers(1, 100_000))
    gateway = draw(st.sampled_from(("simulator", "stripe_like")))
    created = {
        "amount": amount,
        "currency": draw(st.sampled_from(("USD", "EUR"))),
        "customer_id": draw(st.sampled_from(("", "cus_1", "cus_2"))),
        "card": {"brand": draw(st.sampled_from(("visa", "amex"))), "last4": "4242"},
        "description": "thing",
        "metadata": {"k": "v"},
    }
    events: list[tuple[str, str, dict[str, Any], int]] = [("payment.created", merchant, created, 0)]
    minute = 0

    def later() -> int:
        nonlocal minute
        minute += draw(st.integers(0, 90))
        return minute

    for _ in range(draw(st.integers(0, 2))):
        failed = _attempt("stripe_like", draw(st.sampled_from(("error", "skipped"))), draw(st.integers(0, 20_000)))
        events.append(("payment.attempt_failed", merchant, {"attempt": failed}, later()))
    ending = draw(st.sampled_from(("declined", "failed", "voided", "captured", "three_ds")))
    latency = draw(st.integers(0, 12_000))
    if ending == "declined":
        data = {"decline": {"code": draw(st.sampled_from(("do_not_honor", "insufficient_funds")))}}
        events.append(
            ("payment.declined", merchant, {**data, "attempt": _attempt(gateway, "declined", latency)}, later())
        )
    elif ending == "failed":
        timeout = _attempt(gateway, "error", latency, "timeout: no answer")
        events.append(("payment.failed", merchant, {"reason": "x", "attempt": timeout}, later()))
    elif ending == "three_ds":
        events.append(("payment.three_ds_challenge_required", merchant, {}, later()))
        events.append(("payment.three_ds_challenge_expired", merchant, {"reason": "expired"}, later()))
    else:
        approved = {"amount": amount, "attempt": _attempt(gateway, "approved", latency)}
        events.append(("payment.authorized", merchant, approved, later()))
        if ending == "voided":
            events.append(("payment.voided", merchant, {}, later()))
        else:
            events.append(("payment.captured", merchant, {"amount": amount, "fee": 0}, later()))
            for number, part in enumerate(draw(st.lists(st.integers(1, 3), max_size=3))):
                refund = {"refund_id": f"re_{number}", "amount": amount * part // 10}
                events.append(("refund.requested", merchant, refund, later()))
                outcome = draw(st.sampled_from(("refund.succeeded", "refund.failed")))
                events.append((outcome, merchant, {"refund_id": f"re_{number}"}, later()))
    return events


def _interleave(
    payments: list[list[tuple[str, str, dict[str, Any], int]]], offsets: list[int]
) -> list[model.StoredEvent]:
    timed = []
    for number, (history, offset) in enumerate(zip(payments, offsets, strict=False)):
        for kind, merchant, data, minute in history:
            at = START + timedelta(minutes=offset + minute, seconds=number % 60)
            timed.append((at, number, kind, merchant, data))
    timed.sort(key=lambda t: (t[0], t[1]))
    return [
        model.StoredEvent(seq, kind, f"pay_{n}", merchant, data, at)
        for seq, (at, n, kind, merchant, data) in enumerate(timed, 1)
    ]


def _stored(row: model.PaymentRow) -> model.PaymentRow:
    return payment_row(SimpleNamespace(**row_values(row)))


def _add_into(total: dict[Any, dict[str, int]], more: dict[Any, dict[str, int]]) -> None:
    for key, counts in more.items():
        target = total.setdefault(key, {})
        for name, value in counts.items():
            target[name] = target.get(name, 0) + value


@settings(max_examples=60, deadline=None)
@given(
    payments=st.lists(histories(), min_size=1, max_size=12),
    offsets=st.lists(st.integers(0, 3000), min_size=12, max_size=12),
    cuts=st.lists(st.integers(1, 10), max_size=8),
)
def test_batches_equal_one_pass(
    payments: list[list[tuple[str, str, dict[str, Any], int]]], offsets: list[int], cuts: list[int]
) -> None:
    events = _interleave(payments, offsets)
    whole = model.fold_all(events)
    rows: dict[str, model.PaymentRow] = {}
    buckets: dict[Any, dict[str, int]] = {}
    gateways: dict[Any, dict[str, int]] = {}
    maxima: dict[Any, int] = {}
    position = 0
    for size in [*cuts, len(events)]:
        batch = events[position : position + size]
        position += len(batch)
        changes = model.fold_all(batch, {k: _stored(v) for k, v in rows.items()})
        rows.update(changes.rows)
        _add_into(buckets, changes.payment_buckets)
        _add_into(gateways, changes.gateway_buckets)
        for key, value in changes.gateway_max_latency.items():
            maxima[key] = max(maxima.get(key, 0), value)
    assert buckets == whole.payment_buckets
    assert gateways == whole.gateway_buckets
    assert maxima == whole.gateway_max_latency
    assert {k: row_values(v) for k, v in rows.items()} == {k: row_values(v) for k, v in whole.rows.items()}


@settings(max_examples=60, deadline=None)
@given(
    payments=st.lists(histories(), min_size=1, max_size=12),
    offsets=st.lists(st.integers(0, 3000), min_size=12, max_size=12),
)
def test_totals_are_the_histories_own(
    payments: list[list[tuple[str, str, dict[str, Any], int]]], offsets: list[int]
) -> None:
    events = _interleave(payments, offsets)
    changes = model.fold_all(events)
    for size in model.SIZES:
        platform = [
            c for (m, s, d, _, _), c in changes.payment_buckets.items() if m == model.PLATFORM and s == size and d == ""
        ]
        per_merchant = [
            c for (m, s, d, _, _), c in changes.payment_buckets.items() if m != model.PLATFORM and s == size and d == ""
        ]
        for name in ("payments", "captured_volume", "refunded_volume", "declined"):
            assert sum(c.get(name, 0) for c in platform) == sum(c.get(name, 0) for c in per_merchant)
        assert sum(c.get("payments", 0) for c in platform) == len(payments)
        captured = sum(int(d["amount"]) for e in events if e.type == "payment.captured" for d in [e.data])
        assert sum(c.get("captured_volume", 0) for c in platform) == captured
    for row in changes.rows.values():
        assert row.refunded_amount <= row.captured_amount or row.captured_amount == 0


def test_percentiles_read_the_histogram() -> None:
    histogram = [0] * 11
    histogram[2] = 50  # <= 50 ms
    histogram[5] = 49  # <= 500 ms
    histogram[10] = 1  # above 10 s
    assert figures.percentile(histogram, 0.5, 12_000) == 50
    assert figures.percentile(histogram, 0.95, 12_000) == 500
    assert figures.percentile(histogram, 0.999, 12_000) == 12_000
    assert figures.percentile([0] * 11, 0.5, 0) == 0
    assert figures.rates({"authorized": 3, "declined": 1}) == (0.75, 0.25)


def test_each_event_lands_in_its_minute_hour_and_day_for_the_merchant_and_the_platform() -> None:
    created_at = datetime(2026, 3, 1, 23, 59, 30, tzinfo=UTC)
    captured_at = datetime(2026, 3, 2, 0, 0, 10, tzinfo=UTC)  # the next minute, hour and day
    created = {"amount": 500, "currency": "EUR", "card": {"brand": "visa", "last4": "4242"}}
    approved = {"amount": 500, "attempt": _attempt("simulator", "approved", 30)}
    events = [
        model.StoredEvent(1, "payment.created", "pay_1", "mer_a", created, created_at),
        model.StoredEvent(2, "payment.authorized", "pay_1", "mer_a", approved, created_at),
        model.StoredEvent(3, "payment.captured", "pay_1", "mer_a", {"amount": 500, "fee": 0}, captured_at),
    ]
    changes = model.fold_all(events)
    day1, day2 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()), int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())
    hour1, minute1 = day1 + 23 * 3600, day1 + 23 * 3600 + 59 * 60
    buckets = changes.payment_buckets
    for owner in ("mer_a", model.PLATFORM):
        assert buckets[(owner, "m", "", "", minute1)] == {
            "payments": 1,
            "volume": 500,
            "authorized": 1,
            "authorized_volume": 500,
        }
        assert buckets[(owner, "h", "", "", hour1)]["payments"] == 1
        assert buckets[(owner, "d", "currency", "EUR", day1)]["authorized_volume"] == 500
        assert buckets[(owner, "d", "gateway", "simulator", day2)]["captured"] == 1
        assert buckets[(owner, "h", "status", "captured", day2)] == {
            "captured": 1, "captured_volume": 500, "capture_latency_ms": 40_000,
        }  # fmt: skip
    # Minute buckets are kept for the unsplit series only.
    assert not [key for key in buckets if key[1] == "m" and key[2]]
    assert {key[0] for key in buckets} == {"mer_a", model.PLATFORM}
    gateways = changes.gateway_buckets
    assert set(gateways) == {
        (owner, size, "simulator", start)
        for owner in ("mer_a", model.PLATFORM)
        for size, start in (("m", minute1), ("h", hour1), ("d", day1))
    }
    assert all(counts["attempts"] == 1 and counts["lat_2"] == 1 for counts in gateways.values())
    assert set(changes.gateway_max_latency.values()) == {30}
    assert changes.rows["pay_1"].status == "captured" and changes.rows["pay_1"].gateway == "simulator"
