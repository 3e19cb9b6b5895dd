"""Figures derived from the read model's counters: rates, means, percentiles, bucket sizes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from paysim.domain.analytics import LATENCY_BOUNDS_MS

BUCKET_WIDTH = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
MAX_BUCKETS = 10_000
"""The most buckets one metrics query may span (a month of minutes is refused; of hours, not)."""


def rates(counts: Mapping[str, int]) -> tuple[float, float]:
    """(success rate, decline rate) over the outcomes of authorization."""
    outcomes = counts.get("authorized", 0) + counts.get("declined", 0) + counts.get("failed", 0)
    if outcomes == 0:
        return 0.0, 0.0
    return counts.get("authorized", 0) / outcomes, counts.get("declined", 0) / outcomes


def mean(total: int, count: int) -> int:
    return total // count if count else 0


def percentile(histogram: list[int], fraction: float, largest: int) -> int:
    """The upper bound of the histogram bucket holding the ``fraction`` quantile (``largest`` for
    the open bucket above the last bound, or when it is below that bound)."""
    total = sum(histogram)
    if total == 0:
        return 0
    wanted = max(1, -(-int(total * fraction * 1_000_000) // 1_000_000))
    seen = 0
    for i, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return min(LATENCY_BOUNDS_MS[i], largest) if i < len(LATENCY_BOUNDS_MS) else largest
    return largest


def widest_aligned_size(start: datetime, end: datetime) -> str:
    """The widest bucket size whose buckets exactly cover [start, end)."""
    for size in ("d", "h"):
        width = BUCKET_WIDTH[size]
        if _aligned(start, width) and _aligned(end, width):
            return size
    return "m"


def _aligned(at: datetime, width: timedelta) -> bool:
    since_epoch = at - datetime(1970, 1, 1, tzinfo=at.tzinfo)
    return since_epoch % width == timedelta(0)
