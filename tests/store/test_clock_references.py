"""A reset keeps the test clocks objects refer to: any table with a ``test_clock_id`` column counts,
whichever tables the schema grows."""

from __future__ import annotations

import asyncio

from sqlalchemy import Column, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import create_async_engine

from paysim.store.repositories.clock_references import ClockReferenceRepository, referring_tables


def test_no_table_of_todays_schema_is_missed() -> None:
    # Every table that can put a row on a clock is one the reset looks in (none yet, or some).
    from paysim.store.schema import metadata

    assert referring_tables() == sorted(t.name for t in metadata.tables.values() if "test_clock_id" in t.c)


def test_a_clock_any_row_names_is_referenced() -> None:
    schema = MetaData()
    payments = Table("payments_on_clocks", schema, Column("id", String(40)), Column("test_clock_id", String(40)))
    Table("customers_on_clocks", schema, Column("id", String(40)), Column("test_clock_id", String(40)))
    Table("unrelated", schema, Column("id", String(40)))
    assert referring_tables(schema) == ["customers_on_clocks", "payments_on_clocks"]

    async def scenario() -> set[str]:
        engine = create_async_engine("sqlite+aiosqlite://")
        try:
            async with engine.begin() as conn:
                await conn.run_sync(schema.create_all)
                await conn.execute(insert(payments).values(id="pay_1", test_clock_id="clk_used"))
                await conn.execute(insert(payments).values(id="pay_2", test_clock_id=None))
                return await ClockReferenceRepository(conn, schema).referenced(["clk_used", "clk_free"])
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) == {"clk_used"}
    assert asyncio.run(_empty(schema)) == set()


async def _empty(schema: MetaData) -> set[str]:
    engine = create_async_engine("sqlite+aiosqlite://")
    try:
        async with engine.begin() as conn:
            return await ClockReferenceRepository(conn, schema).referenced([])
    finally:
        await engine.dispose()
