"""Put a merchant's simulation back to the start in one call.

What goes: the merchant's own outages and scripts (never the platform's, which are every
merchant's), its chaos profiles, its circuit breakers (closed, statistics cleared) and its test
clocks that nothing refers to. A clock that a payment or another object is on is kept, as is one
that is advancing: deleting it would leave those objects on a clock that no longer exists, or an
advance with nothing to finish. Each clock is locked before it is checked and deleted, so an
object attached meanwhile (its foreign key locks the clock's row) either comes first and keeps the
clock, or waits and finds it gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paysim.domain.test_clocks import ClockStatus
from paysim.services.chaos import ChaosService
from paysim.services.circuit_breakers import CircuitBreakers
from paysim.services.clock import Clock
from paysim.services.gateway_faults import GatewayFaultService
from paysim.store.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ResetReport:
    faults_cleared: int = 0
    chaos_profiles_cleared: int = 0
    breakers_reset: int = 0
    test_clocks_deleted: int = 0
    kept_test_clock_ids: list[str] = field(default_factory=list)


class SimulationReset:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        faults: GatewayFaultService,
        chaos: ChaosService,
        breakers: CircuitBreakers,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._faults = faults
        self._chaos = chaos
        self._breakers = breakers
        self._clock = clock

    async def reset(self, merchant_id: str) -> ResetReport:
        faults = await self._clear_faults(merchant_id)
        chaos = await self._chaos.clear(merchant_id)
        breakers = 0
        for stored in await self._breakers.list(merchant_id):
            await self._breakers.reset(merchant_id, stored.gateway)
            breakers += 1
        deleted, kept = await self._delete_free_clocks(merchant_id)
        return ResetReport(faults, chaos, breakers, deleted, kept)

    async def _clear_faults(self, merchant_id: str) -> int:
        """Clears every stored row of the merchant (expired outages too); counts those in force."""
        async with self._uow() as uow:
            stored = await uow.gateway_faults.for_scopes([merchant_id])
        cleared = 0
        for faults in stored:
            before = await self._faults.clear(merchant_id, faults.gateway)
            cleared += 0 if before.is_empty(self._clock()) else 1
        return cleared

    async def _delete_free_clocks(self, merchant_id: str) -> tuple[int, list[str]]:
        async with self._uow() as uow:
            clocks = await uow.test_clocks.list_for(merchant_id)
        deleted, kept = 0, []
        for listed in clocks:
            async with self._uow() as uow:
                clock = await uow.test_clocks.get(listed.id, for_update=True)
                if clock is None:
                    continue  # deleted meanwhile
                in_use = clock.status is ClockStatus.ADVANCING or await uow.clock_references.referenced([clock.id])
                if in_use:
                    kept.append(clock.id)
                    continue
                await uow.test_clocks.delete(clock.id)
                await uow.commit()
                deleted += 1
        return deleted, kept
