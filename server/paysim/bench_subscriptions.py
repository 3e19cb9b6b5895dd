"""``paysim bench-subscriptions``: how long a committed event takes to reach many subscribers.

It starts no server. It registers a throw-away merchant with enough API keys for the streams
(each key may hold ``--streams-per-key``; the server's PAYSIM_SUBSCRIPTIONS_PER_PRINCIPAL), opens
``--subscribers`` streams of that merchant's ``payment.captured`` events over ``--connections``
client connections, all at once, then creates ``--events`` payments one after another. For each,
it waits until every subscriber has the event, and measures from the event's timestamp (taken by
the server just before the transaction that commits it) to the first and to the last subscriber
receiving it. Halfway through, ``--reconnects`` streams are cut and reopened from their cursor:
every subscriber must still get every event exactly once (the report counts gaps and duplicates).
It prints one JSON document and a table.

The subscribers run in this one client process, on the same machine as the server: the figures
include the client's own time to receive every message, so they are an upper bound. When the
server runs on this machine, its resident memory before and after the streams opened gives the
memory per subscriber, and its CPU time (with this process's own) the CPU each subscribe and each
delivered message cost: on a machine where client and server share the cores, what bounds the
open rate and the fan-out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
from paysim_proto.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    merchant_pb2,
    merchant_pb2_grpc,
    payment_pb2,
    payment_pb2_grpc,
)

from paysim.app import gc_tuning
from paysim.bench import CARD
from paysim.bench_fan_out import bare_fan_out
from paysim.bench_process_stats import CpuMeter, listening_pids, local_port, per, resident_bytes

CAPTURED = "payment.captured"
_RETRYABLE = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)


@dataclass
class Arrivals:
    """Per event seq: when each subscriber first received it (seconds since the epoch)."""

    times: dict[int, list[float]] = field(default_factory=dict)
    duplicates: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, seq: int, at: float) -> None:
        self.times.setdefault(seq, []).append(at)
        self.changed.set()


@dataclass
class Subscriber:
    """One stream's state, kept across the reconnects the bench forces."""

    key: str
    stub: events_pb2_grpc.EventServiceAsyncStub
    cursor: int = 0
    seen: set[int] = field(default_factory=set)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    def request(self) -> events_pb2.SubscribePaymentEventsRequest:
        if not self.cursor:
            return events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_NOW, event_types=[CAPTURED])
        return events_pb2.SubscribePaymentEventsRequest(
            start=events_pb2.STREAM_START_AFTER_SEQ, after_seq=self.cursor, event_types=[CAPTURED]
        )


@dataclass
class Report:
    subscribers: int
    opened: int
    events: int
    delivered_to_all: int
    gaps: int
    duplicates: int
    reconnects: int
    last_p50_ms: float
    last_p99_ms: float
    last_max_ms: float
    first_p50_ms: float
    first_p99_ms: float
    messages_per_second: float
    open_seconds: float
    opened_per_second: float
    refused_subscribes: int
    failed_subscribes: dict[str, int]
    server_kb_per_subscriber: float | None
    server_cpu_ms_per_subscribe: float | None = None
    client_cpu_ms_per_subscribe: float | None = None
    server_cpu_us_per_message: float | None = None
    client_cpu_us_per_message: float | None = None
    # The same streams and messages on a bare grpc.aio server (None with --no-echo).
    bare_grpc_fan_out: dict[str, Any] | None = None
    problem: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Run:
    """What the bench has seen so far: a timeout reports this rather than a bare error."""

    arrivals: Arrivals = field(default_factory=Arrivals)
    refused: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    last: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    captured: list[int] = field(default_factory=list)
    fan_out_seconds: float = 0.0
    # Server and client CPU seconds while the streams opened, and while the events were sent.
    open_cpu: tuple[float | None, float | None] = (None, None)
    events_cpu: tuple[float | None, float | None] = (None, None)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))], 2)


