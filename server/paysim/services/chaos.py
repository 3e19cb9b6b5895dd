"""Seeded chaos profiles: set, read and clear them, and take a call's draw.

Each draw is its own short transaction (``UPDATE … RETURNING`` of the profile's count), taken
before the gateway call and never inside the payment's transaction, like a script's step: the
count is what makes the n-th call to a gateway the n-th draw in every process.
"""

from __future__ import annotations

from paysim.domain.chaos import ChaosDraw, ChaosProfile, ChaosSettings, draw
from paysim.domain.errors import NotFound
from paysim.services.clock import Clock
from paysim.store.unit_of_work import UnitOfWorkFactory

KIND = "chaos_profile"


class ChaosService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def set(self, merchant_id: str, gateway: str, settings: ChaosSettings) -> ChaosProfile:
        """Store the profile with no draws taken: its sequence starts again from draw 0."""
        profile = ChaosProfile(merchant_id, gateway, settings, 0, self._clock())
        async with self._uow() as uow:
            await uow.chaos_profiles.put(profile)
            await uow.commit()
        return profile

    async def get(self, merchant_id: str, gateway: str) -> ChaosProfile:
        async with self._uow() as uow:
            found = await uow.chaos_profiles.get(merchant_id, gateway)
        if found is None:
            raise NotFound(KIND, f"{merchant_id}/{gateway}")
        return found

    async def list(self, merchant_id: str) -> list[ChaosProfile]:
        async with self._uow() as uow:
            return await uow.chaos_profiles.list_for(merchant_id)

    async def clear(self, merchant_id: str, gateway: str = "") -> int:
        """Remove one gateway's profile or all of the merchant's; returns how many were removed."""
        async with self._uow() as uow:
            removed = await uow.chaos_profiles.delete(merchant_id, gateway)
            await uow.commit()
        return removed

    async def take(self, merchant_id: str, gateway: str) -> ChaosDraw | None:
        """The next draw of the merchant's profile for ``gateway`` (None if it was cleared since
        routing saw it)."""
        async with self._uow() as uow:
            taken = await uow.chaos_profiles.take_draw(merchant_id, gateway)
            await uow.commit()
        if taken is None:
            return None
        settings, index = taken
        return draw(settings, gateway, index)
