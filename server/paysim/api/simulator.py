"""paysim.v1.SimulatorService: the scenario catalogue, gateway faults, chaos profiles, circuit
breakers and the reset of a merchant's simulation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from paysim_proto.v1 import simulator_pb2, simulator_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.contract.timestamps import timestamp
from paysim.domain import circuit_breaker as cb
from paysim.domain.chaos import DEFAULT_DECLINE_CODE, ChaosProfile, ChaosSettings
from paysim.domain.gateway_faults import FaultMode, GatewayFaults, StepKind
from paysim.domain.scenarios import (
    CARD_SCENARIOS,
    DEFAULT_SCENARIO,
    HOLDER_NAME_KEYWORD,
    HOLDER_NAME_SCENARIOS,
    MAGIC_AMOUNTS,
    Scenario,
)
from paysim.services.simulator_control import BreakerView, SimulatorControl

Context = grpc.aio.ServicerContext[Any, Any]
S = simulator_pb2


def _scenario(trigger: simulator_pb2.ScenarioTrigger.ValueType, value: str, s: Scenario) -> simulator_pb2.Scenario:
    return S.Scenario(
        trigger=trigger, value=value, kind=s.kind.value, decline_code=s.decline_code or "", description=s.description
    )


def catalogue() -> list[simulator_pb2.Scenario]:
    """Built once from the domain's tables: the contract's view of the same catalogue."""
    return [
        *(_scenario(S.SCENARIO_TRIGGER_CARD, pan, s) for pan, s in CARD_SCENARIOS.items()),
        *(_scenario(S.SCENARIO_TRIGGER_AMOUNT, str(amount), s) for amount, s in sorted(MAGIC_AMOUNTS.items())),
        *(
            _scenario(S.SCENARIO_TRIGGER_HOLDER_NAME, f"{HOLDER_NAME_KEYWORD} {code}", s)
            for code, s in HOLDER_NAME_SCENARIOS.items()
        ),
        _scenario(S.SCENARIO_TRIGGER_DEFAULT, "", DEFAULT_SCENARIO),
    ]


_MODES = {S.OUTAGE_MODE_ERROR: FaultMode.ERROR, S.OUTAGE_MODE_TIMEOUT: FaultMode.TIMEOUT}
_MODE_NAMES = {mode: value for value, mode in _MODES.items()}
_STEP_KINDS = {
    S.SCRIPTED_OUTCOME_KIND_APPROVE: StepKind.APPROVE,
    S.SCRIPTED_OUTCOME_KIND_DECLINE: StepKind.DECLINE,
    S.SCRIPTED_OUTCOME_KIND_ERROR: StepKind.ERROR,
    S.SCRIPTED_OUTCOME_KIND_TIMEOUT: StepKind.TIMEOUT,
}
_STEP_NAMES = {kind: value for value, kind in _STEP_KINDS.items()}
_BREAKER_STATES = {
    cb.BreakerStatus.CLOSED: S.BREAKER_STATE_CLOSED,
    cb.BreakerStatus.OPEN: S.BREAKER_STATE_OPEN,
    cb.BreakerStatus.HALF_OPEN: S.BREAKER_STATE_HALF_OPEN,
}


def _duration(value: timedelta) -> Duration:
    d = Duration()
    d.FromTimedelta(value)
    return d


def faults_message(f: GatewayFaults) -> simulator_pb2.GatewayFaults:
    return S.GatewayFaults(
        gateway=f.gateway,
        scope=f.scope,
        outage_mode=_MODE_NAMES[f.outage] if f.outage else S.OUTAGE_MODE_UNSPECIFIED,
        outage_until=timestamp(f.outage_until if f.outage else None),
        script=[S.ScriptedOutcome(kind=_STEP_NAMES[step.kind], decline_code=step.decline_code) for step in f.script],
    )


def breaker_message(view: BreakerView, config: cb.BreakerConfig, now: Any) -> simulator_pb2.CircuitBreaker:
    state = view.state
    return S.CircuitBreaker(
        gateway=view.gateway,
        state=_BREAKER_STATES[cb.effective_status(state, config, now)],
        changed_time=timestamp(state.changed_at),
        opened_time=timestamp(state.opened_at),
        reopens_time=timestamp(cb.reopens_at(state, config)),
        failures_in_window=len([t for t in state.failures_in_window if now - t < config.window]),
        half_open_successes=state.half_open_successes,
        calls=state.calls,
        successes=state.successes,
        failures=state.failures,
        rejections=state.rejections,
        state_changes=state.state_changes,
        last_failure_time=timestamp(state.last_failure_at),
        last_failure_reason=state.last_failure_reason,
    )


def chaos_message(p: ChaosProfile) -> simulator_pb2.ChaosProfile:
    s = p.settings
    return S.ChaosProfile(
        merchant_id=p.merchant_id,
        gateway=p.gateway,
        error_rate_bps=s.error_bps,
        timeout_rate_bps=s.timeout_bps,
        decline_rate_bps=s.decline_bps,
        decline_code=s.decline_code,
        latency_p50_ms=s.latency_p50_ms,
        latency_p99_ms=s.latency_p99_ms,
        seed=s.seed,
        draws=p.draws,
        update_time=timestamp(p.updated_at),
    )


def chaos_settings(r: simulator_pb2.SetChaosProfileRequest) -> ChaosSettings:
    return ChaosSettings(
        error_bps=r.error_rate_bps,
        timeout_bps=r.timeout_rate_bps,
        decline_bps=r.decline_rate_bps,
        decline_code=r.decline_code or DEFAULT_DECLINE_CODE,
        latency_p50_ms=r.latency_p50_ms,
        latency_p99_ms=r.latency_p99_ms,
        seed=r.seed,
    )


def settings_message(config: cb.BreakerConfig) -> simulator_pb2.BreakerSettings:
    return S.BreakerSettings(
        failure_threshold=config.failure_threshold,
        window=_duration(config.window),
        cool_down=_duration(config.cool_down),
        half_open_probes=config.max_probes,
        success_threshold=config.success_threshold,
    )


class SimulatorServicer(simulator_pb2_grpc.SimulatorServiceServicer):
    def __init__(self, control: SimulatorControl, breaker_config: cb.BreakerConfig, clock: Any) -> None:
        self._catalogue = catalogue()
        self._control = control
        self._config = breaker_config
        self._clock = clock

    async def ListScenarios(
        self, request: simulator_pb2.ListScenariosRequest, context: Context
    ) -> simulator_pb2.ListScenariosResponse:
        wanted = request.trigger
        scenarios = [s for s in self._catalogue if wanted in (S.SCENARIO_TRIGGER_UNSPECIFIED, s.trigger)]
        return S.ListScenariosResponse(scenarios=scenarios)

    async def SetGatewayOutage(
        self, request: simulator_pb2.SetGatewayOutageRequest, context: Context
    ) -> simulator_pb2.SetGatewayOutageResponse:
        duration = request.duration.ToTimedelta() if request.HasField("duration") else timedelta(0)
        faults = await self._control.set_outage(
            require_principal(),
            request.merchant_id,
            request.platform_wide,
            request.gateway,
            _MODES.get(request.mode),
            duration,
        )
        return S.SetGatewayOutageResponse(faults=faults_message(faults))

    async def ScriptGatewayOutcomes(
        self, request: simulator_pb2.ScriptGatewayOutcomesRequest, context: Context
    ) -> simulator_pb2.ScriptGatewayOutcomesResponse:
        outcomes = [
            (_STEP_KINDS[o.kind].value if o.kind in _STEP_KINDS else "unspecified", o.decline_code)
            for o in request.outcomes
        ]
        faults = await self._control.script(
            require_principal(), request.merchant_id, request.platform_wide, request.gateway, outcomes, request.append
        )
        return S.ScriptGatewayOutcomesResponse(faults=faults_message(faults))

    async def ClearGatewayFaults(
        self, request: simulator_pb2.ClearGatewayFaultsRequest, context: Context
    ) -> simulator_pb2.ClearGatewayFaultsResponse:
        cleared = await self._control.clear(
            require_principal(), request.merchant_id, request.platform_wide, request.gateway
        )
        return S.ClearGatewayFaultsResponse(cleared=cleared)

    async def ListGatewayFaults(
        self, request: simulator_pb2.ListGatewayFaultsRequest, context: Context
    ) -> simulator_pb2.ListGatewayFaultsResponse:
        found = await self._control.list_faults(require_principal(), request.merchant_id, request.platform_wide)
        return S.ListGatewayFaultsResponse(faults=[faults_message(f) for f in found])

    async def ListCircuitBreakers(
        self, request: simulator_pb2.ListCircuitBreakersRequest, context: Context
    ) -> simulator_pb2.ListCircuitBreakersResponse:
        views = await self._control.breakers(require_principal(), request.merchant_id)
        now = self._clock()
        return S.ListCircuitBreakersResponse(
            breakers=[breaker_message(v, self._config, now) for v in views], settings=settings_message(self._config)
        )

    async def ResetCircuitBreaker(
        self, request: simulator_pb2.ResetCircuitBreakerRequest, context: Context
    ) -> simulator_pb2.ResetCircuitBreakerResponse:
        view = await self._control.reset_breaker(require_principal(), request.merchant_id, request.gateway)
        return S.ResetCircuitBreakerResponse(breaker=breaker_message(view, self._config, self._clock()))

    async def SetChaosProfile(
        self, request: simulator_pb2.SetChaosProfileRequest, context: Context
    ) -> simulator_pb2.SetChaosProfileResponse:
        profile = await self._control.set_chaos(
            require_principal(), request.merchant_id, request.gateway, chaos_settings(request)
        )
        return S.SetChaosProfileResponse(profile=chaos_message(profile))

    async def GetChaosProfile(
        self, request: simulator_pb2.GetChaosProfileRequest, context: Context
    ) -> simulator_pb2.GetChaosProfileResponse:
        profile = await self._control.chaos_profile(require_principal(), request.merchant_id, request.gateway)
        return S.GetChaosProfileResponse(profile=chaos_message(profile))

    async def ListChaosProfiles(
        self, request: simulator_pb2.ListChaosProfilesRequest, context: Context
    ) -> simulator_pb2.ListChaosProfilesResponse:
        profiles = await self._control.chaos_profiles(require_principal(), request.merchant_id)
        return S.ListChaosProfilesResponse(profiles=[chaos_message(p) for p in profiles])

    async def ClearChaosProfile(
        self, request: simulator_pb2.ClearChaosProfileRequest, context: Context
    ) -> simulator_pb2.ClearChaosProfileResponse:
        cleared = await self._control.clear_chaos(require_principal(), request.merchant_id, request.gateway)
        return S.ClearChaosProfileResponse(cleared=cleared)

    async def ResetSimulation(
        self, request: simulator_pb2.ResetSimulationRequest, context: Context
    ) -> simulator_pb2.ResetSimulationResponse:
        report = await self._control.reset(require_principal(), request.merchant_id)
        return S.ResetSimulationResponse(
            faults_cleared=report.faults_cleared,
            chaos_profiles_cleared=report.chaos_profiles_cleared,
            breakers_reset=report.breakers_reset,
            test_clocks_deleted=report.test_clocks_deleted,
            kept_test_clock_ids=report.kept_test_clock_ids,
        )
