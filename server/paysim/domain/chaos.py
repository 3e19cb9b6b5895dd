"""Seeded chaos: a merchant's profile for one gateway, its validation, and the pure draw.

A profile gives rates (basis points) of errors, timeouts and declines and a log-normal latency
(its median and 99th percentile). Every call the profile acts on is one *draw*, numbered from 0
since the profile was set. Draw ``n`` depends on nothing but (seed, gateway, n): a hash of those
three picks the outcome and the latency, so the same seed and the same calls in the same order give
the same outcomes and latencies in any process, before and after a restart, and for any merchant:
a test that registers a new merchant on every run still replays its sequence. The counter ``n``
lives with the merchant's profile in the database (see store/repositories/chaos_profiles.py).
"""

from __future__ import annotations

import enum
import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist
from typing import Any

from paysim.domain.declines import DECLINES
from paysim.domain.validation import Violations

BPS = 10_000
MAX_LATENCY_MS = 60_000
DEFAULT_DECLINE_CODE = "generic_decline"
# The standard normal's 99th percentile: p99 = p50 * exp(sigma * Z99) for a log-normal.
_Z99 = NormalDist().inv_cdf(0.99)
_INT64 = 2**63


class ChaosKind(enum.StrEnum):
    ERROR = "error"
    TIMEOUT = "timeout"
    DECLINE = "decline"
    # Only the latency is the profile's; the answer is the gateway's own.
    LATENCY = "latency"


@dataclass(frozen=True, slots=True)
class ChaosSettings:
    """What a merchant sets; rates in basis points, latencies in milliseconds."""

    error_bps: int = 0
    timeout_bps: int = 0
    decline_bps: int = 0
    decline_code: str = DEFAULT_DECLINE_CODE
    latency_p50_ms: int = 0
    latency_p99_ms: int = 0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_bps": self.error_bps,
            "timeout_bps": self.timeout_bps,
            "decline_bps": self.decline_bps,
            "decline_code": self.decline_code,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChaosSettings:
        return cls(
            error_bps=int(data["error_bps"]),
            timeout_bps=int(data["timeout_bps"]),
            decline_bps=int(data["decline_bps"]),
            decline_code=str(data["decline_code"]),
            latency_p50_ms=int(data["latency_p50_ms"]),
            latency_p99_ms=int(data["latency_p99_ms"]),
            seed=int(data["seed"]),
        )


@dataclass(frozen=True, slots=True)
class ChaosProfile:
    merchant_id: str
    gateway: str
    settings: ChaosSettings
    draws: int  # draws taken so far: the number of the next one
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ChaosDraw:
    """What the profile does to one call."""

    index: int
    kind: ChaosKind
    latency_ms: int
    decline_code: str = ""

    @property
    def source(self) -> str:
        return f"chaos:{self.kind.value}#{self.index}"

    @property
    def made_outcome(self) -> bool:
        """Whether the outcome is the profile's (not only the latency)."""
        return self.kind is not ChaosKind.LATENCY


def check_settings(v: Violations, s: ChaosSettings) -> ChaosSettings:
    """Field violations for a bad profile; returns it normalized (p99 0 means the median)."""
    rates = {"error_rate_bps": s.error_bps, "timeout_rate_bps": s.timeout_bps, "decline_rate_bps": s.decline_bps}
    for field, rate in rates.items():
        if not 0 <= rate <= BPS:
            v.add(field, f"must be from 0 to {BPS} basis points", "OUT_OF_RANGE")
    if all(0 <= r <= BPS for r in rates.values()) and sum(rates.values()) > BPS:
        v.add("error_rate_bps", f"error, timeout and decline rates add up to more than {BPS} basis points", "TOO_LARGE")
    if s.decline_code not in DECLINES:
        v.add("decline_code", "names an unknown decline code", "UNKNOWN_DECLINE_CODE")
    if not 0 <= s.latency_p50_ms <= MAX_LATENCY_MS:
        v.add("latency_p50_ms", f"must be from 0 to {MAX_LATENCY_MS} ms", "OUT_OF_RANGE")
    p99 = s.latency_p99_ms or s.latency_p50_ms
    if s.latency_p99_ms and not s.latency_p50_ms <= s.latency_p99_ms <= MAX_LATENCY_MS:
        v.add("latency_p99_ms", f"must be 0, or from latency_p50_ms to {MAX_LATENCY_MS} ms", "OUT_OF_RANGE")
    if not -_INT64 <= s.seed < _INT64:
        v.add("seed", "must be a 64-bit signed integer", "OUT_OF_RANGE")
    return ChaosSettings(s.error_bps, s.timeout_bps, s.decline_bps, s.decline_code, s.latency_p50_ms, p99, s.seed)


def _uniforms(settings: ChaosSettings, gateway: str, index: int) -> tuple[int, float]:
    """Two independent values from the hash: a basis point (0..9,999) and a fraction in (0, 1)."""
    key = f"paysim-chaos|{settings.seed}|{gateway}|{index}".encode()
    digest = hashlib.sha256(key).digest()
    point = int.from_bytes(digest[:8], "big") % BPS
    fraction = (int.from_bytes(digest[8:16], "big") + 0.5) / 2**64
    return point, fraction


def latency(settings: ChaosSettings, fraction: float) -> int:
    """The log-normal latency at quantile ``fraction``: its median and 99th percentile are the
    profile's; whole milliseconds, at most MAX_LATENCY_MS."""
    median = settings.latency_p50_ms
    if median <= 0:
        return 0
    spread = max(settings.latency_p99_ms, median) / median
    sigma = math.log(spread) / _Z99
    value = median * math.exp(sigma * NormalDist().inv_cdf(fraction))
    return min(MAX_LATENCY_MS, round(value))


def draw(settings: ChaosSettings, gateway: str, index: int) -> ChaosDraw:
    """Draw ``index`` of a profile: a pure function of the seed, the gateway and the index."""
    point, fraction = _uniforms(settings, gateway, index)
    waited = latency(settings, fraction)
    if point < settings.error_bps:
        return ChaosDraw(index, ChaosKind.ERROR, waited)
    if point < settings.error_bps + settings.timeout_bps:
        return ChaosDraw(index, ChaosKind.TIMEOUT, waited)
    if point < settings.error_bps + settings.timeout_bps + settings.decline_bps:
        return ChaosDraw(index, ChaosKind.DECLINE, waited, settings.decline_code)
    return ChaosDraw(index, ChaosKind.LATENCY, waited)
