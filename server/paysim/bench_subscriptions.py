"""``paysim bench-subscriptions``: how long a committed event takes to reach many subscribers.

It starts no server. It registers a throw-away merchant with enough API keys for the streams
(each key may hold ``--streams-per-key``; the server's PAYSIM_SUBSCRIPTIONS_PER_PRINCIPAL), opens
``--subscribers`` streams of that merchant's ``payment.captured`` events over ``--connections``
client connections, then creates ``--events`` payments one after another. For each, it waits
until every subscriber has the event, and measures from the event's timestamp (taken by the
server just before the transaction that commits it) to the first and to the last subscriber
receiving it. It prints one JSON document and a table with p50/p99/max.

The subscribers run in this one client process, on the same machine as the server: the figures
include the client's own time to receive a thousand messages, so they are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field

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

from paysim.bench import CARD

CAPTURED = "payment.captured"
_RETRYABLE = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)


@dataclass
class Arrivals:
    """Per event seq: when each subscriber received it (seconds since the epoch)."""

    times: dict[int, list[float]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, seq: int, at: float) -> None:
        self.times.setdefault(seq, []).append(at)
        self.changed.set()


@dataclass
class Report:
    subscribers: int
    events: int
    delivered_to_all: int
    last_p50_ms: float
    last_p99_ms: float
    last_max_ms: float
    first_p50_ms: float
    first_p99_ms: float
    messages_per_second: float
    open_seconds: float
    refused_subscribes: int
    notes: list[str] = field(default_factory=list)


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


async def _subscriber(
    stub: events_pb2_grpc.EventServiceAsyncStub,
    key: str,
    arrivals: Arrivals,
    opened: asyncio.Event,
    refused: list[int],
) -> None:
    """One stream; a refused subscribe is retried with jitter, as clients should (README, "Errors": RetryInfo)."""
    request = events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_NOW, event_types=[CAPTURED])
    while True:
        call = stub.SubscribePaymentEvents(request, metadata=_auth(key))
        try:
            async for message in call:
                if message.WhichOneof("kind") == "event":
                    arrivals.record(message.seq, time.time())
                else:
                    opened.set()
            return
        except grpc.aio.AioRpcError as error:
            if error.code() not in _RETRYABLE or opened.is_set():
                raise
            refused[0] += 1
            await asyncio.sleep(random.uniform(0.05, 0.5))


async def bench(args: argparse.Namespace) -> Report:
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(args.target, options=options) for _ in range(max(1, args.connections))]
    tasks: list[asyncio.Task[None]] = []
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        keys = await _keys(channels[0], -(-args.subscribers // args.streams_per_key))
        arrivals = Arrivals()
        refused = [0]
        opened_events = [asyncio.Event() for _ in range(args.subscribers)]
        stubs = [events_pb2_grpc.EventServiceStub(c) for c in channels]
        started = time.perf_counter()
        for i in range(args.subscribers):
            stub = stubs[i % len(stubs)]
            tasks.append(
                asyncio.create_task(
                    _subscriber(stub, keys[i // args.streams_per_key], arrivals, opened_events[i], refused)
                )
            )
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened_events)), args.timeout)
        open_seconds = time.perf_counter() - started

        payments = payment_pb2_grpc.PaymentServiceStub(channels[0])
        last: list[float] = []
        first: list[float] = []
        complete = 0
        measured_seconds = 0.0
        for n in range(args.events):
            reply = await payments.CreatePayment(
                payment_pb2.CreatePaymentRequest(amount_minor=1000 + n, currency_code="USD", card=CARD),
                metadata=_auth(keys[0]),
            )
            events = await payments.ListPaymentEvents(
                payment_pb2.ListPaymentEventsRequest(payment_id=reply.payment.id), metadata=_auth(keys[0])
            )
            captured = next(e for e in events.events if e.type == CAPTURED)
            committed = captured.create_time.seconds + captured.create_time.nanos / 1e9
            deadline = time.monotonic() + args.timeout
            while len(arrivals.times.get(captured.sequence, ())) < args.subscribers:
                arrivals.changed.clear()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(arrivals.changed.wait(), remaining)
                except TimeoutError:
                    break
            received = arrivals.times.get(captured.sequence, [])
            if len(received) == args.subscribers:
                complete += 1
            if received:
                last.append((max(received) - committed) * 1000)
                first.append((min(received) - committed) * 1000)
                measured_seconds += max(received) - min(received)
            if args.pause:
                await asyncio.sleep(args.pause)
        messages = sum(len(v) for v in arrivals.times.values())
        return Report(
            subscribers=args.subscribers,
            events=args.events,
            delivered_to_all=complete,
            last_p50_ms=_percentile(last, 0.5),
            last_p99_ms=_percentile(last, 0.99),
            last_max_ms=round(max(last, default=0.0), 2),
            first_p50_ms=_percentile(first, 0.5),
            first_p99_ms=_percentile(first, 0.99),
            messages_per_second=round(messages / measured_seconds, 1) if measured_seconds else 0.0,
            open_seconds=round(open_seconds, 2),
            refused_subscribes=refused[0],
            notes=[
                "latency: from the event's timestamp (taken just before its commit) to receipt",
                "messages_per_second: while one event fans out, first to last subscriber",
            ],
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close(None)


def _table(r: Report) -> str:
    return "\n".join(
        [
            f"{r.subscribers} subscribers, {r.events} events, {r.delivered_to_all} delivered to every subscriber",
            f"{'commit → last subscriber':<28} p50 {r.last_p50_ms:>8.2f} ms   p99 {r.last_p99_ms:>8.2f} ms"
            f"   max {r.last_max_ms:>8.2f} ms",
            f"{'commit → first subscriber':<28} p50 {r.first_p50_ms:>8.2f} ms   p99 {r.first_p99_ms:>8.2f} ms",
            f"fan-out {r.messages_per_second:.0f} messages/s; {r.subscribers} streams opened in {r.open_seconds} s"
            f" ({r.refused_subscribes} refused and retried)",
        ]
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="127.0.0.1:50051", help="HOST:PORT of a running paysim server")
    parser.add_argument("--subscribers", type=int, default=1000, help="streams to open")
    parser.add_argument("--events", type=int, default=200, help="payments created, one at a time")
    parser.add_argument("--connections", type=int, default=10, help="client connections the streams spread over")
    parser.add_argument(
        "--streams-per-key", type=int, default=20, help="streams per API key (the server's per-caller limit)"
    )
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between one event's delivery and the next")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for streams and deliveries")


def main(args: argparse.Namespace) -> int:
    report = asyncio.run(bench(args))
    print(json.dumps(asdict(report), indent=2))
    print(_table(report))
    return 0 if report.delivered_to_all == report.events else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
