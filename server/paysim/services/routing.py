"""Routing a merchant's gateway calls: priority order, circuit breakers, faults, timeouts, failover.

An authorization goes to the merchant's highest-priority enabled gateway that takes the payment
method and whose breaker admits the call; a gateway error, a timeout or an open breaker moves it to
the next one. A decline is an answer, not a failure: it never fails over. Every attempt, skipped ones
included, is returned so the payment can record it. Capture, void and refund go to the gateway that
authorized the payment (the authorization lives there), through the same breaker, faults and timeout.

Breaker statistics count gateway errors and timeouts as failures; approvals and declines as
successes; a refusal before processing (a method or reference the gateway does not take) as neither.

On one call an outage acts first, then a script's next step, then the merchant's chaos profile
(domain/chaos.py): its draw's error, timeout and decline are made here like an outage's or a
script's, so they trip breakers and fail over the same way; its latency is waited after the route's
``latency_ms``, and a total at or past the route's timeout is a timeout. A call the profile drew for
records the simulated latency (the route's plus the draw's), not the clock's, so that two runs of
one seed record the same numbers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from paysim.domain import circuit_breaker as cb
from paysim.domain.chaos import ChaosDraw, ChaosKind
from paysim.domain.errors import DomainError
from paysim.domain.gateway_faults import GatewayFaults, Injection, StepKind
from paysim.domain.overrides import Forced, Override
from paysim.domain.payment_methods import MethodType
from paysim.gateways.base import (
    METHOD_NOT_SUPPORTED,
    UNKNOWN_REFERENCE,
    AuthorizationRequest,
    Gateway,
    GatewayResult,
    Outcome,
)
from paysim.observability import metrics, tracing
from paysim.services.chaos import ChaosService
from paysim.services.circuit_breakers import Admission, CircuitBreakers
from paysim.services.clock import Clock
from paysim.services.gateway_faults import GatewayFaultService
from paysim.store.repositories.circuit_breakers import StoredBreaker
from paysim.store.repositories.routing_state import RoutingState
from paysim.store.unit_of_work import UnitOfWorkFactory

DEFAULT_TIMEOUT_MS = 10_000
CIRCUIT_OPEN = "circuit_open"
TIMEOUT = "timeout"
# Real time a gateway gets to answer after a drawn latency, however little of the timeout is left.
_CHAOS_ANSWER_FLOOR_MS = 1000
# Outcome of an attempt that was never made (its breaker was open).
SKIPPED = "skipped"
_NOT_FAILURES = frozenset({METHOD_NOT_SUPPORTED, UNKNOWN_REFERENCE})


@dataclass(frozen=True, slots=True)
class Route:
    gateway: str
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    latency_ms: int = 0


class RouteSource(Protocol):
    async def routes(self, merchant_id: str) -> list[Route]:
        """The merchant's enabled gateways in the order to try them."""


@dataclass(frozen=True, slots=True)
class Call:
    """One attempt at one gateway: its result (ERROR for a timeout or a skip) and when it ended."""

    gateway: str
    result: GatewayResult
    at: datetime
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class Routed:
    """The result of routing one operation. ``result`` is the deciding answer (an approval or a
    decline; for capture/void/refund also an error) or None when no gateway gave one."""

    calls: tuple[Call, ...]
    result: GatewayResult | None
    gateway: str
    retry_after_seconds: float = 1.0

    @property
    def failed(self) -> bool:
        return self.result is None or self.result.outcome is Outcome.ERROR


def _is_failure(result: GatewayResult) -> bool:
    return result.outcome is Outcome.ERROR and result.error_reason not in _NOT_FAILURES


