"""The benches' yardstick: a bare ``grpc.aio`` server that answers one unary method with the bytes
it was sent (no interceptors, no protobuf parsing, no logging, no database), and fans bytes out
to server streams.

``paysim bench`` starts it as a process of its own (so it does not share the bench client's
interpreter) and drives it with the same client, connections and concurrency as paysim: what a
scenario reaches as a fraction of this echo is what paysim costs over gRPC in Python itself.
``paysim bench-subscriptions`` opens as many ``Subscribe`` streams as it opens paysim streams and
``Publish``es bytes to all of them: what gRPC in Python itself costs to open a stream and to
write one message to each of ten thousand.

Run alone: ``python -m paysim.bench_echo --listen 127.0.0.1:0``; it prints ``listening on HOST:PORT``
and serves until its standard input closes or it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import grpc

from paysim.app import gc_tuning
from paysim.config import Settings

SERVICE = "paysim.bench.v1.Echo"
METHOD = f"/{SERVICE}/Echo"
SUBSCRIBE = f"/{SERVICE}/Subscribe"
PUBLISH = f"/{SERVICE}/Publish"


def _same(data: bytes) -> bytes:
    return data


async def _echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


class FanOut:
    """Every open ``Subscribe`` stream's queue: ``Publish`` puts its bytes on each."""

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[bytes]] = set()

    async def subscribe(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> None:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.queues.add(queue)
        try:
            await context.write(b"")  # the opening message, as paysim's streams send one
            while True:
                await context.write(await queue.get())
        finally:
            self.queues.discard(queue)

    async def publish(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        for queue in self.queues:
            queue.put_nowait(request)
        return b""


def _handler() -> grpc.GenericRpcHandler[bytes, bytes]:
    fan_out = FanOut()
    bare = {"request_deserializer": _same, "response_serializer": _same}
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Echo": grpc.unary_unary_rpc_method_handler(_echo, **bare),
            "Subscribe": grpc.unary_stream_rpc_method_handler(fan_out.subscribe, **bare),
            "Publish": grpc.unary_unary_rpc_method_handler(fan_out.publish, **bare),
        },
    )


def _options() -> list[tuple[str, int]]:
    """paysim's own transport limits (its defaults): the same streams fit on a connection."""
    defaults = Settings()
    return [
        ("grpc.max_concurrent_streams", defaults.max_concurrent_streams),
        ("grpc.server.max_pending_requests", defaults.max_pending_requests),
        ("grpc.server.max_pending_requests_hard_limit", defaults.max_pending_requests * 2),
    ]


async def serve(listen: str) -> None:
    gc_tuning.collect_less_often()  # as paysim serve does: the yardstick is tuned alike
    server = grpc.aio.server(options=_options())
    server.add_generic_rpc_handlers((_handler(),))
    port = server.add_insecure_port(listen)
    await server.start()
    host = listen.rsplit(":", 1)[0]
    print(f"listening on {host}:{port}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    # The bench holds our stdin: when it exits, however it exits, so do we.
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: None if os.read(stdin, 1024) else stopped.set())
    await stopped.wait()
    await server.stop(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:0")
    asyncio.run(serve(parser.parse_args().listen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
