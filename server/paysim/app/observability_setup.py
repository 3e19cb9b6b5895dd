"""Turn on what ``--metrics`` and the ``OTEL_*`` variables ask for, in the process that serves.

A single server process builds its metrics and serves the endpoint itself. Under ``--workers N``
the parent prepares the shared directory and serves the endpoint (``start_for_workers``), and
each worker only builds its metrics (``start_in_process(..., worker=True)``).
"""

from __future__ import annotations

from typing import Any

from paysim.config import Settings
from paysim.observability import metrics, tracing


class ObservabilityError(RuntimeError):
    """Metrics or tracing cannot start as configured; the message says why."""


def start_in_process(settings: Settings, *, worker: bool) -> Any:
    """Tracing from the environment, metrics if asked for; the metrics HTTP server, if this
    process serves it (stop it with ``stop``)."""
    try:
        tracing.configure_from_env()
    except tracing.TracingError as error:
        raise ObservabilityError(str(error)) from None
    if not settings.metrics_listen:
        return None
    metrics.enable()
    return None if worker else _serve(settings.metrics_listen, multiprocess=False)


def start_for_workers(settings: Settings) -> Any:
    if not settings.metrics_listen:
        return None
    metrics.prepare_multiprocess(settings.data_dir)
    return _serve(settings.metrics_listen, multiprocess=True)


def _serve(address: str, *, multiprocess: bool) -> Any:
    try:
        return metrics.serve_endpoint(address, multiprocess=multiprocess)
    except (OSError, ValueError) as error:
        raise ObservabilityError(f"cannot serve metrics on {address}: {error}") from None


def stop(endpoint: Any) -> None:
    if endpoint is not None:
        endpoint.shutdown()
        endpoint.server_close()
    tracing.disable()
