"""Apply the Alembic migrations to the configured database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.store.pg_connection import without_answer_deadline

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision. Safe to call on every start."""
    async with engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            await conn.run_sync(lambda sync: command.upgrade(_config(sync), "head"))
            return
        # A migration may take long, and so may waiting for another process's: the limits on
        # every statement (store/pg_connection.py) do not apply to this transaction.
        await conn.execute(text("SET LOCAL statement_timeout = 0"))
        with without_answer_deadline((await conn.get_raw_connection()).driver_connection):
            # Processes starting together must not run the same DDL at once: the first migrates,
            # the others wait here (lock held until commit) and then find the schema at head.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('paysim.migrate:' || current_schema()))"))
            await conn.run_sync(lambda sync: command.upgrade(_config(sync), "head"))
            await conn.commit()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()
