"""Gateway configuration rules: settings validation and defaults, priorities, routing order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paysim.domain.gateway_settings import (
    DEFAULT_GATEWAY,
    SETTINGS,
    check_gateway,
    check_priority,
    check_settings,
    routing_order,
    setting,
)
from paysim.domain.models import GatewayConfig
from paysim.domain.validation import Violations
from paysim.gateways.registry import GATEWAY_NAMES

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def config(gateway: str, priority: int, *, enabled: bool = True, **settings: str) -> GatewayConfig:
    return GatewayConfig("mer_x", gateway, enabled, priority, settings, NOW, NOW)


def violations(v: Violations) -> dict[str, str]:
    return {item.field: item.reason for item in v.items}


def test_defaults_apply_when_a_setting_is_absent() -> None:
    plain = config("stripe", 1)
    assert (plain.timeout_ms, plain.latency_ms) == (10_000, 0)
    tuned = config("stripe", 1, timeout_ms="1500", latency_ms="250")
    assert (tuned.timeout_ms, tuned.latency_ms) == (1500, 250)
    assert setting({}, "timeout_ms") == SETTINGS["timeout_ms"].default
    assert setting({}, "timeout_ms", default=3000) == 3000  # e.g. the platform's own default
    assert setting({"timeout_ms": "20"}, "timeout_ms", default=3000) == 20


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ({}, {}),
        ({"timeout_ms": "1", "latency_ms": "0"}, {"timeout_ms": "1", "latency_ms": "0"}),
        ({"timeout_ms": "60000", "latency_ms": "60000"}, {"timeout_ms": "60000", "latency_ms": "60000"}),
        ({"timeout_ms": "000250"}, {"timeout_ms": "250"}),
    ],
)
def test_valid_settings_are_normalized(given: dict[str, str], normalized: dict[str, str]) -> None:
    v = Violations()
    assert check_settings(v, "settings", given) == normalized
    assert not v.items


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({"timeout_ms": "0"}, "OUT_OF_RANGE"),
        ({"timeout_ms": "60001"}, "OUT_OF_RANGE"),
        ({"latency_ms": "60001"}, "OUT_OF_RANGE"),
        ({"latency_ms": "-1"}, "INVALID_SETTING"),
        ({"latency_ms": "+1"}, "INVALID_SETTING"),
        ({"latency_ms": " 1"}, "INVALID_SETTING"),
        ({"latency_ms": "1e3"}, "INVALID_SETTING"),
        ({"latency_ms": "١٢"}, "INVALID_SETTING"),  # Arabic-Indic digits: int() would take them
        ({"latency_ms": "9" * 40}, "INVALID_SETTING"),
        ({"latency_ms": ""}, "INVALID_SETTING"),
        ({"Timeout_ms": "5"}, "UNKNOWN_SETTING"),
        ({"": "5"}, "UNKNOWN_SETTING"),
    ],
)
def test_bad_settings_are_field_violations(given: dict[str, str], reason: str) -> None:
    v = Violations()
    assert check_settings(v, "settings", given) == {}
    (key,) = given
    assert violations(v) == {f"settings[{key!r}]": reason}


def test_too_many_settings_are_one_violation() -> None:
    v = Violations()
    check_settings(v, "settings", {f"k{i}": "1" for i in range(1000)})
    assert violations(v) == {"settings": "TOO_MANY_KEYS"}


def test_gateway_and_priority_checks() -> None:
    v = Violations()
    check_gateway(v, "gateway", "", GATEWAY_NAMES)
    assert violations(v) == {"gateway": "REQUIRED"}
    v = Violations()
    check_gateway(v, "gateway", "adyen", GATEWAY_NAMES)
    assert v.items[0].description == "must be one of stripe, paypal, razorpay, simulator"
    for name in GATEWAY_NAMES:
        v = Violations()
        check_gateway(v, "gateway", name, GATEWAY_NAMES)
        check_priority(v, "priority", 1)
        check_priority(v, "priority", 100)
        assert not v.items
    for bad in (0, -1, 101):
        v = Violations()
        check_priority(v, "priority", bad)
        assert violations(v) == {"priority": "OUT_OF_RANGE"}


def test_routing_order_is_enabled_by_priority_then_name() -> None:
    configs = [
        config("stripe", 2),
        config("simulator", 1, enabled=False),
        config("razorpay", 2),
        config("paypal", 3),
    ]
    assert [c.gateway for c in routing_order(configs)] == ["razorpay", "stripe", "paypal"]
    assert routing_order([config("stripe", 1, enabled=False)]) == []
    assert routing_order([]) == []


def test_the_default_gateway_exists() -> None:
    assert DEFAULT_GATEWAY in GATEWAY_NAMES
