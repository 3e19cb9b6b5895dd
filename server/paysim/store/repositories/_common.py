"""Helpers shared by the repositories: keyset pages and unique violations as domain exceptions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, and_, or_
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql as pg_insert
from sqlalchemy.dialects import sqlite as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.duplicates import Duplicate
from paysim.domain.paging import Cursor

T = TypeVar("T")


def after(created: ColumnElement[Any], ident: ColumnElement[Any], cursor: Cursor | None) -> ColumnElement[bool]:
    """Rows strictly after ``cursor`` in ascending (created, id) order."""
    if cursor is None:
        return and_(True)
    return or_(created > cursor.create_time, and_(created == cursor.create_time, ident > cursor.id))


def before(created: ColumnElement[Any], ident: ColumnElement[Any], cursor: Cursor | None) -> ColumnElement[bool]:
    """Rows strictly before ``cursor`` in descending (created, id) order."""
    if cursor is None:
        return and_(True)
    return or_(created < cursor.create_time, and_(created == cursor.create_time, ident < cursor.id))


def page_query(query: Select[Any], limit: int) -> Select[Any]:
    """Fetch one row more than the page so the caller knows whether another page exists."""
    return query.limit(limit + 1)


def split_page(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    return list(rows[:limit]), len(rows) > limit


def unique_violation_on(error: sa_exc.IntegrityError, *names: str) -> bool:
    """Whether ``error`` is a unique violation of one of the named constraints or columns.

    PostgreSQL names the constraint, SQLite the columns, so callers give both."""
    text = str(error.orig).lower()
    return any(name.lower() in text for name in names)


@contextmanager
def unique_values(*rules: tuple[type[Duplicate], tuple[str, ...]]) -> Iterator[None]:
    """Raise the rule's domain exception when a statement inside breaks the unique constraint
    that one of ``rules`` names (by constraint or by columns, as ``unique_violation_on``)."""
    try:
        yield
    except sa_exc.IntegrityError as error:
        for duplicate, names in rules:
            if unique_violation_on(error, *names):
                raise duplicate() from None
        raise


def dialect_insert(dialect_name: str, table: Table) -> pg_insert.Insert | sqlite_insert.Insert:
    """An INSERT that supports ON CONFLICT on both of our databases."""
    if dialect_name == "postgresql":
        return pg_insert.insert(table)
    return sqlite_insert.insert(table)


class SqlRepository:
    """A repository over one SQLAlchemy connection, which serves SQLite and PostgreSQL alike."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
