"""Redis stops answering (a proxy in front of the real Redis freezes: connections stay open and
new ones are accepted, but no byte is forwarded). Rate-limited calls wait for Redis only until
its breaker opens, then not at all; the configured policy decides whether they pass or are
refused meanwhile; each change of Redis's state is logged once; all recovers when Redis answers."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2

from tests.support.client import Stubs, expect_error, rich_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.tcp_proxy import TcpProxy

LOGGER = "paysim.redis"


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    url = os.environ.get("PAYSIM_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs a Redis: set PAYSIM_TEST_REDIS_URL")
    parts = urlsplit(url)
    tcp = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    tcp.start()
    yield tcp
    tcp.close()


def proxied_server(make_server: Callable[..., ServerHandle], proxy: TcpProxy, **overrides: object) -> ServerHandle:
    database = urlsplit(os.environ["PAYSIM_TEST_REDIS_URL"]).path or "/0"
    return make_server(
        redis_url=f"redis://127.0.0.1:{proxy.port}{database}",
        rate_limit_per_minute=100_000,  # every call consults Redis; none is over the limit
        redis_retry_seconds=2.0,  # try Redis again soon, so that recovery is quick to see
        **overrides,
    )


def merchant_once_redis_answers(server: ServerHandle, caplog: pytest.LogCaptureFixture) -> Stubs:
    """A merchant's API key, registered once the limiter's first round trip to Redis (a new
    connection, through the proxy) came back within its timeout: on a loaded machine the first
    one may not, and a limiter that fails closed then refuses the registration. What was logged
    meanwhile is cleared: the tests count the lines of the outage they cause."""
    accounts: list[Stubs] = []

    def registered() -> bool:
        try:
            accounts.append(server.stubs().as_(register_merchant(server.stubs()).api_key))
        except grpc.RpcError as error:
            if rich_error(error).reason != "RATE_LIMITER_UNAVAILABLE":
                raise
            return False
        return True

    wait_for(registered)
    caplog.clear()
    return accounts[0]


def get_merchant(api: Stubs) -> None:
    api.merchants.GetMerchant(merchant_pb2.GetMerchantRequest(), timeout=3)


def timed(call: Callable[[], object]) -> float:
    started = time.monotonic()
    with contextlib.suppress(grpc.RpcError):
        call()
    return time.monotonic() - started


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.05)


def redis_log(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def assert_cheap_after_the_first_failures(durations: list[float]) -> None:
    # The first calls wait out Redis's timeout (a quarter of a second by default) until the
    # breaker opens; after that a call does not wait for Redis at all (the typical call is far
    # below the timeout). The bounds leave room for a busy machine: a call to a hung Redis
    # without a timeout took 5 s.
    assert sum(durations[:5]) < 2.5, durations
    later = sorted(durations[5:])
    assert later[len(later) // 2] < 0.1, durations
    assert sum(later) < 2.5, durations


def test_a_hung_redis_costs_little_and_fails_open_by_default(
    make_server: Callable[..., ServerHandle], proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    server = proxied_server(make_server, proxy)
    api = merchant_once_redis_answers(server, caplog)
    get_merchant(api)  # Redis answers
    proxy.freeze()
    durations = [timed(lambda: get_merchant(api)) for _ in range(30)]
    assert_cheap_after_the_first_failures(durations)
    get_merchant(api)  # served: the limiter fails open
    # One line says Redis is unavailable (and what that means for the limits), not one per call.
    [unavailable] = redis_log(caplog, logging.WARNING)
    assert "not enforced" in unavailable
    proxy.thaw()
    wait_for(lambda: get_merchant(api) is None and len(redis_log(caplog, logging.INFO)) == 1)
    assert len(redis_log(caplog, logging.WARNING)) == 1


def test_the_limiter_can_fail_closed(
    make_server: Callable[..., ServerHandle], proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    server = proxied_server(make_server, proxy, rate_limit_failure_mode="closed")
    api = merchant_once_redis_answers(server, caplog)
    get_merchant(api)
    proxy.freeze()
    durations = [timed(lambda: get_merchant(api)) for _ in range(30)]
    assert_cheap_after_the_first_failures(durations)
    err = expect_error(get_merchant, api)
    assert err.code == grpc.StatusCode.UNAVAILABLE
    assert err.reason == "RATE_LIMITER_UNAVAILABLE"
    assert err.retry_delay_seconds is not None and 0 < err.retry_delay_seconds <= 2.0
    [unavailable] = redis_log(caplog, logging.WARNING)
    assert "refused" in unavailable
    proxy.thaw()

    def served() -> bool:
        try:
            get_merchant(api)
        except grpc.RpcError:
            return False
        return True

    wait_for(served)
    assert len(redis_log(caplog, logging.INFO)) == 1
