"""Metrics and tracing switches: off by default (every hook a no-op), what turns each on, and the
refusals of what cannot be served."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from paysim.cli import build_parser, settings_for
from paysim.config import Settings
from paysim.observability import metrics, tracing
from tests.unit.test_event_horizon import FakeFeed, FakeLog, event, subscription


def test_both_are_off_by_default() -> None:
    assert Settings.from_env({}).metrics_listen == ""
    assert not metrics.enabled() and not tracing.enabled()
    assert tracing.configure_from_env({}) is False
    assert tracing.configure_from_env({"OTEL_TRACES_EXPORTER": "none"}) is False
    assert tracing.configure_from_env({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}) is False
    assert not tracing.enabled()


def test_while_off_every_hook_is_a_no_op() -> None:
    metrics.rpc_started("/m")
    metrics.rpc_finished("/m", "OK", 0.1)
    metrics.gateway_attempt("g", "approved")
    metrics.idempotency_replay()
    assert tracing.start_server_span("/m", None) is None  # type: ignore[arg-type]
    assert tracing.end_server_span(None, "OK") == {}

    async def work() -> int:
        return 7

    coroutine = work()
    assert tracing.traced("gateway call", coroutine, gateway="g") is coroutine  # no wrapper at all
    assert asyncio.run(coroutine) == 7
    factory = object
    assert tracing.traced_units_of_work(factory) is factory
    assert metrics.counted_payment_connections(factory) is factory


def test_the_metrics_flag_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYSIM_METRICS_LISTEN", raising=False)
    args = build_parser().parse_args(["serve", "--metrics", "127.0.0.1:9464"])
    assert settings_for(args).metrics_listen == "127.0.0.1:9464"
    assert Settings.from_env({"PAYSIM_METRICS_LISTEN": "0.0.0.0:9100"}).metrics_listen == "0.0.0.0:9100"


def test_an_unknown_exporter_is_refused_by_name() -> None:
    with pytest.raises(tracing.TracingError, match="OTEL_TRACES_EXPORTER=zipkin"):
        tracing.configure_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert not tracing.enabled()


def test_the_console_exporter_turns_tracing_on() -> None:
    try:
        assert tracing.configure_from_env({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "t"}) is True
        assert tracing.enabled()
    finally:
        tracing.disable()
    assert not tracing.enabled()


@pytest.fixture
def registry() -> Iterator[CollectorRegistry]:
    """Metrics on, in a registry of the test's own, and off again after it."""
    own = CollectorRegistry()
    metrics.enable(own)
    try:
        yield own
    finally:
        metrics.disable()


def test_a_subscriber_that_falls_behind_is_counted_as_dropped(registry: CollectorRegistry) -> None:
    async def scenario() -> None:
        sub = subscription(FakeFeed(0), FakeLog([]), cursor=0, buffer_events=2)
        items = sub.items()
        await items.__anext__()  # the opening heartbeat
        sub.deliver([event(1), event(2), event(3)], 3)

    asyncio.run(scenario())
    assert registry.get_sample_value("paysim_subscriptions_dropped_total") == 1


def test_rpc_hooks_count_by_method_and_code(registry: CollectorRegistry) -> None:
    for code in ("OK", "OK", "NOT_FOUND"):
        metrics.rpc_started("/s/M")
        assert registry.get_sample_value("paysim_rpc_in_flight", {"method": "/s/M"}) == 1
        metrics.rpc_finished("/s/M", code, 0.003)
    assert registry.get_sample_value("paysim_rpc_requests_total", {"method": "/s/M", "code": "OK"}) == 2
    assert registry.get_sample_value("paysim_rpc_requests_total", {"method": "/s/M", "code": "NOT_FOUND"}) == 1
    assert registry.get_sample_value("paysim_rpc_duration_seconds_count", {"method": "/s/M"}) == 3
    assert registry.get_sample_value("paysim_rpc_duration_seconds_bucket", {"method": "/s/M", "le": "0.005"}) == 3
    assert registry.get_sample_value("paysim_rpc_in_flight", {"method": "/s/M"}) == 0
