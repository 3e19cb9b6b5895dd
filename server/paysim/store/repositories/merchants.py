"""Merchants and users: the accounts of the platform."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.card_issuers import UnknownCards
from paysim.domain.duplicates import DuplicateEmail, MerchantNameTaken
from paysim.domain.models import Merchant, User
from paysim.domain.paging import Cursor
from paysim.domain.roles import Role
from paysim.store.repositories._common import SqlRepository, after, page_query, split_page, unique_values
from paysim.store.schema import merchants, users


def _merchant(row: Row[Any]) -> Merchant:
    return Merchant(
        id=row.id,
        name=row.name,
        support_email=row.support_email,
        default_currency=row.default_currency,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
        fee_percent_bps=row.fee_percent_bps,
        fee_fixed=row.fee_fixed_minor,
        unknown_cards=UnknownCards(row.unknown_cards),
    )


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        full_name=row.full_name,
        role=Role(row.role),
        active=row.active,
        merchant_id=row.merchant_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        password_hash=row.password_hash,
    )


def name_key(name: str) -> str:
    """Merchant names are unique regardless of case and surrounding space."""
    return name.strip().casefold()


# PostgreSQL reports the constraint, SQLite the columns.
NAME_TAKEN = (MerchantNameTaken, ("uq_merchants_name_key", "merchants.name_key"))
EMAIL_TAKEN = (DuplicateEmail, ("uq_users_email", "users.email"))


class MerchantRepository(SqlRepository):
    async def add(self, merchant: Merchant) -> None:
        """Raises ``MerchantNameTaken`` when another merchant has the name."""
        with unique_values(NAME_TAKEN):
            await self._conn.execute(
                insert(merchants).values(
                    id=merchant.id,
                    name=merchant.name,
                    name_key=name_key(merchant.name),
                    support_email=merchant.support_email,
                    default_currency=merchant.default_currency,
                    active=merchant.active,
                    created_at=merchant.created_at,
                    updated_at=merchant.updated_at,
                    fee_percent_bps=merchant.fee_percent_bps,
                    fee_fixed_minor=merchant.fee_fixed,
                    unknown_cards=merchant.unknown_cards.value,
                )
            )

    async def get(self, merchant_id: str) -> Merchant | None:
        row = (await self._conn.execute(select(merchants).where(merchants.c.id == merchant_id))).first()
        return _merchant(row) if row else None

    async def is_active(self, merchant_id: str) -> bool:
        value = await self._conn.scalar(select(merchants.c.active).where(merchants.c.id == merchant_id))
        return bool(value)

    async def update(self, merchant: Merchant) -> None:
        """Raises ``MerchantNameTaken`` when another merchant has the new name."""
        with unique_values(NAME_TAKEN):
            await self._conn.execute(
                update(merchants)
                .where(merchants.c.id == merchant.id)
                .values(
                    name=merchant.name,
                    name_key=name_key(merchant.name),
                    support_email=merchant.support_email,
                    default_currency=merchant.default_currency,
                    active=merchant.active,
                    updated_at=merchant.updated_at,
                    fee_percent_bps=merchant.fee_percent_bps,
                    fee_fixed_minor=merchant.fee_fixed,
                    unknown_cards=merchant.unknown_cards.value,
                )
            )

    async def list_page(self, cursor: Cursor | None, limit: int) -> tuple[list[Merchant], bool]:
        query = select(merchants).where(after(merchants.c.created_at, merchants.c.id, cursor))
        query = query.order_by(merchants.c.created_at, merchants.c.id)
        rows = (await self._conn.execute(page_query(query, limit))).all()
        page, more = split_page(rows, limit)
        return [_merchant(r) for r in page], more


class UserRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> None:
        """Raises ``DuplicateEmail`` when another account has the email."""
        with unique_values(EMAIL_TAKEN):
            await self._conn.execute(
                insert(users).values(
                    id=user.id,
                    email=user.email,
                    password_hash=user.password_hash,
                    full_name=user.full_name,
                    role=user.role.value,
                    active=user.active,
                    merchant_id=user.merchant_id,
                    created_at=user.created_at,
                    updated_at=user.updated_at,
                )
            )

    async def get(self, user_id: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._conn.execute(select(users).where(users.c.email == email))).first()
        return _user(row) if row else None

    async def set_password(self, user_id: str, password_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash, updated_at=now)
        )
