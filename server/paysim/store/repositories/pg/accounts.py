"""The merchant and the customer a payment names, read by primary key."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import psycopg

from paysim.domain.card_issuers import UnknownCards
from paysim.domain.models import Customer, Merchant

_MERCHANT = (
    "SELECT id, name, support_email, default_currency, active, created_at, updated_at,"
    " fee_percent_bps, fee_fixed_minor, unknown_cards FROM merchants WHERE id = %s"
)
_CUSTOMER = (
    "SELECT id, merchant_id, email, name, phone, metadata_json, user_id, created_at, updated_at, test_clock_id"
    " FROM customers WHERE id = %s"
)


class PgMerchantRepository:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def get(self, merchant_id: str) -> Merchant | None:
        cur = await self._conn.execute(_MERCHANT, (merchant_id,))
        found = await cur.fetchone()
        if found is None:
            return None
        mid, name, support, currency, active, created, updated, bps, fixed, unknown = found
        return Merchant(
            mid,
            name,
            support,
            currency,
            active,
            created.astimezone(UTC),
            updated.astimezone(UTC),
            bps,
            fixed,
            UnknownCards(unknown),
        )


class PgCustomerRepository:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def get(self, customer_id: str) -> Customer | None:
        cur = await self._conn.execute(_CUSTOMER, (customer_id,))
        found = await cur.fetchone()
        if found is None:
            return None
        cid, merchant_id, email, name, phone, meta, user_id, created, updated, clock_id = found
        return Customer(
            cid,
            merchant_id,
            email,
            name,
            phone,
            json.loads(meta),
            user_id,
            created.astimezone(UTC),
            updated.astimezone(UTC),
            clock_id or "",
        )
