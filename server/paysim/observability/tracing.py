"""OpenTelemetry traces: a span per RPC (continuing a caller's W3C ``traceparent``), per database
transaction, per gateway call and per webhook delivery, whose ``traceparent`` header carries the
trace on to the receiver.

Off by default. ``configure_from_env()`` turns it on when ``OTEL_TRACES_EXPORTER`` names an
exporter (``otlp`` or ``console``); the other
standard ``OTEL_*`` variables (service name, resource attributes, sampler, the exporter's endpoint)
apply as the OpenTelemetry SDK reads them. While off every hook is one global read.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    import grpc
    from opentelemetry.context import Context as OtelContext
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

T = TypeVar("T")

EXPORTER_ENV = "OTEL_TRACES_EXPORTER"
DEFAULT_SERVICE_NAME = "paysim"
# Where a webhook delivery finds the trace of the call that caused it: by event id, bounded, in
# the process that wrote the event (another worker's delivery starts a trace of its own).
ORIGINS_KEPT = 10_000


class TracingError(RuntimeError):
    """The OTEL_* variables ask for something this installation cannot do."""


_tracer: Tracer | None = None
_provider: TracerProvider | None = None
_origins: OrderedDict[str, OtelContext] = OrderedDict()


def enabled() -> bool:
    return _tracer is not None


def enable(provider: TracerProvider) -> None:
    """Trace through ``provider`` from now on (tests pass one with an in-memory exporter)."""
    global _tracer, _provider
    _tracer = provider.get_tracer("paysim")
    _provider = provider


def disable() -> None:
    """Stop tracing, first exporting the spans still buffered."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None
    _origins.clear()


def configure_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on if the environment names an exporter; True if it did."""
    env = os.environ if env is None else env
    names = [n.strip() for n in env.get(EXPORTER_ENV, "none").split(",") if n.strip() not in ("", "none")]
    if not names or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    enable(provider)
    return True


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        # Configured by OTEL_EXPORTER_OTLP_ENDPOINT (default localhost:4317) and its siblings.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise TracingError(f"{EXPORTER_ENV}={name} is not an exporter paysim knows (console or otlp)")


def start_server_span(method: str, context: grpc.aio.ServicerContext[Any, Any]) -> tuple[Span, object] | None:
    """The RPC's span, made current, continuing the caller's ``traceparent`` if it sent one;
    None while tracing is off. End it with ``end_server_span``."""
    if _tracer is None:
        return None
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace

    carrier = {key: value for key, value in (context.invocation_metadata() or ()) if isinstance(value, str)}
    span = _tracer.start_span(
        method.lstrip("/"),
        context=propagate.extract(carrier),
        kind=trace.SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.method": method},
    )
    token = otel_context.attach(trace.set_span_in_context(span))
    return span, token


def end_server_span(started: tuple[Span, object] | None, code: str) -> dict[str, str]:
    """End the RPC's span with its status code; the access log's trace fields (none while off)."""
    if started is None:
        return {}
    from opentelemetry import context as otel_context
    from opentelemetry.trace import Status, StatusCode

    span, token = started
    span.set_attribute("rpc.grpc.status_code", code)
    if code not in ("OK", "NOT_FOUND", "ALREADY_EXISTS", "FAILED_PRECONDITION", "INVALID_ARGUMENT"):
        span.set_status(Status(StatusCode.ERROR, code))
    span.end()
    otel_context.detach(cast(Any, token))
    span_context = span.get_span_context()
    return {"trace_id": f"{span_context.trace_id:032x}", "span_id": f"{span_context.span_id:016x}"}


def traced(name: str, work: Awaitable[T], **attributes: str) -> Awaitable[T]:
    """``work`` in a span of its own, a child of the current one, with ``attributes`` named
    ``paysim.<name>``; ``work`` itself while off."""
    if _tracer is None:
        return work
    return _in_span(_tracer, name, work, {f"paysim.{key}": value for key, value in attributes.items()})


async def _in_span(tracer: Tracer, name: str, work: Awaitable[T], attributes: dict[str, str]) -> T:
    with tracer.start_as_current_span(name, attributes=attributes):
        return await work


def remember_origin(event_ids: Iterable[str]) -> None:
    """The events just written belong to the current trace: their webhook deliveries continue it."""
    if _tracer is None:
        return
    from opentelemetry import context as otel_context

    current = otel_context.get_current()
    for event_id in event_ids:
        _origins[event_id] = current
    while len(_origins) > ORIGINS_KEPT:
        _origins.popitem(last=False)


async def traced_delivery(event_id: str, headers: dict[str, str], send: Any, url: str, body: bytes) -> Any:
    """Send a webhook in a span that continues the trace of the call that caused the event, with
    that span's ``traceparent`` in the request's headers; a plain send while off."""
    if _tracer is None:
        return await send(url, body, headers)
    from opentelemetry import propagate, trace

    with _tracer.start_as_current_span(
        "webhook delivery",
        context=_origins.get(event_id),
        kind=trace.SpanKind.CLIENT,
        attributes={"paysim.event_id": event_id},
    ) as span:
        carried = dict(headers)
        propagate.inject(carried)
        result = await send(url, body, carried)
        span.set_attribute("http.response.status_code", getattr(result, "http_status", 0))
        return result


class _TracedTransaction:
    """A unit of work in a ``db.transaction`` span: the span covers ``async with`` to its end."""

    def __init__(self, tracer: Tracer, inner: Any) -> None:
        self._tracer = tracer
        self._inner = inner
        self._span: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> Any:
        self._span = self._tracer.start_as_current_span("db.transaction", end_on_exit=True)
        self._span.__enter__()
        try:
            return await self._inner.__aenter__()
        except BaseException as error:
            self._span.__exit__(type(error), error, error.__traceback__)
            raise

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._inner.__aexit__(*exc)
        finally:
            self._span.__exit__(*exc)


def traced_units_of_work(factory: T) -> T:
    """``factory`` (of units of work) whose transactions are spans; ``factory`` itself while off."""
    tracer = _tracer
    if tracer is None:
        return factory

    def make() -> Any:
        return _TracedTransaction(tracer, cast(Any, factory)())

    return cast(T, make)
