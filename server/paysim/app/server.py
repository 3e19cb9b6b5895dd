"""Assemble and run the grpc.aio server: servicers, interceptors, health, reflection, limits."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_proto.v1 import (
    analytics_pb2,
    analytics_pb2_grpc,
    auth_pb2,
    auth_pb2_grpc,
    clock_pb2,
    clock_pb2_grpc,
    customer_pb2,
    customer_pb2_grpc,
    dispute_pb2,
    dispute_pb2_grpc,
    error_reason_pb2,
    events_pb2,
    events_pb2_grpc,
    merchant_pb2,
    merchant_pb2_grpc,
    payment_pb2,
    payment_pb2_grpc,
    simulator_pb2,
    simulator_pb2_grpc,
    threeds_pb2,
    threeds_pb2_grpc,
    webhook_pb2,
    webhook_pb2_grpc,
)

from paysim.api.analytics import AnalyticsServicer
from paysim.api.auth import AuthServicer
from paysim.api.clock import ClockServicer
from paysim.api.customer import CustomerServicer
from paysim.api.dispute import DisputeServicer
from paysim.api.events import EventServicer
from paysim.api.merchant import MerchantServicer
from paysim.api.payment import PaymentServicer
from paysim.api.simulator import SimulatorServicer
from paysim.api.threeds import ThreeDSServicer
from paysim.api.webhook import WebhookServicer
from paysim.app.calls_in_flight import CallsInFlight
from paysim.app.container import App
from paysim.app.health import HealthReporter
from paysim.app.interceptors import Admission, CallInterceptor
from paysim.app.listen_address import ListenError, check_free, endpoints_to_serve
from paysim.app.maintenance import Maintenance
from paysim.app.reflection import ERROR_DETAIL_FILES, V1_SERVICE, V1ALPHA_SERVICE, ReflectionServicer, add_reflection
from paysim.app.service_registration import GenericHandlersOnly
from paysim.app.tls import server_credentials
from paysim.store.probe import database_probe

if TYPE_CHECKING:  # aiohttp is loaded only by a server that serves the dashboard (--http)
    from paysim.web.gateway import WebGateway

log = logging.getLogger("paysim.server")

PAYSIM_SERVICE_DESCRIPTORS = (
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
    merchant_pb2.DESCRIPTOR.services_by_name["MerchantService"],
    customer_pb2.DESCRIPTOR.services_by_name["CustomerService"],
    payment_pb2.DESCRIPTOR.services_by_name["PaymentService"],
    simulator_pb2.DESCRIPTOR.services_by_name["SimulatorService"],
    threeds_pb2.DESCRIPTOR.services_by_name["ThreeDSService"],
    webhook_pb2.DESCRIPTOR.services_by_name["WebhookService"],
    events_pb2.DESCRIPTOR.services_by_name["EventService"],
    analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"],
    clock_pb2.DESCRIPTOR.services_by_name["ClockService"],
    dispute_pb2.DESCRIPTOR.services_by_name["DisputeService"],
)
PAYSIM_SERVICES = tuple(service.full_name for service in PAYSIM_SERVICE_DESCRIPTORS)


def server_options(app: App) -> list[tuple[str, int]]:
    s = app.settings
    return [
        # A second server on a taken port must fail, not silently share it; only the workers of
        # one `serve --workers N` share a port, after the parent checked that it was free.
        ("grpc.so_reuseport", 1 if s.workers > 1 else 0),
        ("grpc.max_receive_message_length", s.max_message_bytes),
        ("grpc.max_send_message_length", s.max_message_bytes),
        ("grpc.max_concurrent_streams", s.max_concurrent_streams),
        # Thousands of event streams may (re)connect at once, e.g. after a restart; past these
        # limits gRPC refuses calls before any handler runs (README, PAYSIM_MAX_PENDING_REQUESTS).
        ("grpc.server.max_pending_requests", s.max_pending_requests),
        ("grpc.server.max_pending_requests_hard_limit", s.max_pending_requests * 2),
        ("grpc.keepalive_time_ms", s.keepalive_time_seconds * 1000),
        ("grpc.keepalive_timeout_ms", s.keepalive_timeout_seconds * 1000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 2),
    ]


class PaysimServer:
    def __init__(self, app: App) -> None:
        self.app = app
        settings = app.settings
        self.tls = server_credentials(settings)  # None: plaintext
        self.health = HealthReporter(
            database_probe(settings.effective_database_url, settings.health_probe_timeout_seconds),
            PAYSIM_SERVICES,
            settings.health_probe_seconds,
        )
        self.calls = CallsInFlight()
        self.maintenance = Maintenance(
            app.accounts,
            app.payments,
            app.settings.maintenance_interval_seconds,
            three_ds=app.three_ds,
            test_clocks=app.test_clocks,
            disputes=app.disputes,
        )
        self._server = grpc.aio.server(
            interceptors=[CallInterceptor(self.calls, Admission(app.authenticator, app.limiter))],
            options=server_options(app),
        )
        services: Any = GenericHandlersOnly(self._server)
        auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(app.accounts), services)
        merchant_pb2_grpc.add_MerchantServiceServicer_to_server(MerchantServicer(app.merchants), services)
        customer_pb2_grpc.add_CustomerServiceServicer_to_server(CustomerServicer(app.customers), services)
        payment_pb2_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(app.payments), services)
        simulator_pb2_grpc.add_SimulatorServiceServicer_to_server(
            SimulatorServicer(app.simulator, app.breakers.config, app.clock), services
        )
        threeds_pb2_grpc.add_ThreeDSServiceServicer_to_server(ThreeDSServicer(app.three_ds, app.payments), services)
        webhook_pb2_grpc.add_WebhookServiceServicer_to_server(WebhookServicer(app.webhooks), services)
        events_pb2_grpc.add_EventServiceServicer_to_server(EventServicer(app.subscriptions), services)
        analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(AnalyticsServicer(app.analytics), services)
        clock_pb2_grpc.add_ClockServiceServicer_to_server(ClockServicer(app.test_clocks), services)
        dispute_pb2_grpc.add_DisputeServiceServicer_to_server(DisputeServicer(app.disputes), services)
        health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, services)
        reflection = ReflectionServicer(
            [
                *PAYSIM_SERVICE_DESCRIPTORS,
                health_pb2.DESCRIPTOR.services_by_name["Health"],
                V1_SERVICE,
                V1ALPHA_SERVICE,
            ],
            # No service refers to the error reasons or the error-detail types: served beside them
            # so that a client can describe paysim.v1.ErrorReason and decode every detail.
            extra_files=(*ERROR_DETAIL_FILES, error_reason_pb2.DESCRIPTOR),
        )
        add_reflection(services, reflection)
        # The browser's gRPC-Web calls, relayed to this same server (README, Dashboard).
        self.web: WebGateway | None = None
        if settings.http_listen:
            from paysim.web.gateway import WebGateway

            self.web = WebGateway(settings, PAYSIM_SERVICE_DESCRIPTORS)
        self.port = 0
        self.addresses: list[str] = []  # every socket address served, e.g. ["[::1]:50051", "127.0.0.1:50051"]

    async def start(self, listen: str | None = None) -> int:
        address = listen or self.app.settings.listen
        port = self._bind(address)
        self.port = port
        if self.web is not None:
            self._server.add_insecure_port(self.web.grpc_address)
        await self.app.subscriptions.start()
        await self._server.start()
        if self.web is not None:
            await self.web.start()
        await self.health.start()
        self.maintenance.start()
        self.app.projector.start()
        if self.app.settings.webhook_dispatch:  # every process writes the outbox either way
            self.app.dispatcher.start()
        fields = {"address": address, "port": port, "addresses": self.addresses, "tls": self.tls is not None}
        log.info("serving", extra={"fields": fields})
        return port

    def _bind(self, address: str) -> int:
        """Bind every address that ``address`` names, each checked free first: all of them, or
        raise ListenError. With port 0, every address gets the port the first one got."""
        reuse_port = self.app.settings.workers > 1  # as in server_options
        port = 0
        for endpoint in endpoints_to_serve(address, reuse_port=reuse_port):
            if port and not endpoint.port:
                endpoint = endpoint.with_port(port)
                check_free(address, endpoint, reuse_port=reuse_port)
            try:
                if self.tls is None:
                    port = self._server.add_insecure_port(str(endpoint))
                else:
                    port = self._server.add_secure_port(str(endpoint), self.tls.credentials())
            except RuntimeError:
                port = 0
            if port == 0:  # taken since the check, or refused for a reason gRPC has logged
                raise ListenError(f"cannot listen on {address} ({endpoint}): the address is in use or not available")
            self.addresses.append(str(endpoint.with_port(port)))
        return port

    async def stop(self, grace: float | None = None) -> None:
        """Health goes NOT_SERVING at once and keeps answering so while the calls in flight get
        ``grace`` seconds to finish; new calls are refused with UNAVAILABLE (reason
        SERVER_SHUTTING_DOWN) and event streams end at once with it (resume from your cursor).

        When this returns no work of the server's is left running: the database can be closed."""
        grace = self.app.settings.grace_seconds if grace is None else grace
        await self.health.shutdown()
        self.calls.refuse_new()
        self.app.subscriptions.shutdown()
        # Side by side with the drain: a housekeeping task cancelled while it waits for the
        # database (SQLite's write lock) ends only once that wait is over, and must not eat into
        # the calls' grace period.
        background = asyncio.gather(
            self.maintenance.stop(), self.app.dispatcher.stop(), self.app.projector.stop(), self.app.test_clocks.stop()
        )
        # gRPC's own stop refuses every new call at once, health checks included: it comes only
        # once the drain is over, so that probes see NOT_SERVING rather than a refused call.
        drained = await self.calls.wait_idle(grace)
        if drained:
            await self.calls.settle()
        if self.web is not None:
            await self.web.stop()
        await self._server.stop(0)
        if not drained:
            # gRPC cancelled the calls that outlived the grace period, but a unary call's work goes
            # on until it is done (bounded by the database's and the gateways' own time limits):
            # the transaction it is in must end before the database is closed.
            log.warning("calls still in flight after the grace period", extra={"fields": {"calls": self.calls.count}})
            if not await self.calls.wait_idle(grace):
                await self.calls.cancel_all()
        await background
        await self.health.close()
        log.info("stopped")

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()


async def serve_until_signalled(server: PaysimServer, *, parent_lifeline: int | None = None) -> None:
    """Serve until SIGTERM or SIGINT, or until ``parent_lifeline`` (a pipe whose other end only
    the parent process holds) reaches end-of-file, then shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if server.tls is not None:
        loop.add_signal_handler(signal.SIGHUP, server.tls.reload)
    if parent_lifeline is not None:
        lifeline = parent_lifeline

        def parent_gone() -> None:
            loop.remove_reader(lifeline)
            log.warning("the parent process is gone; shutting down")
            stop.set()

        loop.add_reader(lifeline, parent_gone)  # readable only at end-of-file: the parent never writes
    await server.start()
    await stop.wait()
    log.info("shutdown requested")
    await server.stop()
