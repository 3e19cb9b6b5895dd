"""``paysim bench``: drive a running server with N concurrent clients for a fixed time.

It starts no paysim server. It registers a throw-away merchant (or uses ``--api-key``), then runs
each scenario for ``--duration`` seconds with ``--concurrency`` requests in flight, and prints one
JSON document and a table: throughput, p50/p95/p99 latency and error counts per scenario. Two
yardsticks run first with the same client settings: a bare ``grpc.aio`` echo server that the bench
starts as a process of its own (:mod:`paysim.bench_echo`), and paysim's health check. Every scenario
is also printed as a fraction of the echo, and, when the server runs on this machine, with the
server's own CPU time per operation (from ``/proc``: :mod:`paysim.bench_process_stats`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_proto.v1 import auth_pb2, auth_pb2_grpc, merchant_pb2, merchant_pb2_grpc, payment_pb2, payment_pb2_grpc

from paysim import bench_echo
from paysim.app import gc_tuning
from paysim.bench_process_stats import cpu_seconds, listening_pids, local_port

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
    server_cpu_ms_per_op: float | None = None
    of_echo: float | None = None


CpuClock = Callable[[], float | None]


def _no_cpu_clock() -> float | None:
    return None


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))
    return round(sorted_ms[index], 2)


async def _run(
    name: str,
    concurrency: int,
    duration: float,
    op: Callable[[int], Awaitable[None]],
    warmup: float,
    cpu_clock: CpuClock = _no_cpu_clock,
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
    began, cpu_began = time.perf_counter(), cpu_clock()
    await asyncio.gather(*tasks)
    elapsed, cpu_ended = time.perf_counter() - began, cpu_clock()
    latencies.sort()
    cpu_ms = None
    if cpu_began is not None and cpu_ended is not None and latencies:
        cpu_ms = round((cpu_ended - cpu_began) * 1000 / len(latencies), 3)
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
        server_cpu_ms_per_op=cpu_ms,
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


def _channels(target: str, count: int) -> list[grpc.aio.Channel]:
    # Separate TCP connections (a local subchannel pool each): with `serve --workers N` the kernel
    # spreads connections, not calls, over the workers.
    options = [("grpc.use_local_subchannel_pool", 1)]
    return [grpc.aio.insecure_channel(target, options=options) for _ in range(max(1, count))]


def _cpu_clock(pids: list[int]) -> CpuClock:
    return (lambda: cpu_seconds(pids)) if pids else _no_cpu_clock


def server_pids(args: argparse.Namespace) -> list[int]:
    """The paysim processes to take CPU time from: ``--server-pid``, or those listening on the
    target's port when the target is this machine."""
    if args.server_pid:
        return list(args.server_pid)
    port = local_port(args.target)
    return listening_pids(port) if port is not None else []


class EchoServer:
    """:mod:`paysim.bench_echo` in a process of its own, for as long as the bench runs."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "paysim.bench_echo", "--listen", "127.0.0.1:0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.close()
            raise RuntimeError(f"the echo server did not start: {line!r}")
        self.target = line.removeprefix("listening on ").strip()

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()  # it exits when its stdin closes
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


async def _echo_scenario(args: argparse.Namespace) -> Result:
    echo = EchoServer()
    channels = _channels(echo.target, args.connections)
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        calls = [
            c.unary_unary(bench_echo.METHOD, request_serializer=None, response_deserializer=None) for c in channels
        ]
        payload = health_pb2.HealthCheckRequest(service="paysim.v1.PaymentService").SerializeToString()

        async def call(worker: int) -> None:
            await calls[worker % len(calls)](payload, timeout=10)

        cpu = _cpu_clock([echo.process.pid])
        return await _run("bare_grpc_echo", args.concurrency, args.duration, call, args.warmup, cpu)
    finally:
        for channel in channels:
            await channel.close(None)
        echo.close()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    echo = None if args.no_echo else await _echo_scenario(args)
    channels = _channels(args.target, args.connections)
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        return await _scenarios(args, channels, echo, _cpu_clock(server_pids(args)))
    finally:
        for channel in channels:
            await channel.close(None)


async def _scenarios(
    args: argparse.Namespace, channels: list[grpc.aio.Channel], echo: Result | None, cpu: CpuClock
) -> dict[str, Any]:
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
        await _run("health_check_ceiling", n, duration, check, warmup, cpu),
        await _run("create_auto_capture", n, duration, create_capture, warmup, cpu),
        await _run("authorize_then_capture", n, duration, authorize_capture, warmup, cpu),
        await _run("refund", n, duration, refund, warmup, cpu),
    ]
    return _report(args, len(channels), echo, results)


def _report(args: argparse.Namespace, connections: int, echo: Result | None, results: list[Result]) -> dict[str, Any]:
    if echo is not None:
        results = [echo, *results]
        for result in results:
            result.of_echo = round(result.per_second / echo.per_second, 3) if echo.per_second else None
    by_name = {r.scenario: r for r in results}
    ceiling = by_name["health_check_ceiling"].per_second or 1.0
    create = by_name["create_auto_capture"]
    return {
        "target": args.target,
        "concurrency": args.concurrency,
        "connections": connections,
        "duration_seconds": args.duration,
        "results": [asdict(r) for r in results],
        "create_vs_ceiling_ratio": round(create.per_second / ceiling, 3),
        "create_vs_echo_ratio": create.of_echo,
    }


def _figure(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(report: dict[str, Any]) -> str:
    head = (
        f"{'scenario':<24}{'ops':>8}{'ops/s':>10}{'of echo':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'cpu ms/op':>11}  errors"
    )
    lines = [head, "-" * len(head)]
    for r in report["results"]:
        errors = ", ".join(f"{k}={v}" for k, v in sorted(r["errors"].items())) or "0"
        lines.append(
            f"{r['scenario']:<24}{r['operations']:>8}{r['per_second']:>10.1f}{_figure(r['of_echo'], '.3f'):>9}"
            f"{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.2f}"
            f"{_figure(r['server_cpu_ms_per_op'], '.3f'):>11}  {errors}"
        )
    if report["create_vs_echo_ratio"] is not None:
        lines.append(f"create_auto_capture / bare echo = {report['create_vs_echo_ratio']:.3f}")
    lines.append(f"create+capture / health ceiling = {report['create_vs_ceiling_ratio']:.3f}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="127.0.0.1:50051", help="HOST:PORT of a running paysim server")
    parser.add_argument("--api-key", default="", help="an sk_test_ key; by default a bench merchant is registered")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--connections", type=int, default=8, help="client connections the requests spread over")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds run before measuring each scenario")
    parser.add_argument(
        "--no-echo", action="store_true", help="skip the bare grpc.aio echo that every scenario is compared with"
    )
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="a server process to read CPU time from (repeatable); by default those listening on the target's port",
    )


def main(args: argparse.Namespace) -> int:
    # The client holds as many calls as the server: it is tuned alike (app/gc_tuning.py).
    gc_tuning.collect_less_often()
    report = asyncio.run(bench(args))
    print(json.dumps(report, indent=2))
    print(_table(report))
    # Errors are figures to report, not a failure of the command; a scenario with no success is.
    return 0 if all(r["operations"] > 0 for r in report["results"]) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
