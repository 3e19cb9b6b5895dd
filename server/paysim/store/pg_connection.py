"""PostgreSQL connections that never wait for the database without a bound.

A database that stops answering (packets dropped rather than refused) leaves a socket that
neither delivers nor fails: without limits of its own a statement waits for it forever. So
every PostgreSQL connection paysim opens has

- a connect timeout;
- ``statement_timeout``, so PostgreSQL itself cancels a statement that runs (or waits for a
  lock) too long and says so;
- a deadline on every answer, a second longer, after which the connection is given up (its
  protocol state is unknown) and the caller gets an ``OperationalError``: the statement, the
  commit, the rollback; asyncio cancellation is no substitute, since psycopg answers it by
  asking the server to cancel and waiting for that too, up to ten seconds, on a peer that does
  not answer;
- TCP keepalives and ``tcp_user_timeout``, so the kernel gives up on a peer that no longer
  acknowledges what is sent to it, even on an idle connection;
- ``idle_in_transaction_session_timeout``, so a transaction whose client froze mid-way (the
  network, not the database, stopped) is ended by PostgreSQL instead of holding its locks, and
  holding up the event streams' read horizon, until the server's own keepalives notice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from psycopg.conninfo import conninfo_to_dict
from psycopg.errors import _WaitTimeout  # what psycopg's waits raise when their timeout passes
from sqlalchemy.engine import make_url

# PostgreSQL's own cancellation should arrive before the client gives up: then the caller gets
# its clear error and the connection stays usable.
ANSWER_MARGIN_SECONDS = 1.0
# paysim's transactions send their statements back to back; one idle this long has lost its client.
IDLE_IN_TRANSACTION_FLOOR_SECONDS = 20.0
# psycopg's default interval between checks for interrupts while waiting.
_WAIT_INTERVAL = 0.1

RV = TypeVar("RV")


@dataclass(frozen=True, slots=True)
class DatabaseLimits:
    """How long paysim waits for its database. ``pool_seconds``: for a free pooled connection."""

    connect_seconds: int = 5
    statement_seconds: float = 5.0
    pool_seconds: float = 5.0

    @property
    def answer_seconds(self) -> float:
        return self.statement_seconds + ANSWER_MARGIN_SECONDS


def conninfo(database_url: str) -> str:
    """The libpq URI of a SQLAlchemy database URL (query options such as search_path kept)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect_kwargs(conninfo: str, limits: DatabaseLimits) -> dict[str, Any]:
    """libpq parameters for ``conninfo`` with the limits applied (its own ``options`` kept)."""
    options = str(conninfo_to_dict(conninfo).get("options") or "")
    statement_ms = max(1, round(limits.statement_seconds * 1000))
    idle_ms = round(max(IDLE_IN_TRANSACTION_FLOOR_SECONDS, 4 * limits.statement_seconds) * 1000)
    return {
        # libpq counts whole seconds and never fewer than 2.
        "connect_timeout": max(2, limits.connect_seconds),
        "options": f"{options} -c statement_timeout={statement_ms}"
        f" -c idle_in_transaction_session_timeout={idle_ms}".strip(),
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(limits.answer_seconds)),
        "keepalives_interval": max(1, math.ceil(limits.answer_seconds / 3)),
        "keepalives_count": 3,
        "tcp_user_timeout": max(1, round(limits.answer_seconds * 1000)),
    }


class NoAnswer(psycopg.OperationalError):
    """The database did not answer in time; the connection was closed."""


class BoundedAsyncConnection(psycopg.AsyncConnection[Any]):
    """Every wait for the server ends after ``answer_seconds`` (None: psycopg's own behaviour)."""

    answer_seconds: float | None = None

    # psycopg's own signature, which its callers use.
    async def wait(
        self,
        gen: PQGen[RV],
        interval: float = _WAIT_INTERVAL,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> RV:
        # A caller with a deadline of its own (LISTEN's notifies()) keeps it.
        if timeout is not None or self.answer_seconds is None:
            return await super().wait(gen, interval, timeout)
        try:
            return await super().wait(gen, interval, self.answer_seconds)
        except _WaitTimeout:
            self.pgconn.finish()
            raise NoAnswer(f"the database did not answer within {self.answer_seconds:g} s") from None


class BoundedConnection(psycopg.Connection[Any]):
    """The blocking twin of :class:`BoundedAsyncConnection`, for the health probe's thread."""

    answer_seconds: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> RV:
        if timeout is not None or self.answer_seconds is None:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_seconds)
        except _WaitTimeout:
            self.pgconn.finish()
            raise NoAnswer(f"the database did not answer within {self.answer_seconds:g} s") from None


@contextmanager
def without_answer_deadline(conn: object) -> Iterator[None]:
    """Within the block, ``conn`` (a driver connection) waits for answers as long as they take."""
    if not isinstance(conn, BoundedAsyncConnection):
        yield
        return
    saved, conn.answer_seconds = conn.answer_seconds, None
    try:
        yield
    finally:
        conn.answer_seconds = saved


async def connect(conninfo: str, limits: DatabaseLimits, **kwargs: Any) -> BoundedAsyncConnection:
    conn = await BoundedAsyncConnection.connect(conninfo, **connect_kwargs(conninfo, limits), **kwargs)
    conn.answer_seconds = limits.answer_seconds
    return conn
