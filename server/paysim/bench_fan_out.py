"""The yardstick of ``paysim bench-subscriptions``: the same streams, opened the same way, on a bare
``grpc.aio`` server (``paysim.bench_echo``: no interceptors, no protobuf, no database), and the
same number of messages fanned out to them.

What gRPC in Python itself costs to open a server stream and to write one message to each of N
streams bounds paysim's open rate and fan-out latency on the same machine: paysim's figures are
printed beside these.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field

import grpc

from paysim import bench_echo
from paysim.bench import EchoServer
from paysim.bench_process_stats import CpuMeter, per

_PAYLOAD = struct.Struct("!Id")  # the message's number and when it was published


@dataclass
class FanOutResult:
    subscribers: int
    opened: int
    open_seconds: float
    opened_per_second: float
    messages: int
    delivered_to_all: int
    last_p50_ms: float
    last_p99_ms: float
    first_p50_ms: float
    server_cpu_ms_per_subscribe: float | None
    client_cpu_ms_per_subscribe: float | None
    server_cpu_us_per_message: float | None
    client_cpu_us_per_message: float | None


@dataclass
class _Arrivals:
    times: dict[int, list[float]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


async def _stream(
    subscribe: grpc.aio.UnaryStreamMultiCallable[bytes, bytes], opened: asyncio.Event, arrivals: _Arrivals
) -> None:
    async for message in subscribe(b""):
        if not message:
            opened.set()
            continue
        number, _ = _PAYLOAD.unpack(message)
        arrivals.times.setdefault(number, []).append(time.time())
        arrivals.changed.set()


async def _all_received(arrivals: _Arrivals, number: int, subscribers: int, seconds: float) -> list[float]:
    deadline = time.monotonic() + seconds
    while len(arrivals.times.get(number, ())) < subscribers and time.monotonic() < deadline:
        arrivals.changed.clear()
        try:
            await asyncio.wait_for(arrivals.changed.wait(), deadline - time.monotonic())
        except TimeoutError:
            break
    return arrivals.times.get(number, [])


async def bare_fan_out(subscribers: int, messages: int, connections: int, wait_seconds: float) -> FanOutResult:
    """Open ``subscribers`` streams at once over ``connections``, then publish ``messages``
    one after another, each once every stream has the previous one."""
    echo = EchoServer()
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(echo.target, options=options) for _ in range(max(1, connections))]
    tasks: list[asyncio.Task[None]] = []
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 10)
        subscribes = [c.unary_stream(bench_echo.SUBSCRIBE, None, None) for c in channels]
        publish = channels[0].unary_unary(bench_echo.PUBLISH, None, None)
        arrivals, opened = _Arrivals(), [asyncio.Event() for _ in range(subscribers)]
        cpu = CpuMeter([echo.process.pid])
        started = time.perf_counter()
        tasks = [
            asyncio.create_task(_stream(subscribes[i % len(subscribes)], opened[i], arrivals))
            for i in range(subscribers)
        ]
        waits = [asyncio.create_task(event.wait()) for event in opened]
        await asyncio.wait(waits, timeout=wait_seconds)
        for wait in waits:
            wait.cancel()
        open_seconds = time.perf_counter() - started
        open_cpu = cpu.lap()
        count = sum(event.is_set() for event in opened)
        last: list[float] = []
        first: list[float] = []
        complete = 0
        for number in range(messages if count == subscribers else 0):
            sent = time.time()
            await publish(_PAYLOAD.pack(number, sent), timeout=10)
            received = await _all_received(arrivals, number, subscribers, wait_seconds)
            if received:
                last.append((max(received) - sent) * 1000)
                first.append((min(received) - sent) * 1000)
            complete += len(received) == subscribers
        events_cpu = cpu.lap()
        delivered = sum(len(v) for v in arrivals.times.values())
        return FanOutResult(
            subscribers=subscribers,
            opened=count,
            open_seconds=round(open_seconds, 2),
            opened_per_second=round(count / open_seconds, 1) if open_seconds else 0.0,
            messages=messages,
            delivered_to_all=complete,
            last_p50_ms=_percentile(last, 0.5),
            last_p99_ms=_percentile(last, 0.99),
            first_p50_ms=_percentile(first, 0.5),
            server_cpu_ms_per_subscribe=per(open_cpu[0], count, 1e3),
            client_cpu_ms_per_subscribe=per(open_cpu[1], count, 1e3),
            server_cpu_us_per_message=per(events_cpu[0], delivered, 1e6),
            client_cpu_us_per_message=per(events_cpu[1], delivered, 1e6),
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close(None)
        echo.close()
