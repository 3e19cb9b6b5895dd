"""The health probe's own line to the database: one connection that nothing else uses, queried
from a thread of its own, with a deadline of its own.

Borrowing from the pool would report a server whose connections are all busy as one whose
database is unreachable; running on the event loop would count the loop's own lag (thousands of
streams opening at once) against the database. The calls are blocking: run them off the loop.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Protocol

from sqlalchemy.engine import make_url

from paysim.store.database import is_sqlite
from paysim.store.pg_connection import BoundedConnection, DatabaseLimits, connect_kwargs, conninfo


class DatabaseProbe(Protocol):
    def check(self) -> None:
        """Return if the database answers a query within the probe's deadline; raise otherwise."""

    def close(self) -> None: ...


class PostgresProbe:
    def __init__(self, database_url: str, timeout_seconds: float) -> None:
        self._dsn = conninfo(database_url)
        self._timeout = timeout_seconds
        self._kwargs = connect_kwargs(
            self._dsn, DatabaseLimits(connect_seconds=math.ceil(timeout_seconds), statement_seconds=timeout_seconds)
        )
        self._conn: BoundedConnection | None = None

    def check(self) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = BoundedConnection.connect(self._dsn, autocommit=True, **self._kwargs)
            self._conn.answer_seconds = self._timeout
        try:
            self._conn.execute("SELECT 1")
        except BaseException:
            self.close()  # its state is unknown: the next probe connects afresh
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class SqliteProbe:
    def __init__(self, database_url: str, timeout_seconds: float) -> None:
        self._path = make_url(database_url).database or ":memory:"
        self._timeout = timeout_seconds
        self._conn: sqlite3.Connection | None = None

    def check(self) -> None:
        if self._conn is None:
            # Opened, used and closed on the probe's one thread.
            self._conn = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
        try:
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def database_probe(database_url: str, timeout_seconds: float) -> DatabaseProbe:
    if is_sqlite(database_url):
        return SqliteProbe(database_url, timeout_seconds)
    return PostgresProbe(database_url, timeout_seconds)
