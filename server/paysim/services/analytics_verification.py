"""Recomputes the analytics read model from the events by brute force and compares.

The read model is trusted because it can be rebuilt: ``paysim verify`` folds every event up to
the projector's checkpoint from nothing, in memory, and compares the result with what is stored.
The projector may move on while this runs; the stored model is read in one snapshot together with
its checkpoint, and only the events up to that checkpoint are folded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.domain import analytics as model
from paysim.services.analytics_projector import stored
from paysim.store.analytics_dump import ReadModel, dump
from paysim.store.analytics_writer import row_values
from paysim.store.event_log import EventFilter, EventLog

_PAGE = 5000


@dataclass
class AnalyticsReport:
    position: int = 0
    events: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


async def recompute(events: EventLog, upto: int) -> tuple[model.Changes, int]:
    """The read model folded from every event with seq <= ``upto``, and how many there were."""
    changes = model.Changes()
    after, count = 0, 0
    while True:
        page = await events.read_range(after, upto, EventFilter(), _PAGE)
        for event in page:
            model.fold(changes, stored(event), None)
        count += len(page)
        if len(page) < _PAGE:
            return changes, count
        after = page[-1].seq


def _differences(label: str, expected: Mapping[Any, Any], found: Mapping[Any, Any]) -> list[str]:
    wrong = sorted((k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k)), key=repr)
    return [f"{label} {k!r}: expected {expected.get(k)!r}, stored {found.get(k)!r}" for k in wrong[:20]] + (
        [f"{label}: {len(wrong) - 20} more differences"] if len(wrong) > 20 else []
    )


def _complete(buckets: Mapping[Any, Mapping[str, int]], names: tuple[str, ...]) -> dict[Any, dict[str, int]]:
    """Every counter of every bucket, zeros included (as the stored rows have them)."""
    return {key: {name: counts.get(name, 0) for name in names} for key, counts in buckets.items()}


def compare(stored_model: ReadModel, rebuilt: model.Changes) -> list[str]:
    payment_buckets = _complete(rebuilt.payment_buckets, model.PAYMENT_COUNTERS)
    gateway_buckets = _complete(rebuilt.gateway_buckets, model.GATEWAY_COUNTERS)
    maxima = {key: rebuilt.gateway_max_latency.get(key, 0) for key in gateway_buckets}
    rows_expected = {k: row_values(v) for k, v in rebuilt.rows.items()}
    rows_found = {k: row_values(v) for k, v in stored_model.rows.items()}
    return [
        *_differences("payment bucket", payment_buckets, stored_model.payment_buckets),
        *_differences("gateway bucket", gateway_buckets, stored_model.gateway_buckets),
        *_differences("gateway latency maximum", maxima, stored_model.gateway_max_latency),
        *_differences("payment", rows_expected, rows_found),
    ]


async def verify_analytics(engine: AsyncEngine) -> AnalyticsReport:
    stored_model = await dump(engine)
    rebuilt, count = await recompute(EventLog(engine), stored_model.position)
    return AnalyticsReport(stored_model.position, count, compare(stored_model, rebuilt))
