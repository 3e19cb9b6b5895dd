"""Prometheus metrics: what the services count, and the HTTP endpoint a scraper reads.

Off by default: every hook below is then one global read and a return, so the hot path pays
nothing measurable. ``enable()`` builds the metrics once per process. Under ``serve --workers N``
each worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multi-process mode, chosen by that variable before the first metric exists) and the parent
process serves the endpoint, summing the workers' files, so one scrape shows them all.

The labels are bounded: method names, status codes, gateway names, outcomes.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

T = TypeVar("T")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROC_SUBDIR = "prometheus-multiproc"

# What a breaker's gauge holds: the state as a number a dashboard can threshold.
BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


@dataclass(frozen=True, slots=True)
class _Metrics:
    rpc_requests: Counter
    rpc_duration: Histogram
    rpc_in_flight: Gauge
    payments: Counter
    gateway_attempts: Counter
    breaker_state: Gauge
    webhook_deliveries: Counter
    webhook_in_flight: Gauge
    webhook_queue_depth: Gauge
    subscriptions_open: Gauge
    subscriptions_dropped: Counter
    db_pool_in_use: Gauge
    idempotency_replays: Counter


_metrics: _Metrics | None = None


def enabled() -> bool:
    return _metrics is not None


def enable(registry: CollectorRegistry | None = None) -> None:
    """Build this process's metrics (once), in ``registry`` (prometheus-client's default one
    unless a test passes its own). In a worker, ``PROMETHEUS_MULTIPROC_DIR`` is already set by
    the parent, so the values go to the shared files."""
    global _metrics
    if _metrics is not None:
        return
    from prometheus_client import REGISTRY, Counter, Gauge, Histogram

    registry = REGISTRY if registry is None else registry
    counter, gauge = partial(Counter, registry=registry), partial(Gauge, registry=registry)
    histogram = partial(Histogram, registry=registry)

    _metrics = _Metrics(
        rpc_requests=counter("paysim_rpc_requests", "gRPC calls finished, by method and code", ["method", "code"]),
        rpc_duration=histogram(
            "paysim_rpc_duration_seconds",
            "gRPC call latency, by method",
            ["method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        ),
        rpc_in_flight=gauge("paysim_rpc_in_flight", "gRPC calls being served", ["method"], multiprocess_mode="livesum"),
        payments=counter("paysim_payments", "payments that reached a status (new or changed)", ["status"]),
        gateway_attempts=counter("paysim_gateway_attempts", "calls to a gateway, by outcome", ["gateway", "outcome"]),
        breaker_state=gauge(
            "paysim_breaker_state",
            "a gateway's circuit breaker as last seen: 0 closed, 1 half-open, 2 open",
            ["gateway"],
            multiprocess_mode="livemax",
        ),
        webhook_deliveries=counter("paysim_webhook_deliveries", "webhook attempts, by outcome", ["outcome"]),
        webhook_in_flight=gauge(
            "paysim_webhook_attempts_in_flight", "webhook attempts being made", multiprocess_mode="livesum"
        ),
        # Every worker counts the same shared outbox: the largest recent count, not their sum.
        webhook_queue_depth=gauge(
            "paysim_webhook_queue_depth", "webhook deliveries still to be made", multiprocess_mode="livemax"
        ),
        subscriptions_open=gauge("paysim_subscriptions_open", "open event streams", multiprocess_mode="livesum"),
        subscriptions_dropped=counter("paysim_subscriptions_dropped", "event streams ended for falling behind"),
        db_pool_in_use=gauge(
            "paysim_db_pool_in_use",
            "database connections checked out, by pool (main, payments)",
            ["pool"],
            multiprocess_mode="livesum",
        ),
        idempotency_replays=counter("paysim_idempotency_replays", "calls answered from a stored idempotent result"),
    )


# Every call touches these: the labelled children, looked up once per method (and code) rather
# than through prometheus-client's locked lookup on each call.
_in_flight_by_method: dict[str, Any] = {}
_duration_by_method: dict[str, Any] = {}
_requests_by_method_code: dict[tuple[str, str], Any] = {}


def disable() -> None:
    """Stop counting (tests; the metrics stay in the registry they were built in)."""
    global _metrics
    _metrics = None
    _in_flight_by_method.clear()
    _duration_by_method.clear()
    _requests_by_method_code.clear()


def rpc_started(method: str) -> None:
    if _metrics is None:
        return
    child = _in_flight_by_method.get(method)
    if child is None:
        child = _in_flight_by_method[method] = _metrics.rpc_in_flight.labels(method)
    child.inc()


def rpc_finished(method: str, code: str, seconds: float) -> None:
    if _metrics is None:
        return
    _in_flight_by_method[method].dec()
    requests = _requests_by_method_code.get((method, code))
    if requests is None:
        requests = _requests_by_method_code[(method, code)] = _metrics.rpc_requests.labels(method, code)
    requests.inc()
    duration = _duration_by_method.get(method)
    if duration is None:
        duration = _duration_by_method[method] = _metrics.rpc_duration.labels(method)
    duration.observe(seconds)


def statuses_reached(so_far: tuple[str, ...], before: Any, after: Any) -> tuple[str, ...]:
    """A payment written in a transaction: ``so_far`` plus its status if it is new or changed,
    to be counted by ``count_payments`` once the transaction commits (a rolled back one is not)."""
    if _metrics is None or (before is not None and before.status is after.status):
        return so_far
    return (*so_far, after.status.value)


def count_payments(payments: Any) -> None:
    """After a commit: count the statuses its payment store's payments reached (``statuses_reached``)."""
    if _metrics is None or not payments.statuses_reached:
        return
    for status in payments.statuses_reached:
        _metrics.payments.labels(status).inc()
    payments.statuses_reached = ()


