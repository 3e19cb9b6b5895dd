"""Cross-cutting server behaviour: request ids, access logs, limits, health, schema."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_proto.v1 import auth_pb2, merchant_pb2

from paysim.app.health import HealthReporter
from paysim.store import migrate
from paysim.store.database import create_engine
from paysim.store.probe import database_probe
from paysim.store.schema import metadata
from tests.support.backends import Backend
from tests.support.client import Stubs, expect_error, rich_error
from tests.support.factories import PASSWORD, register_merchant, unique_email
from tests.support.harness import ServerHandle


def test_request_id_is_echoed_or_generated(stubs: Stubs) -> None:
    _, call = stubs.auth.Register.with_call(
        auth_pb2.RegisterRequest(email=unique_email(), password=PASSWORD), metadata=[("x-request-id", "req-123")]
    )
    assert ("x-request-id", "req-123") in list(call.trailing_metadata())
    err = expect_error(stubs.auth.GetCurrentUser, auth_pb2.GetCurrentUserRequest())
    assert len(err.request_id) == 32  # generated
    try:
        stubs.auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), metadata=[("x-request-id", "abc-1")])
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata())  # type: ignore[attr-defined]
        assert trailers["x-request-id"] == "abc-1"


def test_access_log_is_one_json_line_per_call_without_secrets(stubs: Stubs, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="paysim.access")
    account = register_merchant(stubs)
    stubs.as_(account.api_key).merchants.GetMerchant(
        merchant_pb2.GetMerchantRequest(), metadata=[("x-request-id", "log-1")]
    )
    records = [r for r in caplog.records if r.name == "paysim.access"]
    mine = [r for r in records if getattr(r, "fields", {}).get("request_id") == "log-1"]
    assert len(mine) == 1
    fields = mine[0].fields  # type: ignore[attr-defined]
    assert fields["method"] == "/paysim.v1.MerchantService/GetMerchant"
    assert fields["code"] == "OK" and fields["principal"] == account.api_key_id
    assert fields["duration_ms"] >= 0
    text = "\n".join(logging.Formatter().format(r) + repr(getattr(r, "fields", "")) for r in caplog.records)
    for secret in (account.api_key, account.access_token, account.refresh_token, PASSWORD):
        assert secret not in text


def test_oversized_messages_are_refused(stubs: Stubs) -> None:
    err = expect_error(
        stubs.auth.Register,
        auth_pb2.RegisterRequest(email=unique_email(), password=PASSWORD, full_name="x" * 2_000_000),
    )
    assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_rate_limit_per_caller(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(rate_limit_per_minute=5)
    stubs = server.stubs()
    # Registration itself spends the anonymous budget of this peer; use a fresh server's API key.
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    succeeded = 0
    for _ in range(11):
        try:
            api.merchants.GetMerchant(merchant_pb2.GetMerchantRequest())
            succeeded += 1
        except grpc.RpcError as error:
            err = rich_error(error)
            assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED and err.reason == "RATE_LIMITED"
            assert err.retry_delay_seconds is not None and 0 < err.retry_delay_seconds <= 60
            assert "google.rpc.QuotaFailure" in err.detail_types
            break
    else:
        pytest.fail("the limit of 5 per minute never applied")
    # A window boundary may fall inside the loop; at least the limit passed before refusal.
    assert succeeded >= 5


def _watch_statuses(target: str, out: queue.Queue[int]) -> threading.Thread:
    def run() -> None:
        with grpc.insecure_channel(target) as channel:
            try:
                for reply in health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="")):
                    out.put(reply.status)
            except grpc.RpcError:
                out.put(-1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_health_serves_every_service_and_goes_not_serving_on_shutdown(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    health = health_pb2_grpc.HealthStub(server.channel())
    for service in ("", "paysim.v1.AuthService", "paysim.v1.MerchantService", "paysim.v1.CustomerService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    statuses: queue.Queue[int] = queue.Queue()
    _watch_statuses(server.target, statuses)
    assert statuses.get(timeout=10) == health_pb2.HealthCheckResponse.SERVING
    server.run(server.health_shutdown())
    assert statuses.get(timeout=10) == health_pb2.HealthCheckResponse.NOT_SERVING


def test_health_probe_reports_an_unreachable_database(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, int]:
        probe = database_probe("postgresql://nobody@127.0.0.1:9/none", timeout_seconds=1.0)
        reporter = HealthReporter(probe, ["paysim.v1.AuthService"], probe_seconds=0.1)
        ok = await reporter.probe_once()
        status = reporter.servicer._server_status["paysim.v1.AuthService"]
        await reporter.close()
        return ok, status

    ok, status = asyncio.run(scenario())
    assert not ok and status == health_pb2.HealthCheckResponse.NOT_SERVING


def test_migrations_create_exactly_the_schema(server: ServerHandle, backend: Backend) -> None:
    async def diff() -> tuple[list[object], str | None]:
        engine = create_engine(backend.database_url)
        async with engine.connect() as conn:
            changes = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
        revision = await migrate.current_revision(engine)
        await engine.dispose()
        return changes, revision

    changes, revision = asyncio.run(diff())
    assert changes == []
    assert revision == migrate.head_revision()


def test_probes_are_never_rate_limited(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(rate_limit_per_minute=2)
    health = health_pb2_grpc.HealthStub(server.channel())
    for _ in range(6):
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING


def test_probes_ignore_credentials_even_broken_ones(server: ServerHandle) -> None:
    health = health_pb2_grpc.HealthStub(server.channel())
    for header in ("Bearer expired.or.forged", "Basic dXNlcjpwYXNz", "Bearer "):
        reply = health.Check(health_pb2.HealthCheckRequest(), metadata=[("authorization", header)], timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
