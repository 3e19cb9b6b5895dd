"""``paysim serve --workers N``: several processes on one port (PostgreSQL), refused on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from paysim_client.v1 import merchant_pb2, merchant_pb2_grpc

from tests.support import backends
from tests.test_serve_process import GRACE_SECONDS, ServerProcess, Target, _target, paysim_env, run_paysim


@pytest.fixture(scope="module", params=backends.available())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(request.param, tmp_path_factory.mktemp(f"workers-{request.param}"))


def test_workers_share_one_port_and_stop_together(target: Target, tmp_path: Path) -> None:
    if target.backend == "sqlite":
        done = run_paysim(paysim_env(target, tmp_path), "serve", "--workers", "2", "--listen", "127.0.0.1:50999")
        assert done.returncode == 2
        assert "single process" in done.stderr and "PostgreSQL" in done.stderr
        return
    server = ServerProcess(target, tmp_path, PAYSIM_WORKERS="2")
    try:
        server.wait_serving()
        # Many connections: the kernel spreads them over both workers; every one is served.
        for i in range(12):
            with grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
                reply = merchant_pb2_grpc.MerchantServiceStub(channel).RegisterMerchant(
                    merchant_pb2.RegisterMerchantRequest(
                        name=f"worker-shop-{i}-{server.port}",
                        owner_email=f"w{i}-{server.port}@example.test",
                        owner_password="correct horse battery",
                    ),
                    timeout=20,
                )
                assert reply.merchant.id.startswith("mer_")
        second = run_paysim(server.env, "serve", "--workers", "2", "--listen", server.address)
        assert second.returncode == 2 and "cannot listen" in second.stderr
    finally:
        server.proc.terminate()
        assert server.proc.wait(GRACE_SECONDS + 10) == 0
        server.stop()
