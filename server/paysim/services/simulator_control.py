"""The simulator's control plane: who may set which outage, script or chaos profile, breaker
reads and resets, and the reset of a merchant's whole simulation.

A merchant acts on its own scope only; an admin names a merchant or asks for the platform-wide
scope (outages and scripts only). Another merchant's id is NOT_FOUND, as everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from paysim.domain.chaos import ChaosProfile, ChaosSettings, check_settings
from paysim.domain.circuit_breaker import BreakerState
from paysim.domain.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from paysim.domain.gateway_faults import PLATFORM_SCOPE, FaultMode, GatewayFaults, parse_steps
from paysim.domain.gateway_settings import check_gateway
from paysim.domain.principal import Principal
from paysim.domain.validation import Violations, check_id
from paysim.gateways.registry import GATEWAY_NAMES
from paysim.services.chaos import ChaosService
from paysim.services.circuit_breakers import CircuitBreakers
from paysim.services.clock import Clock
from paysim.services.gateway_faults import GatewayFaultService
from paysim.services.routing import GatewayRouter
from paysim.services.simulation_reset import ResetReport, SimulationReset
from paysim.services.tenancy import target_merchant
from paysim.store.unit_of_work import UnitOfWorkFactory

MAX_OUTAGE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class BreakerView:
    gateway: str
    state: BreakerState


def _check_gateway(v: Violations, field: str, gateway: str, *, required: bool = True) -> None:
    if gateway or required:
        check_gateway(v, field, gateway, GATEWAY_NAMES)


class SimulatorControl:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        faults: GatewayFaultService,
        breakers: CircuitBreakers,
        router: GatewayRouter,
        clock: Clock,
        chaos: ChaosService,
    ) -> None:
        self._uow = uow
        self._faults = faults
        self._breakers = breakers
        self._router = router
        self._clock = clock
        self._chaos = chaos
        self._reset = SimulationReset(uow, faults, chaos, breakers, clock)

    async def _merchant(self, principal: Principal, requested: str) -> str:
        v = Violations()
        check_id(v, "merchant_id", requested, "mer", required=False)
        v.raise_if_any()
        merchant_id = target_merchant(principal, requested)
        if principal.is_admin:
            async with self._uow() as uow:
                if await uow.merchants.get(merchant_id) is None:
                    raise NotFound("merchant", merchant_id)
        return merchant_id

    async def _scope(self, principal: Principal, requested: str, platform_wide: bool) -> str:
        if platform_wide:
            if not principal.is_admin:
                raise PermissionDenied("only an admin may set platform-wide conditions", reason="ADMIN_ONLY")
            if requested:
                raise InvalidArgument(
                    [FieldViolation("merchant_id", "must be empty with platform_wide", "NOT_ALLOWED")]
                )
            return PLATFORM_SCOPE
        return await self._merchant(principal, requested)

    async def set_outage(
        self,
        principal: Principal,
        requested: str,
        platform_wide: bool,
        gateway: str,
        mode: FaultMode | None,
        duration: timedelta,
    ) -> GatewayFaults:
        v = Violations()
        _check_gateway(v, "gateway", gateway)
        if mode is None:
            v.add("mode", "must be OUTAGE_MODE_ERROR or OUTAGE_MODE_TIMEOUT", "REQUIRED")
        if duration < timedelta(0) or duration > MAX_OUTAGE:
            v.add("duration", "must be between 0 (until cleared) and 24 hours", "OUT_OF_RANGE")
        v.raise_if_any()
        assert mode is not None
        scope = await self._scope(principal, requested, platform_wide)
        until = self._clock() + duration if duration > timedelta(0) else None
        return await self._faults.set_outage(scope, gateway, mode, until)

    async def script(
        self,
        principal: Principal,
        requested: str,
        platform_wide: bool,
        gateway: str,
        outcomes: Sequence[tuple[str, str]],
        append: bool,
    ) -> GatewayFaults:
        v = Violations()
        _check_gateway(v, "gateway", gateway)
        steps = parse_steps(v, "outcomes", outcomes)
        v.raise_if_any()
        scope = await self._scope(principal, requested, platform_wide)
        return await self._faults.script(scope, gateway, steps, append=append)

    async def clear(self, principal: Principal, requested: str, platform_wide: bool, gateway: str) -> int:
        v = Violations()
        _check_gateway(v, "gateway", gateway, required=False)
        v.raise_if_any()
        scope = await self._scope(principal, requested, platform_wide)
        targets = [gateway] if gateway else [f.gateway for f in await self._faults.in_scopes([scope])]
        cleared = 0
        for name in targets:
            before = await self._faults.clear(scope, name)
            cleared += 0 if before.is_empty(self._clock()) else 1
        return cleared

    async def list_faults(self, principal: Principal, requested: str, platform_wide: bool) -> list[GatewayFaults]:
        scope = await self._scope(principal, requested, platform_wide)
        scopes = [scope] if scope == PLATFORM_SCOPE else [scope, PLATFORM_SCOPE]
        found = await self._faults.in_scopes(scopes)
        return sorted(found, key=lambda f: (f.scope == PLATFORM_SCOPE, f.gateway))

    async def breakers(self, principal: Principal, requested: str) -> list[BreakerView]:
        merchant_id = await self._merchant(principal, requested)
        stored = {b.gateway: b.state for b in await self._breakers.list(merchant_id)}
        routed = [r.gateway for r in await self._router.routes(merchant_id)]
        names = sorted(set(stored) | set(routed))
        views = []
        for name in names:
            state = stored.get(name) or await self._breakers.snapshot(merchant_id, name)
            views.append(BreakerView(name, state))
        return views

    async def reset_breaker(self, principal: Principal, requested: str, gateway: str) -> BreakerView:
        v = Violations()
        _check_gateway(v, "gateway", gateway)
        v.raise_if_any()
        merchant_id = await self._merchant(principal, requested)
        return BreakerView(gateway, await self._breakers.reset(merchant_id, gateway))

    async def set_chaos(
        self, principal: Principal, requested: str, gateway: str, settings: ChaosSettings
    ) -> ChaosProfile:
        v = Violations()
        _check_gateway(v, "gateway", gateway)
        settings = check_settings(v, settings)
        v.raise_if_any()
        merchant_id = await self._merchant(principal, requested)
        return await self._chaos.set(merchant_id, gateway, settings)

    async def chaos_profile(self, principal: Principal, requested: str, gateway: str) -> ChaosProfile:
        v = Violations()
        _check_gateway(v, "gateway", gateway)
        v.raise_if_any()
        return await self._chaos.get(await self._merchant(principal, requested), gateway)

    async def chaos_profiles(self, principal: Principal, requested: str) -> list[ChaosProfile]:
        return await self._chaos.list(await self._merchant(principal, requested))

    async def clear_chaos(self, principal: Principal, requested: str, gateway: str) -> int:
        v = Violations()
        _check_gateway(v, "gateway", gateway, required=False)
        v.raise_if_any()
        return await self._chaos.clear(await self._merchant(principal, requested), gateway)

    async def reset(self, principal: Principal, requested: str) -> ResetReport:
        return await self._reset.reset(await self._merchant(principal, requested))
