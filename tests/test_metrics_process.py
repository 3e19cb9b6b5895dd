"""``paysim serve --metrics HOST:PORT``: a real server process under a small known load through the
SDK, its Prometheus endpoint scraped, the numbers checked against what was done; and with
``--workers 2`` (PostgreSQL) one scrape of the parent adds up both workers."""

from __future__ import annotations

import socket
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from paysim_client import Client, RetryPolicy, SimulationOverride, errors
from paysim_client.errors import NotFound
from paysim_client.types import CardInput
from paysim_proto.v1 import events_pb2, webhook_pb2
from prometheus_client.parser import text_string_to_metric_families

from tests.support import backends
from tests.support.client import Stubs
from tests.support.factories import register_merchant
from tests.support.streams import EventStream
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_serve_process import GRACE_SECONDS, ServerProcess, Target, _target, free_port, paysim_env, run_paysim

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
CREATE = "/paysim.v1.PaymentService/CreatePayment"
GET = "/paysim.v1.PaymentService/GetPayment"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module", params=backends.available())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(request.param, tmp_path_factory.mktemp(f"metrics-{request.param}"))


def scrape(address: str) -> Samples:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples with these labels (others summed over, as PromQL's sum by)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def do_known_load(address: str, webhooks_to: str) -> None:
    """3 approved payments, 1 declined, 1 answered twice for one idempotency key, 1 NOT_FOUND; a
    webhook for each of the four captured."""
    with grpc.insecure_channel(address) as channel:
        merchant = register_merchant(Stubs(channel))
        Stubs(channel, merchant.api_key).webhooks.CreateWebhookEndpoint(
            webhook_pb2.CreateWebhookEndpointRequest(url=webhooks_to, event_types=["payment.captured"])
        )
    with Client.connect(address, api_key=merchant.api_key) as client:
        for _ in range(3):
            client.payments.create(amount_minor=100, card=VISA)
        client.payments.create(amount_minor=100, card=VISA, simulate=SimulationOverride(outcome="decline:do_not_honor"))
        key = uuid.uuid4().hex
        first = client.payments.create(amount_minor=250, card=VISA, idempotency_key=key)
        again = client.payments.create(amount_minor=250, card=VISA, idempotency_key=key)
        assert again.id == first.id
        with pytest.raises(NotFound):
            client.payments.get("pay_" + "0" * 26)


def check_the_load(samples: Samples) -> None:
    assert value(samples, "paysim_rpc_requests_total", method=CREATE, code="OK") == 6
    assert value(samples, "paysim_rpc_requests_total", method=GET, code="NOT_FOUND") == 1
    assert value(samples, "paysim_rpc_duration_seconds_count", method=CREATE) == 6
    assert value(samples, "paysim_rpc_in_flight", method=CREATE) == 0
    # Five payments: four captured (one of them created once, then replayed), one declined.
    assert value(samples, "paysim_payments_total", status="captured") == 4
    assert value(samples, "paysim_payments_total", status="declined") == 1
    assert value(samples, "paysim_gateway_attempts_total") == 5
    assert value(samples, "paysim_gateway_attempts_total", outcome="declined") == 1
    assert value(samples, "paysim_idempotency_replays_total") == 1
    assert value(samples, "paysim_subscriptions_open") == 0
    assert value(samples, "paysim_db_pool_in_use") >= 0


def load_counted(samples: Samples) -> bool:
    """A call is counted once its answer is on its way: the client may see it a moment before."""
    return (
        value(samples, "paysim_rpc_requests_total", method=CREATE, code="OK") >= 6
        and value(samples, "paysim_rpc_requests_total", method=GET, code="NOT_FOUND") >= 1
    )


def scrape_when(address: str, ready: Callable[[Samples], bool], timeout: float = 20.0) -> Samples:
    """Scrape until ``ready`` (webhooks are sent after the calls that cause them)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(address)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


def webhooks_done(delivered: int) -> Callable[[Samples], bool]:
    def done(samples: Samples) -> bool:
        return (
            value(samples, "paysim_webhook_deliveries_total", outcome="delivered") == delivered
            and value(samples, "paysim_webhook_queue_depth") == 0
            and value(samples, "paysim_webhook_attempts_in_flight") == 0
        )

    return done


def check_an_open_stream_is_counted(address: str, metrics_address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        merchant = register_merchant(Stubs(channel))
        request = events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_NOW)
        stream = EventStream(Stubs(channel, merchant.api_key), request)
        opened = scrape_when(metrics_address, lambda s: value(s, "paysim_subscriptions_open") == 1)
        assert value(opened, "paysim_subscriptions_open") == 1
        stream.call.cancel()
    closed = scrape_when(metrics_address, lambda s: value(s, "paysim_subscriptions_open") == 0)
    assert value(closed, "paysim_subscriptions_open") == 0
    assert value(closed, "paysim_subscriptions_dropped_total") == 0


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.stop()


def test_the_scrape_agrees_with_a_known_load(target: Target, tmp_path: Path, receiver: WebhookReceiver) -> None:
    metrics_address = f"127.0.0.1:{free_port()}"
    server = ServerProcess(target, tmp_path, PAYSIM_METRICS_LISTEN=metrics_address)
    try:
        server.wait_serving()
        do_known_load(server.address, receiver.url)
        samples = scrape_when(metrics_address, lambda found: webhooks_done(4)(found) and load_counted(found))
        check_the_load(samples)
        assert webhooks_done(4)(samples)
        assert len(receiver.received) == 4
        check_an_open_stream_is_counted(server.address, metrics_address)
    finally:
        server.stop()


def test_one_scrape_adds_up_every_worker(target: Target, tmp_path: Path, receiver: WebhookReceiver) -> None:
    if target.backend == "sqlite":
        pytest.skip("the embedded SQLite database serves one process")
    metrics_address = f"127.0.0.1:{free_port()}"
    server = ServerProcess(target, tmp_path, PAYSIM_WORKERS="2", PAYSIM_METRICS_LISTEN=metrics_address)
    try:
        server.wait_serving()
        # One connection per round: the kernel spreads them over both workers.
        for _ in range(2):
            do_known_load(server.address, receiver.url)
        samples = scrape_when(
            metrics_address,
            lambda found: (
                webhooks_done(8)(found) and value(found, "paysim_rpc_requests_total", method=CREATE, code="OK") >= 12
            ),
        )
        assert webhooks_done(8)(samples)
        assert value(samples, "paysim_rpc_requests_total", method=CREATE, code="OK") == 12
        assert value(samples, "paysim_payments_total", status="captured") == 8
        assert value(samples, "paysim_idempotency_replays_total") == 2
        assert value(samples, "paysim_rpc_in_flight", method=CREATE) == 0
        # Both workers write beside each other in the directory the parent sums.
        files = list((tmp_path / "prometheus-multiproc").glob("gauge_livesum_*.db"))
        assert len({f.stem.rsplit("_", 1)[1] for f in files}) == 2, files
    finally:
        server.proc.terminate()
        assert server.proc.wait(GRACE_SECONDS + 10) == 0
        server.stop()


def test_a_taken_metrics_port_or_an_unknown_exporter_is_refused_in_a_sentence(target: Target, tmp_path: Path) -> None:
    if target.backend != "sqlite":
        pytest.skip("refused before any database is opened")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        done = run_paysim(
            paysim_env(target, tmp_path), "serve", "--listen", f"127.0.0.1:{free_port()}", "--metrics", busy
        )
    assert done.returncode == 2 and f"paysim: cannot serve metrics on {busy}" in done.stderr, done.stderr
    env = paysim_env(target, tmp_path, OTEL_TRACES_EXPORTER="zipkin")
    done = run_paysim(env, "serve", "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2 and "OTEL_TRACES_EXPORTER=zipkin is not an exporter" in done.stderr, done.stderr


def test_a_gateway_error_and_the_breaker_it_opens(target: Target, tmp_path: Path) -> None:
    if target.backend != "sqlite":
        pytest.skip("the same hooks as on SQLite; one backend is enough")
    metrics_address = f"127.0.0.1:{free_port()}"
    server = ServerProcess(
        target, tmp_path, PAYSIM_METRICS_LISTEN=metrics_address, PAYSIM_BREAKER_FAILURE_THRESHOLD="1"
    )
    try:
        server.wait_serving()
        with grpc.insecure_channel(server.address) as channel:
            merchant = register_merchant(Stubs(channel))
        with Client.connect(server.address, api_key=merchant.api_key) as client:
            client.simulator.script_outcomes("simulator", ["error"])
            with pytest.raises(errors.GatewayUnavailable):
                client.payments.create(amount_minor=100, card=VISA, retry=RetryPolicy.disabled())
            with pytest.raises(errors.CircuitOpen):
                client.payments.create(amount_minor=100, card=VISA, retry=RetryPolicy.disabled())
        samples = scrape(metrics_address)
        assert value(samples, "paysim_gateway_attempts_total", gateway="simulator", outcome="error") == 1
        assert value(samples, "paysim_gateway_attempts_total", gateway="simulator", outcome="circuit_open") == 1
        assert value(samples, "paysim_breaker_state", gateway="simulator") == 2  # open
    finally:
        server.stop()
