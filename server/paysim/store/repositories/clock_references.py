"""Which test clocks objects still refer to: any table of the schema with a ``test_clock_id``
column counts, so a table that starts attaching objects to clocks is covered without an edit
here. A reset deletes only the clocks nothing refers to."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.store.schema import metadata as paysim_schema

CLOCK_COLUMN = "test_clock_id"


def referring_tables(schema: MetaData = paysim_schema) -> list[str]:
    """The tables whose rows can be on a clock."""
    return sorted(t.name for t in schema.tables.values() if CLOCK_COLUMN in t.c)


class ClockReferenceRepository:
    def __init__(self, conn: AsyncConnection, schema: MetaData = paysim_schema) -> None:
        self._conn = conn
        self._schema = schema

    async def referenced(self, clock_ids: Collection[str]) -> set[str]:
        """Those of ``clock_ids`` that a row of any referring table names."""
        found: set[str] = set()
        if not clock_ids:
            return found
        for name in referring_tables(self._schema):
            column = self._schema.tables[name].c[CLOCK_COLUMN]
            rows = await self._conn.execute(select(column).where(column.in_(list(clock_ids))).distinct())
            found.update(str(value) for value in rows.scalars())
        return found
