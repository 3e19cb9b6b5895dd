"""OpenTelemetry traces, with an in-memory exporter: a payment's span tree continues the caller's
trace (the SDK sends its context as ``traceparent``), has the RPC, its database transactions and
its gateway call beneath it, and carries on into the webhook the payment causes, whose request
says ``traceparent`` too; the access log line names the trace."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from paysim_client import Client
from paysim_client.types import CardInput
from paysim_proto.v1 import events_pb2, webhook_pb2

from paysim.observability import tracing
from tests.support import backends
from tests.support.backends import Backend
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.harness import test_settings as settings_for
from tests.support.streams import EventStream
from tests.support.webhook_receiver import WebhookReceiver

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
CREATE = "paysim.v1.PaymentService/CreatePayment"


@pytest.fixture
def traced(backend: Backend, tmp_path: Path) -> Iterator[tuple[ServerHandle, InMemorySpanExporter]]:
    """A server of its own built while tracing is on, every span kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    try:
        with backends.provision(backend.name, tmp_path / "db") as private:
            handle = ServerHandle(settings_for(private, tmp_path / "data", webhook_poll_seconds=0.2))
            try:
                yield handle, exporter
            finally:
                handle.stop()
    finally:
        tracing.disable()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.stop()


def wait_for_span(exporter: InMemorySpanExporter, name: str, trace_id: int, timeout: float = 20.0) -> ReadableSpan:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for span in exporter.get_finished_spans():
            if span.name == name and span.context is not None and span.context.trace_id == trace_id:
                return span
        time.sleep(0.05)
    raise AssertionError(f"no {name} span in trace {trace_id:032x}")


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        names.append(by_id[parent.span_id].name)
        parent = by_id[parent.span_id].parent
    return names


def test_a_payments_span_tree(
    traced: tuple[ServerHandle, InMemorySpanExporter], receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    server, exporter = traced
    merchant = register_merchant(server.stubs())
    server.stubs(merchant.api_key).webhooks.CreateWebhookEndpoint(
        webhook_pb2.CreateWebhookEndpointRequest(url=receiver.url, event_types=["payment.captured"])
    )
    caller = TracerProvider().get_tracer("shop")  # the calling application's own tracing
    with (
        caplog.at_level(logging.INFO, logger="paysim.access"),
        caller.start_as_current_span("checkout") as checkout,
        Client.connect(server.target, api_key=merchant.api_key) as client,
    ):
        client.payments.create(amount_minor=1500, card=VISA)
    trace_id = checkout.get_span_context().trace_id

    rpc = wait_for_span(exporter, CREATE, trace_id)
    assert rpc.kind is SpanKind.SERVER and rpc.parent is not None
    assert rpc.parent.span_id == checkout.get_span_context().span_id  # continued from the SDK's traceparent
    assert rpc.attributes is not None and rpc.attributes["rpc.grpc.status_code"] == "OK"

    delivery = wait_for_span(exporter, "webhook delivery", trace_id)
    spans = [s for s in exporter.get_finished_spans() if s.context is not None and s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    beneath_rpc = [s for s in spans if CREATE in ancestors(s, by_id)]
    assert {"db.transaction", "gateway call", "webhook delivery"} <= {s.name for s in beneath_rpc}
    gateway = next(s for s in beneath_rpc if s.name == "gateway call")
    assert gateway.attributes is not None and gateway.attributes["paysim.gateway"]
    assert delivery.kind is SpanKind.CLIENT

    [received] = receiver.wait_for(lambda got: len(got) >= 1)
    assert delivery.context is not None
    version, trace, parent, _flags = received.headers["traceparent"].split("-")
    assert (version, trace, parent) == ("00", f"{trace_id:032x}", f"{delivery.context.span_id:016x}")

    lines = [getattr(r, "fields", {}) for r in caplog.records if r.name == "paysim.access"]
    created = [f for f in lines if f.get("method") == "/" + CREATE]
    assert created and created[0]["trace_id"] == f"{trace_id:032x}"


def test_no_trace_fields_while_tracing_is_off(server: ServerHandle, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="paysim.access"):
        register_merchant(server.stubs())
    lines = [getattr(r, "fields", {}) for r in caplog.records if r.name == "paysim.access"]
    assert lines and not any("trace_id" in f for f in lines)


def test_an_event_stream_is_one_span_ended_when_the_client_leaves(
    traced: tuple[ServerHandle, InMemorySpanExporter], caplog: pytest.LogCaptureFixture
) -> None:
    server, exporter = traced
    merchant = register_merchant(server.stubs())
    request = events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_NOW)
    with caplog.at_level(logging.WARNING):
        stream = EventStream(server.stubs(merchant.api_key), request)
        stream.next()  # the opening heartbeat: the stream is open
        stream.call.cancel()
        deadline = time.monotonic() + 20
        while not any(s.name.endswith("/SubscribePaymentEvents") for s in exporter.get_finished_spans()):
            assert time.monotonic() < deadline, "the stream's span never ended"
            time.sleep(0.05)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