def gateway_attempt(gateway: str, outcome: str) -> None:
    if _metrics is not None:
        _metrics.gateway_attempts.labels(gateway, outcome).inc()


def breaker_state(gateway: str, state: str) -> None:
    if _metrics is not None:
        _metrics.breaker_state.labels(gateway).set(BREAKER_VALUES.get(state, -1.0))


def webhook_attempt_started() -> None:
    if _metrics is not None:
        _metrics.webhook_in_flight.inc()


def webhook_queue_depth(pending: int) -> None:
    if _metrics is not None:
        _metrics.webhook_queue_depth.set(pending)


def webhook_attempt_ended() -> None:
    if _metrics is not None:
        _metrics.webhook_in_flight.dec()


def webhook_attempt_recorded(state: str) -> None:
    """An attempt's outcome: ``delivered``, ``retry`` (to be made again), ``dead`` (given up) or
    ``superseded`` (another process recorded it first)."""
    if _metrics is not None:
        _metrics.webhook_deliveries.labels("retry" if state == "pending" else state).inc()


def subscription_opened() -> None:
    if _metrics is not None:
        _metrics.subscriptions_open.inc()


def subscription_closed() -> None:
    if _metrics is not None:
        _metrics.subscriptions_open.dec()


def subscriber_dropped() -> None:
    if _metrics is not None:
        _metrics.subscriptions_dropped.inc()


def watch_engine_pool(engine: Any) -> None:
    """Count the connections a SQLAlchemy engine has checked out (the ``main`` pool)."""
    if _metrics is None:
        return
    from sqlalchemy import event

    gauge = _metrics.db_pool_in_use.labels("main")
    event.listen(engine.sync_engine.pool, "checkout", lambda *_: gauge.inc())
    event.listen(engine.sync_engine.pool, "checkin", lambda *_: gauge.dec())


class _CountedConnection:
    """A payment unit of work holds one connection of the ``payments`` pool from enter to exit."""

    def __init__(self, inner: Any, gauge: Any) -> None:
        self._inner = inner
        self._gauge = gauge

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Any:
        entered = await self._inner.__aenter__()
        self._gauge.inc()
        return entered

    async def __aexit__(self, *exc: Any) -> Any:
        self._gauge.dec()
        return await self._inner.__aexit__(*exc)


def counted_payment_connections(factory: T) -> T:
    """``factory`` (of the payment units of work) counted in the ``payments`` pool's gauge;
    ``factory`` itself while metrics are off."""
    if _metrics is None:
        return factory
    gauge = _metrics.db_pool_in_use.labels("payments")

    def make() -> Any:
        return _CountedConnection(cast(Any, factory)(), gauge)

    return cast(T, make)


def idempotency_replay() -> None:
    if _metrics is not None:
        _metrics.idempotency_replays.inc()


def prepare_multiprocess(data_dir: Path) -> Path:
    """For ``serve --workers N`` in the parent, before any worker starts: an empty directory for
    the workers' files (left over ones would add a dead run's counts), named in the environment
    the workers inherit."""
    directory = (data_dir / MULTIPROC_SUBDIR).resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def worker_exited(pid: int | None) -> None:
    """Drop a dead worker's live gauges (in-flight calls, open streams) from the sums."""
    if pid is not None and os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def serve_endpoint(address: str, *, multiprocess: bool) -> Any:
    """Serve ``/metrics`` on ``HOST:PORT`` in a background thread; returns the HTTP server (its
    ``server_port`` is the port, useful with port 0). With ``multiprocess``, this process serves
    the sum of the workers' files instead of its own values."""
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client import multiprocess as mp

    host, _, port = address.rpartition(":")
    registry = REGISTRY
    if multiprocess:
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    server, _thread = start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry)
    return server