def _auth(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


async def _keys(channel: grpc.aio.Channel, count: int) -> list[str]:
    suffix = secrets.token_hex(4)
    email, password = f"bench-events-{suffix}@bench.test", secrets.token_urlsafe(16)
    merchants = merchant_pb2_grpc.MerchantServiceStub(channel)
    await merchants.RegisterMerchant(
        merchant_pb2.RegisterMerchantRequest(name=f"bench-events-{suffix}", owner_email=email, owner_password=password)
    )
    login = await auth_pb2_grpc.AuthServiceStub(channel).Login(auth_pb2.LoginRequest(email=email, password=password))
    token = login.tokens.access_token
    keys = []
    for i in range(count):
        reply = await merchants.CreateApiKey(merchant_pb2.CreateApiKeyRequest(name=f"bench-{i}"), metadata=_auth(token))
        keys.append(str(reply.secret))
    return keys


async def _stream(subscriber: Subscriber, run: Run) -> None:
    """One stream from the subscriber's cursor; a refused subscribe is retried with jitter, as
    clients should (README, Subscriptions)."""
    while True:
        call = subscriber.stub.SubscribePaymentEvents(subscriber.request(), metadata=_auth(subscriber.key))
        try:
            async for message in call:
                subscriber.cursor = message.seq
                if message.WhichOneof("kind") != "event":
                    subscriber.opened.set()
                elif message.seq in subscriber.seen:
                    run.arrivals.duplicates += 1
                else:
                    subscriber.seen.add(message.seq)
                    run.arrivals.record(message.seq, time.time())
            return
        except grpc.aio.AioRpcError as error:
            if error.code() not in _RETRYABLE:
                run.failed[error.code().name] += 1
                raise
            run.refused += 1
            await asyncio.sleep(random.uniform(0.05, 0.5))


async def _wait_for_everyone(run: Run, seq: int, subscribers: int, seconds: float) -> list[float]:
    deadline = time.monotonic() + seconds
    while len(run.arrivals.times.get(seq, ())) < subscribers:
        run.arrivals.changed.clear()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            await asyncio.wait_for(run.arrivals.changed.wait(), remaining)
        except TimeoutError:
            break
    return run.arrivals.times.get(seq, [])


async def _one_event(
    payments: payment_pb2_grpc.PaymentServiceAsyncStub, key: str, n: int, run: Run, args: argparse.Namespace
) -> bool:
    reply = await payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(amount_minor=1000 + n, currency_code="USD", card=CARD), metadata=_auth(key)
    )
    events = await payments.ListPaymentEvents(
        payment_pb2.ListPaymentEventsRequest(payment_id=reply.payment.id), metadata=_auth(key)
    )
    captured = next(e for e in events.events if e.type == CAPTURED)
    run.captured.append(captured.sequence)
    committed = captured.create_time.seconds + captured.create_time.nanos / 1e9
    received = await _wait_for_everyone(run, captured.sequence, args.subscribers, args.timeout)
    if received:
        run.last.append((max(received) - committed) * 1000)
        run.first.append((min(received) - committed) * 1000)
        run.fan_out_seconds += max(received) - min(received)
    return bool(len(received) == args.subscribers)


class Streams:
    """The subscribers' tasks: opened all at once, some cut and reopened from their cursor."""

    def __init__(self, subscribers: list[Subscriber], run: Run) -> None:
        self.subscribers = subscribers
        self.run = run
        self.tasks = [asyncio.create_task(_stream(s, run)) for s in subscribers]
        self.reconnected = 0

    async def opened(self, seconds: float) -> int:
        waits = [asyncio.create_task(s.opened.wait()) for s in self.subscribers]
        await asyncio.wait(waits, timeout=seconds)
        for wait in waits:
            wait.cancel()
        return sum(s.opened.is_set() for s in self.subscribers)

    async def reconnect(self, count: int) -> None:
        for index in random.sample(range(len(self.subscribers)), min(count, len(self.subscribers))):
            self.tasks[index].cancel()
            await asyncio.gather(self.tasks[index], return_exceptions=True)
            self.tasks[index] = asyncio.create_task(_stream(self.subscribers[index], self.run))
            self.reconnected += 1

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _server_pids(target: str) -> list[int]:
    port = local_port(target)
    return listening_pids(port) if port is not None else []


def _server_memory(target: str) -> int | None:
    pids = _server_pids(target)
    return resident_bytes(pids) if pids else None


async def bench(args: argparse.Namespace) -> Report:
    bare = None
    if not args.no_echo:
        bare = asdict(await bare_fan_out(args.subscribers, args.events, args.connections, args.timeout))
    report = await _paysim(args)
    report.bare_grpc_fan_out = bare
    return report


