"""The writes of a PostgreSQL unit of work, sent together with its COMMIT in one round trip.

Reads run at once (the use case needs their answers); writes wait for ``commit``, then go as one
pipeline. A write that would break the payment's optimistic-concurrency guard makes the database
raise inside that pipeline, so the transaction rolls back and nothing of it is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

IDEMPOTENCY_KEY_CONSTRAINT = "pk_idempotency_keys"


class KeyAlreadyClaimed(Exception):
    """An optimistic idempotency-key reservation met an existing key; nothing was written."""


# Raises division_by_zero when the projection does not carry the version just written: the guarded
# UPDATE before it matched no row because someone else moved the payment on.
VERSION_GUARD = "SELECT 1 / count(*) FROM payments WHERE id = %s AND version = %s"


RowCountCallback = Callable[[int], None]


@dataclass
class PgWriteBatch:
    statements: list[tuple[str, Sequence[Any]]] = field(default_factory=list)
    conflict: Callable[[], Exception] | None = None
    # Statement index → told the statement's row count once the COMMIT succeeded.
    row_counts: dict[int, RowCountCallback] = field(default_factory=dict)

    def add(self, sql: str, params: Sequence[Any], *, on_row_count: RowCountCallback | None = None) -> None:
        if on_row_count is not None:
            self.row_counts[len(self.statements)] = on_row_count
        self.statements.append((sql, params))

    async def commit(self, conn: psycopg.AsyncConnection[Any]) -> None:
        statements, self.statements = self.statements, []
        row_counts, self.row_counts = self.row_counts, {}
        try:
            if statements:
                cursors = []
                async with conn.pipeline():
                    for sql, params in statements:
                        cursors.append(await conn.execute(sql, params))
                    await conn.commit()
                for index, told in row_counts.items():
                    told(cursors[index].rowcount)
            else:
                await conn.commit()
        except (psycopg.errors.UniqueViolation, psycopg.errors.DivisionByZero) as error:
            await conn.rollback()
            if error.diag.constraint_name == IDEMPOTENCY_KEY_CONSTRAINT:
                raise KeyAlreadyClaimed from None
            if self.conflict is None:
                raise
            raise self.conflict() from None