class GatewayRouter:
    def __init__(
        self,
        gateways: Mapping[str, Gateway],
        breakers: CircuitBreakers,
        faults: GatewayFaultService,
        routes: RouteSource,
        uow: UnitOfWorkFactory,
        clock: Clock,
        chaos: ChaosService | None = None,
    ) -> None:
        self.gateways = dict(gateways)
        self._chaos = chaos
        self._uow = uow
        self._breakers = breakers
        self._faults = faults
        self._routes = routes
        self._clock = clock

    async def flush_statistics(self) -> None:
        await self._breakers.flush()

    async def routes(self, merchant_id: str) -> list[Route]:
        return [r for r in await self._routes.routes(merchant_id) if r.gateway in self.gateways]

    async def _routing_state(
        self, merchant_id: str, known: RoutingState | None
    ) -> tuple[dict[str, StoredBreaker], dict[str, list[GatewayFaults]], frozenset[str]]:
        """The merchant's breakers, the faults in force and its chaos gateways: ``known`` when the
        caller read them in its own transaction, else read here."""
        if known is None:
            async with self._uow() as uow:
                known = await uow.routing.load(merchant_id)
        return known.breakers, self._faults.by_gateway(known.faults), known.chaos

    def _takes(self, gateway: str, method: MethodType) -> bool:
        found = self.gateways.get(gateway)
        return found is not None and found.supports(method)

    async def takes(self, merchant_id: str, method: MethodType) -> bool:
        """Whether any of the merchant's enabled gateways takes ``method``."""
        return any(self._takes(r.gateway, method) for r in await self.routes(merchant_id))

    async def answers_at_once(self, merchant_id: str, request: AuthorizationRequest, known: RoutingState) -> bool:
        """Whether authorizing ``request`` is only this process's own work, done at once: no
        latency configured on a route or a gateway or asked in the request, and no outage, script
        or chaos in force on any gateway it may try (``known``: the merchant's routing state)."""
        if request.override is not None and request.override.latency_ms:
            return False
        routes = [r for r in await self.routes(merchant_id) if self._takes(r.gateway, request.method_type)]
        return self._at_once(routes, known)

    async def operates_at_once(self, merchant_id: str, gateway_name: str, known: RoutingState) -> bool:
        """``answers_at_once`` for a capture, void or refund at ``gateway_name``."""
        route = next((r for r in await self._routes.routes(merchant_id) if r.gateway == gateway_name), None)
        return gateway_name in self.gateways and self._at_once([route or Route(gateway_name)], known)

    def _at_once(self, routes: Sequence[Route], known: RoutingState) -> bool:
        faults = self._faults.by_gateway(known.faults)
        for route in routes:
            waits = route.latency_ms or _own_latency_ms(self.gateways[route.gateway], None)
            if waits or faults.get(route.gateway) or route.gateway in known.chaos:
                return False
        return True

    async def authorize(
        self,
        merchant_id: str,
        request: AuthorizationRequest,
        known: RoutingState | None = None,
    ) -> Routed:
        """Try the merchant's gateways that take the request's payment method, in order, until one
        answers (approves or declines)."""
        routes = [r for r in await self.routes(merchant_id) if self._takes(r.gateway, request.method_type)]
        breakers, faults, chaos = await self._routing_state(merchant_id, known)
        calls: list[Call] = []
        retry_after: float | None = None
        for route in routes:

            def call(override: Override | None, gateway: Gateway) -> Awaitable[GatewayResult]:
                return gateway.authorize(replace(request, override=override or request.override))

            admission = await self._breakers.admit_stored(merchant_id, route.gateway, breakers.get(route.gateway))
            layers = faults.get(route.gateway, ())
            chaotic = route.gateway in chaos
            attempt = await self._attempt(merchant_id, route, admission, layers, chaotic, call, request.override)
            calls.append(attempt)
            if attempt.skipped:
                retry_after = _soonest(retry_after, await self._reopens_in(merchant_id, route.gateway))
            elif attempt.result.outcome is not Outcome.ERROR:
                return Routed(tuple(calls), attempt.result, route.gateway)
        return Routed(tuple(calls), None, "", retry_after if retry_after is not None else 1.0)

    async def call(
        self,
        merchant_id: str,
        gateway_name: str,
        operation: Callable[[Gateway], Awaitable[GatewayResult]],
        known: RoutingState | None = None,
    ) -> Routed:
        """Capture, void or refund at the gateway that holds the authorization."""
        route = next((r for r in await self._routes.routes(merchant_id) if r.gateway == gateway_name), None)
        route = route or Route(gateway_name)
        breakers, faults, chaos = await self._routing_state(merchant_id, known)

        async def scripted(override: Override | None, gateway: Gateway) -> GatewayResult:
            if override is not None and override.outcome is Forced.DECLINE:
                return GatewayResult(Outcome.DECLINED, decline_code=override.decline_code, message="scripted decline")
            return await operation(gateway)

        admission = await self._breakers.admit_stored(merchant_id, gateway_name, breakers.get(gateway_name))
        layers = faults.get(gateway_name, ())
        attempt = await self._attempt(merchant_id, route, admission, layers, gateway_name in chaos, scripted, None)
        if attempt.skipped:
            wait = await self._reopens_in(merchant_id, gateway_name)
            return Routed((attempt,), None, gateway_name, wait)
        return Routed((attempt,), attempt.result, gateway_name)

    async def status(self, downstream_key: str, gateway_name: str = "") -> tuple[str, GatewayResult | None]:
        """What became of an earlier call: asked of ``gateway_name`` when known, otherwise of every
        gateway (a downstream key is unique to one payment, so at most one knows it); ("", None)
        when none does."""
        names = [gateway_name] if gateway_name else list(self.gateways)
        for name in names:
            gateway = self.gateways.get(name)
            if gateway is None:
                continue
            found = await gateway.status(downstream_key)
            if found is not None:
                return name, found
        return "", None

    async def _attempt(
        self,
        merchant_id: str,
        route: Route,
        admission: Admission,
        faults: Sequence[GatewayFaults],
        chaotic: bool,
        call: Callable[[Override | None, Gateway], Awaitable[GatewayResult]],
        override: Override | None,
    ) -> Call:
        if not admission.allowed:
            result = GatewayResult(Outcome.ERROR, message=f"{CIRCUIT_OPEN}: the {route.gateway} breaker is open")
            metrics.gateway_attempt(route.gateway, "circuit_open")
            return Call(route.gateway, result, self._clock(), skipped=True)
        injection = await self._faults.injection(faults) if faults else None
        drawn = None
        if injection is None and chaotic and self._chaos is not None:
            drawn = await self._chaos.take(merchant_id, route.gateway)
        invoked = (
            self._invoke(route, injection, call, override)
            if drawn is None
            else self._chaotic(route, drawn, call, _own_latency_ms(self.gateways[route.gateway], override))
        )
        result = await tracing.traced("gateway call", invoked, gateway=route.gateway)
        metrics.gateway_attempt(route.gateway, _attempt_outcome(result))
        await self._breakers.record_call(
            merchant_id, route.gateway, admission, not _is_failure(result), result.message[:200]
        )
        return Call(route.gateway, result, self._clock())

    async def _invoke(
        self,
        route: Route,
        injection: Injection | None,
        call: Callable[[Override | None, Gateway], Awaitable[GatewayResult]],
        override: Override | None,
    ) -> GatewayResult:
        gateway = self.gateways[route.gateway]
        started = time.perf_counter()
        try:
            async with asyncio.timeout(route.timeout_ms / 1000):
                if route.latency_ms:
                    await asyncio.sleep(route.latency_ms / 1000)
                result = await self._injected(gateway, injection, call, override)
        except TimeoutError:
            result = GatewayResult(Outcome.ERROR, message=f"{TIMEOUT}: no answer within {route.timeout_ms} ms")
        except DomainError:
            raise
        except Exception as error:  # a gateway that blows up is an error outcome, recorded like one
            result = GatewayResult(Outcome.ERROR, message=f"gateway_error: {type(error).__name__}")
        # The gateway times only itself; the attempt's latency also holds the route's.
        measured = int((time.perf_counter() - started) * 1000)
        return replace(result, latency_ms=max(result.latency_ms, measured), simulated_by=_source(injection))

    async def _chaotic(
        self,
        route: Route,
        drawn: ChaosDraw,
        call: Callable[[Override | None, Gateway], Awaitable[GatewayResult]],
        own_latency_ms: int,
    ) -> GatewayResult:
        """A call a chaos profile drew for: what the draw says, after its latency. Whether it
        times out is decided on simulated time (the route's, the draw's and the gateway's own
        configured latency), never on how fast this machine happens to be."""
        waited = route.latency_ms + drawn.latency_ms
        timed_out = GatewayResult(Outcome.ERROR, message=f"{TIMEOUT}: no answer within {route.timeout_ms} ms")
        if drawn.kind is not ChaosKind.TIMEOUT and waited < route.timeout_ms <= waited + own_latency_ms:
            # The gateway itself is slower than what is left (paysim-latency-ms, its latency setting):
            # a timeout, though not by the profile's doing.
            await asyncio.sleep(route.timeout_ms / 1000)
            return replace(timed_out, latency_ms=route.timeout_ms, simulated_by=drawn.source, chaos=False)
        if drawn.kind is ChaosKind.TIMEOUT or waited >= route.timeout_ms:
            drawn = replace(drawn, kind=ChaosKind.TIMEOUT)
            await asyncio.sleep(route.timeout_ms / 1000)
            result, waited = timed_out, route.timeout_ms
        else:
            await asyncio.sleep(waited / 1000)
            try:
                # A guard against a gateway that hangs, not the timeout itself (decided above): at
                # least a second of real time, since on a loaded machine an in-process answer can
                # take longer than the few milliseconds left, and a replay must not differ.
                remaining_ms = max(route.timeout_ms - waited, _CHAOS_ANSWER_FLOOR_MS)
                async with asyncio.timeout(remaining_ms / 1000):
                    result = await self._drawn_answer(self.gateways[route.gateway], drawn, call)
            except TimeoutError:
                result, waited = timed_out, route.timeout_ms
        return replace(result, latency_ms=waited, simulated_by=drawn.source, chaos=drawn.made_outcome)

    async def _drawn_answer(
        self,
        gateway: Gateway,
        drawn: ChaosDraw,
        call: Callable[[Override | None, Gateway], Awaitable[GatewayResult]],
    ) -> GatewayResult:
        if drawn.kind is ChaosKind.ERROR:
            return GatewayResult(Outcome.ERROR, message=f"chaos_error: simulated gateway error (draw {drawn.index})")
        try:
            if drawn.kind is ChaosKind.DECLINE:
                return await call(Override(Forced.DECLINE, drawn.decline_code), gateway)
            return await call(None, gateway)
        except DomainError:
            raise
        except Exception as error:  # a gateway that blows up is an error outcome, recorded like one
            return GatewayResult(Outcome.ERROR, message=f"gateway_error: {type(error).__name__}")

    async def _injected(
        self,
        gateway: Gateway,
        injection: Injection | None,
        call: Callable[[Override | None, Gateway], Awaitable[GatewayResult]],
        override: Override | None,
    ) -> GatewayResult:
        if injection is None:
            return await call(override, gateway)
        if injection.kind is StepKind.TIMEOUT:
            await asyncio.Event().wait()  # never answers: the route's timeout ends the call
        if injection.kind is StepKind.ERROR:
            return GatewayResult(Outcome.ERROR, message=f"simulated_error: {injection.source}")
        latency = override.latency_ms if override is not None else 0
        if injection.kind is StepKind.APPROVE:
            return await call(Override(Forced.APPROVE, latency_ms=latency), gateway)
        return await call(Override(Forced.DECLINE, injection.decline_code, latency), gateway)

    async def _reopens_in(self, merchant_id: str, gateway: str) -> float:
        state = await self._breakers.snapshot(merchant_id, gateway)
        until = cb.reopens_at(state, self._breakers.config)
        if until is None:
            return 1.0
        return max(0.1, (until - self._clock()).total_seconds())


def _source(injection: Injection | None) -> str:
    return injection.source if injection is not None else ""


def _soonest(current: float | None, candidate: float) -> float:
    return candidate if current is None else min(current, candidate)


def _attempt_outcome(result: GatewayResult) -> str:
    """The gateway-attempt metric's outcome: approved, declined, error, or timeout."""
    return "timeout" if result.message.startswith(TIMEOUT) else result.outcome.value


def _own_latency_ms(gateway: Gateway, override: Override | None) -> int:
    """The latency a gateway is configured to add to every answer, plus the request's own
    (paysim-latency-ms): simulated time, known before the call."""
    configured = getattr(gateway, "latency_ms", 0)
    return (configured if isinstance(configured, int) else 0) + (override.latency_ms if override is not None else 0)
