"""``paysim bench-analytics``: a 30-day hourly metrics query over the buckets of many payments.

It needs no running server. It creates a scratch database (a temporary SQLite file, or the empty
PostgreSQL database of ``--database-url``), fills the analytics read model directly with what
``--payments`` synthetic payments spread over ``--days`` days and ``--merchants`` merchants give
(their read-model rows and their minute, hour and day buckets, as the projector would write them,
without going through the payment path), starts a server on it, and times GetPaymentMetrics for
the last 30 days in hourly buckets, for one merchant and for the whole platform, through the RPC.
Each answer is checked against the totals of the synthetic payments: a wrong figure fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from paysim_proto.v1 import analytics_pb2

from paysim.app import gc_tuning
from paysim.domain import analytics as model

if TYPE_CHECKING:  # a type only: the engine is built inside the command, not at `paysim --help`
    from sqlalchemy.ext.asyncio import AsyncEngine

TARGET_MS = 50.0
_CURRENCIES = ("USD", "EUR", "GBP")
_GATEWAYS = ("simulator", "stripe_like", "razorpay_like")
_BRANDS = ("visa", "mastercard", "amex")
_DECLINES = ("insufficient_funds", "card_declined", "expired_card")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--payments", type=int, default=1_000_000, help="synthetic payments (default 1000000)")
    parser.add_argument("--merchants", type=int, default=20, help="merchants they belong to (default 20)")
    parser.add_argument("--days", type=int, default=90, help="days they are spread over (default 90)")
    parser.add_argument("--queries", type=int, default=50, help="timed queries of each kind (default 50)")
    parser.add_argument(
        "--database-url", default="", help="an empty scratch PostgreSQL database (default: a temporary SQLite file)"
    )
    parser.add_argument("--seed", type=int, default=15)


@dataclass
class _Expected:
    """Payments created in the queried window: per merchant, and all of them."""

    start: datetime
    per_merchant: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    platform: int = 0


def _merchant(i: int) -> str:
    return f"mer_bench{i:04d}"


def _one_payment(rng: random.Random, number: int, at: datetime, merchant: str) -> list[model.StoredEvent]:
    """A synthetic payment's events as the event store would hold them (all at ``at``)."""
    payment_id = f"pay_bench{number:09d}"
    amount = rng.randrange(100, 50_000)
    gateway = rng.choice(_GATEWAYS)
    created = {
        "merchant_id": merchant,
        "customer_id": f"cus_bench{rng.randrange(5000):05d}",
        "amount": amount,
        "currency": rng.choice(_CURRENCIES),
        "card": {"brand": rng.choice(_BRANDS), "last4": f"{rng.randrange(10_000):04d}"},
        "description": f"order {number}",
        "metadata": {},
    }
    attempt = {"gateway": gateway, "operation": "authorize", "latency_ms": rng.randrange(5, 400)}
    events = [model.StoredEvent(0, "payment.created", payment_id, merchant, created, at)]
    roll = rng.random()
    if roll < 0.15:
        decline = {"code": rng.choice(_DECLINES)}
        data = {"decline": decline, "attempt": {**attempt, "outcome": "declined"}}
        return [*events, model.StoredEvent(0, "payment.declined", payment_id, merchant, data, at)]
    if roll < 0.18:
        data = {"reason": "gateway_error", "attempt": {**attempt, "outcome": "error", "detail": "timeout: no answer"}}
        return [*events, model.StoredEvent(0, "payment.failed", payment_id, merchant, data, at)]
    authorized = {"amount": amount, "attempt": {**attempt, "outcome": "approved"}}
    captured = {"amount": amount, "fee": 0, "attempt": {**attempt, "operation": "capture", "outcome": "approved"}}
    return [
        *events,
        model.StoredEvent(0, "payment.authorized", payment_id, merchant, authorized, at),
        model.StoredEvent(0, "payment.captured", payment_id, merchant, captured, at),
    ]


