"""``client.simulator``: the scenario catalogue, gateway outages, scripted outcomes, seeded chaos
profiles, breakers, and the reset of a merchant's whole simulation.

What a merchant sets acts on its own payments only; an admin names the merchant, and may set
platform-wide faults (``platform_wide=True``) that act on every merchant's calls to that gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from paysim_proto.v1 import simulator_pb2

from paysim_client._blocking import blocking
from paysim_client._generated import rpcs
from paysim_client.config import RetryPolicy
from paysim_client.resources._base import AsyncResource, BlockingResource, duration

_KINDS = {
    "approve": simulator_pb2.SCRIPTED_OUTCOME_KIND_APPROVE,
    "decline": simulator_pb2.SCRIPTED_OUTCOME_KIND_DECLINE,
    "error": simulator_pb2.SCRIPTED_OUTCOME_KIND_ERROR,
    "timeout": simulator_pb2.SCRIPTED_OUTCOME_KIND_TIMEOUT,
}


def scripted_outcome(spec: str | simulator_pb2.ScriptedOutcome) -> simulator_pb2.ScriptedOutcome:
    """``"approve"``, ``"decline"``, ``"decline:<code>"``, ``"error"`` or ``"timeout"`` as a
    ``ScriptedOutcome`` (a ``ScriptedOutcome`` is returned as it is)."""
    if isinstance(spec, simulator_pb2.ScriptedOutcome):
        return spec
    kind, _, code = spec.strip().lower().partition(":")
    if kind not in _KINDS or (code and kind != "decline"):
        raise ValueError(f"unknown scripted outcome {spec!r}: use approve, decline[:<code>], error or timeout")
    return simulator_pb2.ScriptedOutcome(kind=_KINDS[kind], decline_code=code)


class AsyncSimulator(AsyncResource):
    """Simulation controls."""

    async def scenarios(
        self,
        trigger: simulator_pb2.ScenarioTrigger.ValueType = simulator_pb2.SCENARIO_TRIGGER_UNSPECIFIED,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Sequence[simulator_pb2.Scenario]:
        """The test cards, magic amounts and holder names, and what each one does."""
        request = simulator_pb2.ListScenariosRequest(trigger=trigger)
        reply = await self._transport.call(rpcs.LIST_SCENARIOS, request, timeout=timeout, retry=retry)
        return reply.scenarios

    async def set_outage(
        self,
        gateway: str,
        *,
        mode: simulator_pb2.OutageMode.ValueType = simulator_pb2.OUTAGE_MODE_ERROR,
        duration_seconds: float | timedelta | None = None,
        merchant_id: str = "",
        platform_wide: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> simulator_pb2.GatewayFaults:
        """Put a gateway into an outage: every call fails (``OUTAGE_MODE_ERROR``) or never answers
        (``OUTAGE_MODE_TIMEOUT``), for ``duration_seconds`` (up to a day) or until cleared."""
        request = simulator_pb2.SetGatewayOutageRequest(
            merchant_id=merchant_id,
            platform_wide=platform_wide,
            gateway=gateway,
            mode=mode,
            duration=duration(duration_seconds),
        )
        reply = await self._transport.call(rpcs.SET_GATEWAY_OUTAGE, request, timeout=timeout, retry=retry)
        return reply.faults

    async def script_outcomes(
        self,
        gateway: str,
        outcomes: Sequence[str | simulator_pb2.ScriptedOutcome],
        *,
        append: bool = False,
        merchant_id: str = "",
        platform_wide: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> simulator_pb2.GatewayFaults:
        """Script the gateway's next outcomes, each taken by exactly one call, in order.

        ``outcomes`` such as ``["error", "decline:insufficient_funds", "approve"]``; ``append``
        adds them after the steps still waiting instead of replacing those.
        """
        request = simulator_pb2.ScriptGatewayOutcomesRequest(
            merchant_id=merchant_id,
            platform_wide=platform_wide,
            gateway=gateway,
            outcomes=[scripted_outcome(o) for o in outcomes],
            append=append,
        )
        reply = await self._transport.call(rpcs.SCRIPT_GATEWAY_OUTCOMES, request, timeout=timeout, retry=retry)
        return reply.faults

    async def clear_faults(
        self,
        gateway: str = "",
        *,
        merchant_id: str = "",
        platform_wide: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> int:
        """End outages and drop scripts (of one gateway, or all); returns how many were cleared."""
        request = simulator_pb2.ClearGatewayFaultsRequest(
            merchant_id=merchant_id, platform_wide=platform_wide, gateway=gateway
        )
        reply = await self._transport.call(rpcs.CLEAR_GATEWAY_FAULTS, request, timeout=timeout, retry=retry)
        return reply.cleared

    async def list_faults(
        self,
        *,
        merchant_id: str = "",
        platform_wide: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Sequence[simulator_pb2.GatewayFaults]:
        """The outages and scripts in force."""
        request = simulator_pb2.ListGatewayFaultsRequest(merchant_id=merchant_id, platform_wide=platform_wide)
        reply = await self._transport.call(rpcs.LIST_GATEWAY_FAULTS, request, timeout=timeout, retry=retry)
        return reply.faults

    async def list_breakers(
        self, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> simulator_pb2.ListCircuitBreakersResponse:
        """The merchant's circuit breakers with their statistics, and the breaker settings."""
        request = simulator_pb2.ListCircuitBreakersRequest(merchant_id=merchant_id)
        return await self._transport.call(rpcs.LIST_CIRCUIT_BREAKERS, request, timeout=timeout, retry=retry)

    async def reset_breaker(
        self,
        gateway: str,
        *,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> simulator_pb2.CircuitBreaker:
        """Close the merchant's breaker for a gateway and clear its statistics (a merchant its own;
        an admin names ``merchant_id``)."""
        request = simulator_pb2.ResetCircuitBreakerRequest(merchant_id=merchant_id, gateway=gateway)
        reply = await self._transport.call(rpcs.RESET_CIRCUIT_BREAKER, request, timeout=timeout, retry=retry)
        return reply.breaker

    async def set_chaos_profile(
        self,
        gateway: str,
        *,
        seed: int = 0,
        error_rate_bps: int = 0,
        timeout_rate_bps: int = 0,
        decline_rate_bps: int = 0,
        decline_code: str = "",
        latency_p50_ms: int = 0,
        latency_p99_ms: int = 0,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> simulator_pb2.ChaosProfile:
        """Give ``gateway`` a seeded chaos profile: rates in basis points (300 is 3 %), a
        log-normal latency by its median and 99th percentile in milliseconds. Replaces the profile
        in force and starts its draws again from the first: the same seed and the same calls
        give the same outcomes and latencies."""
        request = simulator_pb2.SetChaosProfileRequest(
            merchant_id=merchant_id,
            gateway=gateway,
            error_rate_bps=error_rate_bps,
            timeout_rate_bps=timeout_rate_bps,
            decline_rate_bps=decline_rate_bps,
            decline_code=decline_code,
            latency_p50_ms=latency_p50_ms,
            latency_p99_ms=latency_p99_ms,
            seed=seed,
        )
        reply = await self._transport.call(rpcs.SET_CHAOS_PROFILE, request, timeout=timeout, retry=retry)
        return reply.profile

    async def get_chaos_profile(
        self, gateway: str, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> simulator_pb2.ChaosProfile:
        """The gateway's chaos profile, with the number of draws taken (``NotFound`` if none)."""
        request = simulator_pb2.GetChaosProfileRequest(merchant_id=merchant_id, gateway=gateway)
        reply = await self._transport.call(rpcs.GET_CHAOS_PROFILE, request, timeout=timeout, retry=retry)
        return reply.profile

    async def list_chaos_profiles(
        self, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Sequence[simulator_pb2.ChaosProfile]:
        """Every chaos profile of the merchant, by gateway."""
        request = simulator_pb2.ListChaosProfilesRequest(merchant_id=merchant_id)
        reply = await self._transport.call(rpcs.LIST_CHAOS_PROFILES, request, timeout=timeout, retry=retry)
        return reply.profiles

    async def clear_chaos_profile(
        self,
        gateway: str = "",
        *,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> int:
        """Remove the chaos profile of one gateway (or of all); returns how many were removed."""
        request = simulator_pb2.ClearChaosProfileRequest(merchant_id=merchant_id, gateway=gateway)
        reply = await self._transport.call(rpcs.CLEAR_CHAOS_PROFILE, request, timeout=timeout, retry=retry)
        return reply.cleared

    async def reset(
        self, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> simulator_pb2.ResetSimulationResponse:
        """Put the merchant's simulation back to the start: its outages and scripts, chaos
        profiles, breakers, and the test clocks no object is on. Says what it did."""
        request = simulator_pb2.ResetSimulationRequest(merchant_id=merchant_id)
        return await self._transport.call(rpcs.RESET_SIMULATION, request, timeout=timeout, retry=retry)


class Simulator(BlockingResource[AsyncSimulator]):
    """Simulation controls (blocking); see :class:`AsyncSimulator`."""

    scenarios = blocking(AsyncSimulator.scenarios)
    set_outage = blocking(AsyncSimulator.set_outage)
    script_outcomes = blocking(AsyncSimulator.script_outcomes)
    clear_faults = blocking(AsyncSimulator.clear_faults)
    list_faults = blocking(AsyncSimulator.list_faults)
    list_breakers = blocking(AsyncSimulator.list_breakers)
    reset_breaker = blocking(AsyncSimulator.reset_breaker)
    set_chaos_profile = blocking(AsyncSimulator.set_chaos_profile)
    get_chaos_profile = blocking(AsyncSimulator.get_chaos_profile)
    list_chaos_profiles = blocking(AsyncSimulator.list_chaos_profiles)
    clear_chaos_profile = blocking(AsyncSimulator.clear_chaos_profile)
    reset = blocking(AsyncSimulator.reset)
