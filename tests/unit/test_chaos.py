"""The chaos draw: a pure function of (seed, gateway, n), whose rates and latency
percentiles are those of the profile, and the validation of a profile."""

from __future__ import annotations

from collections import Counter

import pytest

from paysim.domain.chaos import BPS, ChaosKind, ChaosSettings, check_settings, draw, latency
from paysim.domain.validation import Violations

SETTINGS = ChaosSettings(
    error_bps=300, timeout_bps=200, decline_bps=1_000, decline_code="card_declined", latency_p50_ms=80,
    latency_p99_ms=900, seed=42,
)  # fmt: skip


def test_a_draw_depends_on_seed_gateway_and_index_only() -> None:
    once = [draw(SETTINGS, "stripe", n) for n in range(200)]
    assert once == [draw(SETTINGS, "stripe", n) for n in range(200)]
    assert [d.index for d in once] == list(range(200))
    for other in (
        [draw(ChaosSettings(**{**SETTINGS.to_dict(), "seed": 43}), "stripe", n) for n in range(200)],
        [draw(SETTINGS, "paypal", n) for n in range(200)],
    ):
        assert [(d.kind, d.latency_ms) for d in other] != [(d.kind, d.latency_ms) for d in once]


def test_the_rates_and_latency_percentiles_are_the_profiles() -> None:
    draws = [draw(SETTINGS, "stripe", n) for n in range(20_000)]
    kinds = Counter(d.kind for d in draws)
    # 20,000 draws of a fixed seed: the same counts every run; within a few standard deviations.
    assert abs(kinds[ChaosKind.ERROR] - 600) < 100
    assert abs(kinds[ChaosKind.TIMEOUT] - 400) < 80
    assert abs(kinds[ChaosKind.DECLINE] - 2_000) < 200
    assert all(d.decline_code == "card_declined" for d in draws if d.kind is ChaosKind.DECLINE)
    latencies = sorted(d.latency_ms for d in draws)
    assert 75 <= latencies[len(latencies) // 2] <= 85
    assert 800 <= latencies[int(len(latencies) * 0.99)] <= 1_000


def test_latency_without_a_spread_is_the_median_and_zero_is_none() -> None:
    flat = ChaosSettings(latency_p50_ms=25, latency_p99_ms=25)
    assert {latency(flat, f) for f in (0.001, 0.5, 0.999)} == {25}
    assert latency(ChaosSettings(), 0.999) == 0
    assert latency(ChaosSettings(latency_p50_ms=50_000, latency_p99_ms=60_000), 1 - 1e-12) == 60_000


def test_full_rates_always_fault_and_zero_rates_never() -> None:
    always = ChaosSettings(error_bps=BPS)
    assert {draw(always, "g", n).kind for n in range(500)} == {ChaosKind.ERROR}
    assert {draw(ChaosSettings(), "g", n).kind for n in range(500)} == {ChaosKind.LATENCY}
    assert draw(always, "g", 7).source == "chaos:error#7" and draw(always, "g", 7).made_outcome


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        (ChaosSettings(error_bps=-1), {"error_rate_bps"}),
        (ChaosSettings(timeout_bps=BPS + 1), {"timeout_rate_bps"}),
        (ChaosSettings(error_bps=5_000, timeout_bps=5_000, decline_bps=1), {"error_rate_bps"}),
        (ChaosSettings(decline_code="nope"), {"decline_code"}),
        (ChaosSettings(latency_p50_ms=10, latency_p99_ms=9), {"latency_p99_ms"}),
        (ChaosSettings(latency_p50_ms=60_001), {"latency_p50_ms"}),
        (ChaosSettings(seed=2**63), {"seed"}),
        (ChaosSettings(error_bps=BPS, timeout_bps=BPS, latency_p50_ms=-1), {"latency_p50_ms"}),
    ],
)
def test_bad_settings_are_field_violations(settings: ChaosSettings, fields: set[str]) -> None:
    v = Violations()
    check_settings(v, settings)
    assert {violation.field for violation in v.items} >= fields


def test_good_settings_are_normalized() -> None:
    v = Violations()
    normal = check_settings(v, ChaosSettings(error_bps=BPS, latency_p50_ms=30, seed=-(2**63)))
    assert not v.items
    assert normal.latency_p99_ms == 30  # no spread: the median
