"""The test clock a payment lives on, read by primary key on the PostgreSQL payment unit of work."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import psycopg

from paysim.domain.test_clocks import ClockStatus, TestClock

_CLOCK = "SELECT id, merchant_id, name, frozen_time, status, advancing_to, created_at FROM test_clocks WHERE id = %s"


class PgTestClockReader:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def get(self, clock_id: str, *, for_share: bool = False) -> TestClock | None:
        cur = await self._conn.execute(_CLOCK + (" FOR SHARE" if for_share else ""), (clock_id,))
        found = await cur.fetchone()
        if found is None:
            return None
        cid, merchant_id, name, frozen, status, advancing_to, created = found
        return TestClock(
            cid,
            merchant_id,
            name,
            frozen.astimezone(UTC),
            created.astimezone(UTC),
            ClockStatus(status),
            None if advancing_to is None else advancing_to.astimezone(UTC),
        )
