"""One statement for a batch of the analytics read model's rows.

``INSERT … ON CONFLICT (key) DO UPDATE`` adds each counter row's counts to the stored ones (or
replaces a payment row). A round of the projector writes a few dozen counter rows and a row per
payment it saw; as one statement they cost one parse and one round trip, where an
``executemany`` sent each row as a statement of its own.

On PostgreSQL the rows go as one JSON document, ``SELECT … FROM json_populate_recordset(NULL::t,
%s)``: the text is the same whatever the number of rows, so the driver converts it once and the
server prepares it once, and the rows are encoded by the C JSON encoder. A ``VALUES (%s, …), (%s,
…), …`` list has a text per row count, too long for the driver's cache of converted queries:
splitting it again on every round was most of the projector's time in the driver (one array
parameter per column costs less, but psycopg quotes every element in Python: JSON halves that
again). SQLite binds ``?`` natively and gets the ``VALUES`` form.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

# Rows per VALUES statement: well under SQLite's 32,766 parameters at 23 columns.
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
    named, a ``maximum`` column (kept as the larger). ``fresh``: the rows are known to be new.

    On PostgreSQL ``rows`` is ignored and the one parameter is :func:`json_rows` of the rows.
    """
    columns = (*key_names, *counters, *((maximum,) if maximum else ()))
    names = ", ".join(f'"{c}"' for c in columns)
    if postgres:
        source = f"SELECT {names} FROM json_populate_recordset(NULL::{table}, %s)"  # noqa: S608
    else:
        one = "(" + ", ".join(["?"] * len(columns)) + ")"
        source = "VALUES " + ", ".join([one] * rows)
    # Only the schema's own table and column names are composed into the text; every value is a
    # bound parameter.
    insert = f"INSERT INTO {table} ({names}) {source}"
    if fresh:
        return insert
    changes = [f'"{c}" = {table}."{c}" + excluded."{c}"' for c in counters]
    if maximum:
        larger = "GREATEST" if postgres else "max"
        changes.append(f'"{maximum}" = {larger}({table}."{maximum}", excluded."{maximum}")')
    keys = ", ".join(f'"{k}"' for k in key_names)
    return f"{insert} ON CONFLICT ({keys}) DO UPDATE SET {', '.join(changes)}"


@functools.lru_cache(maxsize=16)
def replace_rows_sql(table: str, columns: tuple[str, ...], key: str, *, fresh: bool) -> str:
    """PostgreSQL: insert the rows of the one parameter, :func:`json_rows` of ``columns``,
    replacing every column of a row whose ``key`` exists unless ``fresh``."""
    names = ", ".join(f'"{name}"' for name in columns)
    insert = f"INSERT INTO {table} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table}, %s)"  # noqa: S608
    if fresh:
        return insert
    replaced = ", ".join(f'"{name}" = excluded."{name}"' for name in columns if name != key)
    return f'{insert} ON CONFLICT ("{key}") DO UPDATE SET {replaced}'


def json_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` (values in the order of ``columns``) as the JSON array of objects that
    ``json_populate_recordset`` reads. Times go as ISO 8601 with their offset."""
    return json_records([dict(zip(columns, row, strict=True)) for row in rows])


def json_records(records: Sequence[Mapping[str, Any]]) -> str:
    """Rows given as {column: value} as the JSON that ``json_populate_recordset`` reads."""
    return json.dumps(records, default=_iso, separators=(",", ":"))


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
