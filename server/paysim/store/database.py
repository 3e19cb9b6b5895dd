"""Engine construction for SQLite (the embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from paysim.security.private_files import private_sqlite_database
from paysim.store import pg_connection
from paysim.store.pg_connection import DatabaseLimits, conninfo

DEFAULT_LIMITS = DatabaseLimits()

# Execution options of a connection that only reads: on SQLite it begins without taking the
# write lock, so long-lived readers (event streams) never queue behind or ahead of writers.
READ_ONLY = {"paysim_read_only": True}


def async_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://``, ``sqlite:///``) and pick the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use postgresql:// or sqlite:///")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    limits: DatabaseLimits = DEFAULT_LIMITS,
    connect_args: dict[str, Any] | None = None,
) -> AsyncEngine:
    """An engine whose waits are all bounded by ``limits`` (store/pg_connection.py says how);
    a pool with no connection free for ``limits.pool_seconds`` raises SQLAlchemy's TimeoutError."""
    target = async_url(url)
    if is_sqlite(target):
        database = make_url(target).database
        if database and database != ":memory:":
            private_sqlite_database(Path(database))
        engine = create_async_engine(
            target, pool_timeout=limits.pool_seconds, connect_args={"timeout": 30, **(connect_args or {})}
        )
        _configure_sqlite(engine)
        return engine
    dsn = conninfo(url)

    async def connect() -> Any:
        return await pg_connection.connect(dsn, limits, **(connect_args or {}))

    # A pool as large as the concurrency it serves: connections beyond it are opened and closed
    # per checkout, which costs far more than the transaction. No pre-ping round trip per
    # checkout either: a connection found dead invalidates the pool, and the caller gets
    # UNAVAILABLE with RetryInfo.
    return create_async_engine(
        target,
        async_creator=connect,
        pool_size=pool_size,
        max_overflow=max(4, pool_size // 2),
        pool_recycle=1800,
        pool_timeout=limits.pool_seconds,
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    # SQLite upgrades a read transaction to a write one lazily and fails at once (no busy wait)
    # when another connection wrote in between. Taking the write lock at BEGIN makes writers
    # queue on busy_timeout instead, which is what a unit of work expects.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("paysim_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
