"""``paysim bench``: drive a running server with N concurrent clients for a fixed time.

It starts no server. It registers a throw-away merchant (or uses ``--api-key``), then runs each
scenario for ``--duration`` seconds with ``--concurrency`` requests in flight, and prints one JSON
document and a table: throughput, p50/p95/p99 latency and error counts per scenario, plus the
server's raw ceiling (health Check calls/s with the same client settings) and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_proto.v1 import auth_pb2, auth_pb2_grpc, merchant_pb2, merchant_pb2_grpc, payment_pb2, payment_pb2_grpc

CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2035, cvc="123", holder_name="Bench")


@dataclass
class Result:
    scenario: str
    operations: int = 0
    seconds: float = 0.0
    per_second: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))
    return round(sorted_ms[index], 2)


async def _run(
    name: str, concurrency: int, duration: float, op: Callable[[int], Awaitable[None]], warmup: float
) -> Result:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    measuring = False
    stop_at = time.perf_counter() + warmup + duration

    async def worker(worker_id: int) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                await op(worker_id)
                ok = True
            except grpc.aio.AioRpcError as error:
                ok = False
                if measuring:
                    errors[error.code().name] += 1
            if measuring and ok:
                latencies.append((time.perf_counter() - started) * 1000)

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    await asyncio.sleep(warmup)
    measuring = True
    began = time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    latencies.sort()
    return Result(
        scenario=name,
        operations=len(latencies),
        seconds=round(elapsed, 3),
        per_second=round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=round(latencies[-1], 2) if latencies else 0.0,
        errors=dict(errors),
    )


async def _api_key(channel: grpc.aio.Channel, given: str) -> str:
    if given:
        return given
    suffix = secrets.token_hex(4)
    email, password = f"bench-{suffix}@bench.test", secrets.token_urlsafe(16)
    merchants = merchant_pb2_grpc.MerchantServiceStub(channel)
    await merchants.RegisterMerchant(
        merchant_pb2.RegisterMerchantRequest(name=f"bench-{suffix}", owner_email=email, owner_password=password)
    )
    login = await auth_pb2_grpc.AuthServiceStub(channel).Login(auth_pb2.LoginRequest(email=email, password=password))
    key = await merchants.CreateApiKey(
        merchant_pb2.CreateApiKeyRequest(name="bench"),
        metadata=[("authorization", f"Bearer {login.tokens.access_token}")],
    )
    return str(key.secret)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    # Separate TCP connections (a local subchannel pool each): with `serve --workers N` the kernel
    # spreads connections, not calls, over the workers.
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(args.target, options=options) for _ in range(max(1, args.connections))]
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        return await _scenarios(args, channels)
    finally:
        for channel in channels:
            await channel.close(None)


async def _scenarios(args: argparse.Namespace, channels: list[grpc.aio.Channel]) -> dict[str, Any]:
    key = await _api_key(channels[0], args.api_key)
    auth = [("authorization", f"Bearer {key}")]
    payment_stubs = [payment_pb2_grpc.PaymentServiceStub(c) for c in channels]
    health_stubs = [health_pb2_grpc.HealthStub(c) for c in channels]
    n, duration, warmup = args.concurrency, args.duration, args.warmup

    def payments(worker: int) -> payment_pb2_grpc.PaymentServiceAsyncStub:
        return payment_stubs[worker % len(payment_stubs)]

    def keyed() -> list[tuple[str, str]]:
        return [*auth, ("idempotency-key", secrets.token_hex(12))]

    async def create_capture(worker: int) -> None:
        await payments(worker).CreatePayment(
            payment_pb2.CreatePaymentRequest(amount_minor=1999, currency_code="USD", card=CARD),
            metadata=keyed(),
            timeout=10,
        )

    async def authorize_capture(worker: int) -> None:
        created = await payments(worker).CreatePayment(
            payment_pb2.CreatePaymentRequest(
                amount_minor=2999, currency_code="USD", card=CARD, capture_method=payment_pb2.CAPTURE_METHOD_MANUAL
            ),
            metadata=keyed(),
            timeout=10,
        )
        await payments(worker).CapturePayment(
            payment_pb2.CapturePaymentRequest(payment_id=created.payment.id), metadata=keyed(), timeout=10
        )

    # One captured payment per worker, refunded one minor unit at a time.
    refundable: list[str] = []
    for worker in range(n):
        made = await payments(worker).CreatePayment(
            payment_pb2.CreatePaymentRequest(amount_minor=10**9, currency_code="USD", card=CARD), metadata=auth
        )
        refundable.append(made.payment.id)

    async def refund(worker: int) -> None:
        await payments(worker).RefundPayment(
            payment_pb2.RefundPaymentRequest(payment_id=refundable[worker], amount_minor=1),
            metadata=keyed(),
            timeout=10,
        )

    async def check(worker: int) -> None:
        await health_stubs[worker % len(health_stubs)].Check(health_pb2.HealthCheckRequest(), timeout=10)

    results = [
        await _run("health_check_ceiling", n, duration, check, warmup),
        await _run("create_auto_capture", n, duration, create_capture, warmup),
        await _run("authorize_then_capture", n, duration, authorize_capture, warmup),
        await _run("refund", n, duration, refund, warmup),
    ]
    ceiling = results[0].per_second or 1.0
    create = results[1].per_second
    return {
        "target": args.target,
        "concurrency": n,
        "connections": len(channels),
        "duration_seconds": duration,
        "results": [asdict(r) for r in results],
        "create_vs_ceiling_ratio": round(create / ceiling, 3),
    }


def _table(report: dict[str, Any]) -> str:
    head = f"{'scenario':<24}{'ops':>8}{'ops/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}  errors"
    lines = [head, "-" * len(head)]
    for r in report["results"]:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(r["errors"].items())) or "0"
        lines.append(
            f"{r['scenario']:<24}{r['operations']:>8}{r['per_second']:>10.1f}{r['p50_ms']:>9.2f}"
            f"{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.2f}  {errors}"
        )
    lines.append(f"create+capture / health ceiling = {report['create_vs_ceiling_ratio']:.3f}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="127.0.0.1:50051", help="HOST:PORT of a running paysim server")
    parser.add_argument("--api-key", default="", help="an sk_test_ key; by default a bench merchant is registered")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--connections", type=int, default=8, help="client connections the requests spread over")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds run before measuring each scenario")


def main(args: argparse.Namespace) -> int:
    report = asyncio.run(bench(args))
    print(json.dumps(report, indent=2))
    print(_table(report))
    # Errors are figures to report, not a failure of the command; a scenario with no success is.
    return 0 if all(r["operations"] > 0 for r in report["results"]) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