async def _paysim(args: argparse.Namespace) -> Report:
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(args.target, options=options) for _ in range(max(1, args.connections))]
    streams: Streams | None = None
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        keys = await _keys(channels[0], -(-args.subscribers // args.streams_per_key))
        stubs = [events_pb2_grpc.EventServiceStub(c) for c in channels]
        subscribers = [
            Subscriber(keys[i // args.streams_per_key], stubs[i % len(stubs)]) for i in range(args.subscribers)
        ]
        run, memory_before = Run(), _server_memory(args.target)
        cpu = CpuMeter(_server_pids(args.target))
        started = time.perf_counter()
        streams = Streams(subscribers, run)
        opened = await streams.opened(args.timeout)
        open_seconds = time.perf_counter() - started
        run.open_cpu = cpu.lap()
        memory_after = _server_memory(args.target)
        if opened < args.subscribers:
            return _report(args, run, streams, opened, open_seconds, 0, None, problem=_not_opened(args, opened, run))
        payments = payment_pb2_grpc.PaymentServiceStub(channels[0])
        complete = 0
        for n in range(args.events):
            if args.reconnects and n == args.events // 2:
                await streams.reconnect(args.reconnects)
            complete += await _one_event(payments, keys[0], n, run, args)
            if args.pause:
                await asyncio.sleep(args.pause)
        run.events_cpu = cpu.lap()
        per_subscriber = None
        if memory_before is not None and memory_after is not None:
            per_subscriber = round((memory_after - memory_before) / 1024 / args.subscribers, 1)
        return _report(args, run, streams, opened, open_seconds, complete, per_subscriber)
    finally:
        if streams is not None:
            await streams.close()
        for channel in channels:
            await channel.close(None)


def _not_opened(args: argparse.Namespace, opened: int, run: Run) -> str:
    failed = ", ".join(f"{code}={n}" for code, n in sorted(run.failed.items())) or "none"
    return (
        f"only {opened} of {args.subscribers} streams opened within {args.timeout:.0f}s "
        f"({run.refused} subscribes refused and retried; failed: {failed}); no events were sent"
    )


def _report(
    args: argparse.Namespace,
    run: Run,
    streams: Streams,
    opened: int,
    open_seconds: float,
    complete: int,
    kb_per_subscriber: float | None,
    problem: str = "",
) -> Report:
    gaps = sum(seq not in s.seen for seq in run.captured for s in streams.subscribers)
    messages = sum(len(v) for v in run.arrivals.times.values())
    if not problem and complete < len(run.captured):
        problem = (
            f"{len(run.captured) - complete} of {len(run.captured)} events did not reach every subscriber "
            f"within {args.timeout:.0f}s ({gaps} missing deliveries)"
        )
    return Report(
        subscribers=args.subscribers,
        opened=opened,
        events=len(run.captured),
        delivered_to_all=complete,
        gaps=gaps,
        duplicates=run.arrivals.duplicates,
        reconnects=streams.reconnected,
        last_p50_ms=_percentile(run.last, 0.5),
        last_p99_ms=_percentile(run.last, 0.99),
        last_max_ms=round(max(run.last, default=0.0), 2),
        first_p50_ms=_percentile(run.first, 0.5),
        first_p99_ms=_percentile(run.first, 0.99),
        messages_per_second=round(messages / run.fan_out_seconds, 1) if run.fan_out_seconds else 0.0,
        open_seconds=round(open_seconds, 2),
        opened_per_second=round(opened / open_seconds, 1) if open_seconds else 0.0,
        refused_subscribes=run.refused,
        failed_subscribes=dict(run.failed),
        server_kb_per_subscriber=kb_per_subscriber,
        server_cpu_ms_per_subscribe=per(run.open_cpu[0], opened, 1e3),
        client_cpu_ms_per_subscribe=per(run.open_cpu[1], opened, 1e3),
        server_cpu_us_per_message=per(run.events_cpu[0], messages, 1e6),
        client_cpu_us_per_message=per(run.events_cpu[1], messages, 1e6),
        problem=problem,
        notes=[
            "latency: from the event's timestamp (taken just before its commit) to receipt",
            "messages_per_second: while one event fans out, first to last subscriber",
            "server_kb_per_subscriber: the server's resident memory after the streams opened minus before",
            "cpu per subscribe: CPU time while the streams opened divided by the streams opened",
            "cpu per message: CPU time while the events were sent (payments included) divided by messages received",
        ],
    )


def _bare_lines(r: Report, bare: dict[str, Any]) -> list[str]:
    def ratio(ours: float, theirs: float) -> str:
        return f"{ours / theirs:.2f}" if theirs else "-"

    return [
        f"bare grpc.aio, same streams and messages: {bare['opened']} opened in {bare['open_seconds']} s"
        f" ({bare['opened_per_second']:.0f}/s); publish → last p50 {bare['last_p50_ms']:.2f} ms"
        f" p99 {bare['last_p99_ms']:.2f} ms",
        f"bare CPU per subscribe: server {_figure(bare['server_cpu_ms_per_subscribe'])} ms, client"
        f" {_figure(bare['client_cpu_ms_per_subscribe'])} ms; per message: server"
        f" {_figure(bare['server_cpu_us_per_message'])} µs, client {_figure(bare['client_cpu_us_per_message'])} µs",
        f"paysim / bare: subscribes/s {ratio(r.opened_per_second, bare['opened_per_second'])},"
        f" last-subscriber p99 {ratio(r.last_p99_ms, bare['last_p99_ms'])}×",
    ]


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _table(r: Report) -> str:
    memory = "-" if r.server_kb_per_subscriber is None else f"{r.server_kb_per_subscriber:.1f}"
    lines = [
        f"{r.subscribers} subscribers, {r.events} events, {r.delivered_to_all} delivered to every subscriber",
        f"{'commit → last subscriber':<28} p50 {r.last_p50_ms:>8.2f} ms   p99 {r.last_p99_ms:>8.2f} ms"
        f"   max {r.last_max_ms:>8.2f} ms",
        f"{'commit → first subscriber':<28} p50 {r.first_p50_ms:>8.2f} ms   p99 {r.first_p99_ms:>8.2f} ms",
        f"fan-out {r.messages_per_second:.0f} messages/s; {r.opened} streams opened in {r.open_seconds} s"
        f" ({r.refused_subscribes} refused and retried)",
        f"{r.opened_per_second:.0f} subscribes/s; server memory {memory} KB per subscriber",
        f"{r.reconnects} streams cut and reopened from their cursor: {r.gaps} gaps, {r.duplicates} duplicates",
        f"CPU per subscribe: server {_figure(r.server_cpu_ms_per_subscribe)} ms, client"
        f" {_figure(r.client_cpu_ms_per_subscribe)} ms; per message delivered: server"
        f" {_figure(r.server_cpu_us_per_message)} µs, client {_figure(r.client_cpu_us_per_message)} µs",
    ]
    if r.bare_grpc_fan_out is not None:
        lines.extend(_bare_lines(r, r.bare_grpc_fan_out))
    if r.problem:
        lines.append(f"problem: {r.problem}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="127.0.0.1:50051", help="HOST:PORT of a running paysim server")
    parser.add_argument("--subscribers", type=int, default=1000, help="streams to open, all at once")
    parser.add_argument("--events", type=int, default=200, help="payments created, one at a time")
    parser.add_argument("--connections", type=int, default=10, help="client connections the streams spread over")
    parser.add_argument(
        "--streams-per-key", type=int, default=20, help="streams per API key (the server's per-caller limit)"
    )
    parser.add_argument(
        "--reconnects", type=int, default=100, help="streams cut and reopened from their cursor halfway through"
    )
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between one event's delivery and the next")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for streams and deliveries")
    parser.add_argument(
        "--no-echo",
        action="store_true",
        help="skip the bare grpc.aio fan-out (same streams and messages) that paysim is compared with",
    )


def main(args: argparse.Namespace) -> int:
    # The client holds as many calls as the server: it is tuned alike (app/gc_tuning.py).
    gc_tuning.collect_less_often()
    report = asyncio.run(bench(args))
    print(json.dumps(asdict(report), indent=2))
    print(_table(report))
    everything = report.opened == report.subscribers and report.delivered_to_all == report.events == args.events
    return 0 if everything and not report.duplicates and not report.gaps else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
