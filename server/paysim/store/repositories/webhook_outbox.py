"""Writing the webhook outbox with the events: one INSERT … SELECT per saved batch of events.

The statement joins the events just appended with the merchant's enabled endpoints that want their
type, inside the transaction that appends them, so an event and its deliveries commit together or
not at all, and an endpoint created a moment ago by another process is seen without any cache.
A delivery takes the test clock of its payment (written earlier in the same transaction), so its
attempts fall due on that clock (services/webhook_dispatch.py).
When the merchant has no endpoint, the cost is one indexed lookup that finds nothing, pipelined
with the other writes of the PostgreSQL payment unit of work (no extra round trip).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, String, and_, cast, func, insert, literal, or_, select

from paysim.domain.webhooks import ALL_EVENTS, DeliveryState
from paysim.store.schema import payment_events, payments, webhook_deliveries, webhook_endpoints

_COLUMNS = (
    "id",
    "endpoint_id",
    "merchant_id",
    "event_id",
    "event_type",
    "payment_id",
    "event_version",
    "sequence",
    "state",
    "attempt_count",
    "next_attempt_at",
    "redelivery_of",
    "created_at",
    "updated_at",
    "test_clock_id",
)

# psycopg parameters: merchant id, payment id, versions after and up to. Delivery ids are made by
# the database (random, 128 bits), since the rows are only known to it.
ENQUEUE_PG = (
    f"INSERT INTO webhook_deliveries ({', '.join(_COLUMNS)})"  # noqa: S608 - constant text, values are bound
    " SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), w.id, w.merchant_id, e.id, e.type,"
    f" e.aggregate_id, e.version, e.seq, '{DeliveryState.PENDING.value}', 0, e.created_at, '',"
    " e.created_at, e.created_at, (SELECT p.test_clock_id FROM payments p WHERE p.id = e.aggregate_id)"
    " FROM webhook_endpoints w JOIN payment_events e ON e.aggregate_id = %s AND e.version > %s AND e.version <= %s"
    f" WHERE w.merchant_id = %s AND w.enabled AND (w.event_types = '{ALL_EVENTS}'"
    " OR strpos(w.event_types, ',' || e.type || ',') > 0)"
)


def enqueue_pg_params(merchant_id: str, payment_id: str, after_version: int, upto_version: int) -> tuple[Any, ...]:
    return (payment_id, after_version, upto_version, merchant_id)


def enqueue_statement(dialect: str, merchant_id: str, payment_id: str, after_version: int, upto_version: int) -> Insert:
    """The same statement for the SQLAlchemy unit of work, on either database."""
    e, w = payment_events.c, webhook_endpoints.c
    wrapped_type = literal(",") + e.type + literal(",")
    if dialect == "postgresql":
        new_id = literal("whd_") + func.replace(cast(func.gen_random_uuid(), String), "-", "")
        contains = func.strpos(w.event_types, wrapped_type) > 0
    else:
        new_id = literal("whd_") + func.lower(func.hex(func.randomblob(16)))
        contains = func.instr(w.event_types, wrapped_type) > 0
    rows = (
        select(
            new_id,
            w.id,
            w.merchant_id,
            e.id,
            e.type,
            e.aggregate_id,
            e.version,
            e.seq,
            literal(DeliveryState.PENDING.value),
            literal(0),
            e.created_at,
            literal(""),
            e.created_at,
            e.created_at,
            select(payments.c.test_clock_id).where(payments.c.id == e.aggregate_id).scalar_subquery(),
        )
        .select_from(
            webhook_endpoints.join(
                payment_events,
                and_(e.aggregate_id == payment_id, e.version > after_version, e.version <= upto_version),
            )
        )
        .where(w.merchant_id == merchant_id, w.enabled.is_(True), or_(w.event_types == ALL_EVENTS, contains))
    )
    return insert(webhook_deliveries).from_select(list(_COLUMNS), rows)
