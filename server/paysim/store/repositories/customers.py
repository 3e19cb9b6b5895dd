"""A merchant's customers."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, insert, select, update

from paysim.domain.models import Customer
from paysim.domain.paging import Cursor
from paysim.store.repositories._common import SqlRepository, after, page_query, split_page
from paysim.store.schema import customers


def _customer(row: Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        merchant_id=row.merchant_id,
        email=row.email,
        name=row.name,
        phone=row.phone,
        metadata=json.loads(row.metadata_json),
        user_id=row.user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        test_clock_id=row.test_clock_id or "",
    )


def _values(c: Customer) -> dict[str, Any]:
    return {
        "email": c.email,
        "name": c.name,
        "phone": c.phone,
        "metadata_json": json.dumps(c.metadata, sort_keys=True),
        "user_id": c.user_id,
        "updated_at": c.updated_at,
    }


class CustomerRepository(SqlRepository):
    async def add(self, c: Customer) -> None:
        await self._conn.execute(
            insert(customers).values(
                id=c.id,
                merchant_id=c.merchant_id,
                created_at=c.created_at,
                test_clock_id=c.test_clock_id or None,
                **_values(c),
            )
        )

    async def on_clock(self, test_clock_id: str) -> bool:
        """Whether any customer lives on the clock."""
        query = select(customers.c.id).where(customers.c.test_clock_id == test_clock_id).limit(1)
        return await self._conn.scalar(query) is not None

    async def get(self, customer_id: str) -> Customer | None:
        row = (await self._conn.execute(select(customers).where(customers.c.id == customer_id))).first()
        return _customer(row) if row else None

    async def update(self, c: Customer) -> None:
        await self._conn.execute(update(customers).where(customers.c.id == c.id).values(**_values(c)))

    async def delete(self, customer_id: str) -> None:
        await self._conn.execute(delete(customers).where(customers.c.id == customer_id))

    async def list_page(
        self,
        *,
        merchant_id: str | None,
        user_id: str | None,
        email: str | None,
        cursor: Cursor | None,
        limit: int,
    ) -> tuple[list[Customer], bool]:
        conditions: list[ColumnElement[bool]] = [after(customers.c.created_at, customers.c.id, cursor)]
        if merchant_id is not None:
            conditions.append(customers.c.merchant_id == merchant_id)
        if user_id is not None:
            conditions.append(customers.c.user_id == user_id)
        if email:
            conditions.append(customers.c.email == email.lower())
        query = select(customers).where(*conditions).order_by(customers.c.created_at, customers.c.id)
        rows = (await self._conn.execute(page_query(query, limit))).all()
        page, more = split_page(rows, limit)
        return [_customer(r) for r in page], more
