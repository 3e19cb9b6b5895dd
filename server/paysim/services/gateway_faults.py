"""Simulated gateway faults: set and clear outages, script outcomes, and take a step per call.

Kept in the database so an outage set through one server process acts on calls made by every
process, and a script's steps are each taken exactly once whichever process makes the call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from paysim.domain.gateway_faults import (
    PLATFORM_SCOPE,
    FaultMode,
    GatewayFaults,
    Injection,
    ScriptStep,
    outage_injection,
    step_injection,
    take_step,
    with_outage,
    with_script,
    without_outage,
)
from paysim.services.clock import Clock
from paysim.store.unit_of_work import UnitOfWorkFactory


class GatewayFaultService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def _change(
        self, scope: str, gateway: str, change: Callable[[GatewayFaults], GatewayFaults]
    ) -> GatewayFaults:
        now = self._clock()
        async with self._uow() as uow:
            current = await uow.gateway_faults.get_for_update(scope, gateway)
            after = change(current or GatewayFaults(scope, gateway))
            await uow.gateway_faults.save(after, now)
            await uow.commit()
        return after

    async def set_outage(self, scope: str, gateway: str, mode: FaultMode, until: datetime | None) -> GatewayFaults:
        return await self._change(scope, gateway, lambda f: with_outage(f, mode, until))

    async def script(self, scope: str, gateway: str, steps: Sequence[ScriptStep], *, append: bool) -> GatewayFaults:
        return await self._change(scope, gateway, lambda f: with_script(f, steps, append=append))

    async def clear(self, scope: str, gateway: str) -> GatewayFaults:
        """End the outage and drop the script; returns the faults as they were before."""
        before: list[GatewayFaults] = []

        def change(current: GatewayFaults) -> GatewayFaults:
            before.append(current)
            return with_script(without_outage(current), (), append=False)

        await self._change(scope, gateway, change)
        return before[0]

    async def in_scopes(self, scopes: Sequence[str]) -> list[GatewayFaults]:
        """The faults in force in ``scopes`` (expired outages with no script left are omitted)."""
        now = self._clock()
        async with self._uow() as uow:
            found = await uow.gateway_faults.for_scopes(scopes)
        return [f for f in found if not f.is_empty(now)]

    def by_gateway(self, found: Sequence[GatewayFaults]) -> dict[str, list[GatewayFaults]]:
        """Faults read for a merchant, in force now, grouped by gateway, the merchant's first."""
        now = self._clock()
        grouped: dict[str, list[GatewayFaults]] = {}
        for faults in found:
            if not faults.is_empty(now):
                grouped.setdefault(faults.gateway, []).append(faults)
        for layers in grouped.values():
            layers.sort(key=lambda f: f.scope == PLATFORM_SCOPE)
        return grouped

    async def _take(self, scope: str, gateway: str) -> ScriptStep | None:
        taken: list[ScriptStep] = []

        def step(current: GatewayFaults) -> GatewayFaults:
            found, rest = take_step(current)
            if found is not None:
                taken.append(found)
            return rest

        await self._change(scope, gateway, step)
        return taken[0] if taken else None

    async def injection(self, layers: Sequence[GatewayFaults]) -> Injection | None:
        """What acts on one call given the faults ``active`` found for its gateway: an outage, or
        the next step of a script (taken for good, under the row's lock), or nothing."""
        outage = outage_injection(layers, self._clock())
        if outage is not None:
            return outage
        for faults in layers:
            if not faults.script:
                continue
            taken = await self._take(faults.scope, faults.gateway)
            if taken is not None:
                return step_injection(taken, faults.scope)
        return None