async def _fill(engine: AsyncEngine, args: argparse.Namespace, end: datetime) -> _Expected:
    """Write the read model of the synthetic payments, a day at a time (bounded memory)."""
    from paysim.store.analytics_writer import AnalyticsWriter

    writer = AnalyticsWriter(engine)
    rng = random.Random(args.seed)
    first = end - timedelta(days=args.days)
    expected = _Expected(end - timedelta(days=30))
    per_day = [args.payments // args.days + (1 if d < args.payments % args.days else 0) for d in range(args.days)]
    number = 0
    for day, count in enumerate(per_day):
        day_start = first + timedelta(days=day)
        times = sorted(day_start + timedelta(seconds=rng.randrange(86_400)) for _ in range(count))
        events: list[model.StoredEvent] = []
        for at in times:
            merchant = _merchant(rng.randrange(args.merchants))
            events.extend(_one_payment(rng, number, at, merchant))
            number += 1
            if at >= expected.start:
                expected.per_merchant[merchant] += 1
                expected.platform += 1
        await writer.write_new(model.fold_all(events))
    return expected


Query = Callable[[], Awaitable[analytics_pb2.GetPaymentMetricsResponse]]


async def _timed(call: Query, queries: int) -> tuple[list[float], analytics_pb2.GetPaymentMetricsResponse]:
    reply = await call()  # warm: connections, statement caches
    took: list[float] = []
    for _ in range(queries):
        started = time.perf_counter()
        reply = await call()
        took.append((time.perf_counter() - started) * 1000)
    return took, reply


async def run(args: argparse.Namespace, scratch: Path) -> dict[str, object]:
    from paysim_client import AsyncClient

    from paysim.app.bootstrap import bootstrap, ensure_admin
    from paysim.app.server import PaysimServer
    from paysim.config import Settings

    settings = Settings.from_env().with_overrides(
        data_dir=scratch, database_url=args.database_url, bcrypt_rounds=4, webhook_dispatch=False
    )
    app = await bootstrap(settings)
    server = PaysimServer(app)
    try:
        # Days start at midnight UTC, so that each day's buckets (day buckets too) are new rows.
        end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        filled = time.perf_counter()
        expected = await _fill(app.engine, args, end)
        fill_seconds = time.perf_counter() - filled
        await ensure_admin(app, "bench@paysim.invalid", "bench-analytics-password")
        port = await server.start("127.0.0.1:0")
        # As `paysim serve` runs (app/serve.py): the filling's leftovers must not be walked by
        # the collector in the middle of a timed query.
        gc_tuning.collect_less_often()
        gc_tuning.freeze_what_exists()
        async with AsyncClient.connect(
            f"127.0.0.1:{port}", email="bench@paysim.invalid", password="bench-analytics-password"
        ) as client:
            merchant = _merchant(0)
            start = expected.start

            def merchant_query() -> Awaitable[analytics_pb2.GetPaymentMetricsResponse]:
                return client.analytics.payment_metrics(start, end, bucket="hour", merchant_id=merchant)

            def platform_query() -> Awaitable[analytics_pb2.GetPaymentMetricsResponse]:
                return client.analytics.payment_metrics(start, end, bucket="hour")

            merchant_ms, merchant_reply = await _timed(merchant_query, args.queries)
            platform_ms, platform_reply = await _timed(platform_query, args.queries)
    finally:
        await server.stop(0)
        await app.close()
    got = {
        "merchant": merchant_reply.total.payments,
        "platform": platform_reply.total.payments,
    }
    want = {"merchant": expected.per_merchant[_merchant(0)], "platform": expected.platform}
    return {
        "payments": args.payments,
        "merchants": args.merchants,
        "days": args.days,
        "fill_seconds": round(fill_seconds, 1),
        "queries": args.queries,
        "merchant_30d_hourly_ms": _summary(merchant_ms),
        "platform_30d_hourly_ms": _summary(platform_ms),
        "payments_in_window": got,
        "correct": got == want,
        "expected": want,
        "target_ms": TARGET_MS,
    }


def _summary(took: list[float]) -> dict[str, float]:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": round(statistics.median(ordered), 2), "p99": round(p99, 2), "max": round(ordered[-1], 2)}


def main(args: argparse.Namespace) -> int:
    # The figures are the output: not a log line per query.
    logging.getLogger("paysim").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="paysim-bench-analytics-") as scratch:
        report = asyncio.run(run(args, Path(scratch)))
    print(json.dumps(report, indent=2))
    merchant, platform = report["merchant_30d_hourly_ms"], report["platform_30d_hourly_ms"]
    assert isinstance(merchant, dict) and isinstance(platform, dict)
    print(
        f"30-day hourly metrics over {args.payments} payments: one merchant p50 {merchant['p50']} ms "
        f"p99 {merchant['p99']} ms, the platform p50 {platform['p50']} ms p99 {platform['p99']} ms "
        f"(target {TARGET_MS:.0f} ms)"
    )
    if not report["correct"]:
        print(f"WRONG: the answers counted {report['payments_in_window']}, expected {report['expected']}")
        return 1
    return 0
