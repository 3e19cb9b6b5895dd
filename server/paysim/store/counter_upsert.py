"""One statement for a batch of the analytics read model's counter rows.

``INSERT … VALUES (…), (…), … ON CONFLICT (key) DO UPDATE`` adds each row's counts to the stored
ones. A round of the projector writes a few dozen such rows; as one statement they cost one
parse and one round trip, where an ``executemany`` sent each row as a statement of its own (a
fifth of the projector's time on a busy server). The text depends only on the table's columns and
the number of rows, so it is built once per shape.
"""

from __future__ import annotations

import functools

# Rows per statement: well under PostgreSQL's 65,535 and SQLite's 32,766 parameters at 23 columns.
ROWS_PER_STATEMENT = 1000


@functools.lru_cache(maxsize=512)
def counter_upsert_sql(
    table: str,
    key_names: tuple[str, ...],
    counters: tuple[str, ...],
    maximum: str,
    rows: int,
    *,
    postgres: bool,
    fresh: bool,
) -> str:
    """The statement for ``rows`` rows of ``key_names``, ``counters`` (added on conflict) and, if
    named, a ``maximum`` column (kept as the larger). ``fresh``: the rows are known to be new."""
    columns = (*key_names, *counters, *((maximum,) if maximum else ()))
    mark = "%s" if postgres else "?"
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    names = ", ".join(f'"{c}"' for c in columns)
    # Only the schema's own table and column names are composed into the text; every value is a
    # bound parameter.
    insert = f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * rows)  # noqa: S608
    if fresh:
        return insert
    changes = [f'"{c}" = {table}."{c}" + excluded."{c}"' for c in counters]
    if maximum:
        larger = "GREATEST" if postgres else "max"
        changes.append(f'"{maximum}" = {larger}({table}."{maximum}", excluded."{maximum}")')
    keys = ", ".join(f'"{k}"' for k in key_names)
    return f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {', '.join(changes)}"
