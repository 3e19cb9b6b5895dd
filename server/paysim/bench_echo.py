"""The bench's yardstick: a bare ``grpc.aio`` server that answers one unary method with the bytes
it was sent (no interceptors, no protobuf parsing, no logging, no database).

``paysim bench`` starts it as a process of its own (so it does not share the bench client's
interpreter) and drives it with the same client, connections and concurrency as paysim: what a
scenario reaches as a fraction of this echo is what paysim costs over gRPC in Python itself.

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

SERVICE = "paysim.bench.v1.Echo"
METHOD = f"/{SERVICE}/Echo"


def _same(data: bytes) -> bytes:
    return data


async def _echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


def _handler() -> grpc.GenericRpcHandler[bytes, bytes]:
    method = grpc.unary_unary_rpc_method_handler(_echo, request_deserializer=_same, response_serializer=_same)
    return grpc.method_handlers_generic_handler(SERVICE, {"Echo": method})


async def serve(listen: str) -> None:
    server = grpc.aio.server()
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
