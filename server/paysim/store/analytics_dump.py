"""The whole analytics read model as plain values, for ``paysim verify``'s comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.domain import analytics as model
from paysim.store.analytics_writer import CHECKPOINT, payment_row
from paysim.store.database import READ_ONLY
from paysim.store.schema import (
    analytics_checkpoints,
    analytics_gateway_buckets,
    analytics_payment_buckets,
    analytics_payments,
)


@dataclass(frozen=True, slots=True)
class ReadModel:
    position: int
    payment_buckets: dict[model.PaymentKey, dict[str, int]]
    gateway_buckets: dict[model.GatewayKey, dict[str, int]]
    gateway_max_latency: dict[model.GatewayKey, int]
    rows: dict[str, model.PaymentRow]


async def dump(engine: AsyncEngine) -> ReadModel:
    """Everything, read in one transaction (one snapshot on PostgreSQL; SQLite's WAL reader too)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**READ_ONLY)
        c = analytics_checkpoints.c
        position = int(await conn.scalar(select(c.position).where(c.name == CHECKPOINT)) or 0)
        payment_buckets = {
            (r.merchant_id, r.size, r.dimension, r.value, r.start): _counts(r, model.PAYMENT_COUNTERS)
            for r in await conn.execute(select(analytics_payment_buckets))
        }
        gateway_rows = list(await conn.execute(select(analytics_gateway_buckets)))
        rows = {r.id: payment_row(r) for r in await conn.execute(select(analytics_payments))}
        await conn.rollback()
    return ReadModel(
        position,
        payment_buckets,
        {(r.merchant_id, r.size, r.gateway, r.start): _counts(r, model.GATEWAY_COUNTERS) for r in gateway_rows},
        {(r.merchant_id, r.size, r.gateway, r.start): int(r.latency_max_ms) for r in gateway_rows},
        rows,
    )


def _counts(row: Any, names: tuple[str, ...]) -> dict[str, int]:
    return {name: int(getattr(row, name)) for name in names}
