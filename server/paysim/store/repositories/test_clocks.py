"""Test clocks, one row each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.test_clocks import ClockStatus, TestClock
from paysim.store.schema import test_clocks

_c = test_clocks.c


def _clock(row: Any) -> TestClock:
    return TestClock(
        id=row.id,
        merchant_id=row.merchant_id,
        name=row.name,
        frozen_time=row.frozen_time,
        created_at=row.created_at,
        status=ClockStatus(row.status),
        advancing_to=row.advancing_to,
    )


class TestClockRepository:
    __test__ = False  # a repository, not a pytest test class

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, clock: TestClock) -> None:
        await self._conn.execute(
            insert(test_clocks).values(
                id=clock.id,
                merchant_id=clock.merchant_id,
                name=clock.name,
                frozen_time=clock.frozen_time,
                status=clock.status.value,
                advancing_to=clock.advancing_to,
                created_at=clock.created_at,
            )
        )

    async def get(self, clock_id: str, *, for_update: bool = False, for_share: bool = False) -> TestClock | None:
        query = select(test_clocks).where(_c.id == clock_id)
        if for_update:
            query = query.with_for_update()
        elif for_share:
            query = query.with_for_update(read=True)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _clock(row)

    async def list_for(self, merchant_id: str) -> list[TestClock]:
        query = select(test_clocks).where(_c.merchant_id == merchant_id).order_by(_c.created_at.desc(), _c.id.desc())
        return [_clock(row) for row in await self._conn.execute(query)]

    async def advancing(self, limit: int) -> list[str]:
        """Clocks whose advance has not finished (its process may have stopped midway)."""
        query = select(_c.id).where(_c.status == ClockStatus.ADVANCING.value).order_by(_c.id).limit(limit)
        return list((await self._conn.execute(query)).scalars())

    async def save(self, clock: TestClock) -> None:
        await self._conn.execute(
            update(test_clocks)
            .where(_c.id == clock.id)
            .values(frozen_time=clock.frozen_time, status=clock.status.value, advancing_to=clock.advancing_to)
        )

    async def delete(self, clock_id: str) -> bool:
        result = await self._conn.execute(delete(test_clocks).where(_c.id == clock_id))
        return bool(result.rowcount)
