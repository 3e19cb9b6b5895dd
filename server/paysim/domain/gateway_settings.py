"""A merchant's per-gateway configuration rules: priorities, the settings a gateway takes, and the
order routing tries gateways in. Pure: the caller passes the gateway names that exist.

A merchant without any configuration is routed to ``simulator`` alone; a disabled configuration is
kept but skipped by routing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from paysim.domain.validation import Violations

MIN_PRIORITY = 1
MAX_PRIORITY = 100
# Where payments go when a merchant has configured no gateway at all.
DEFAULT_GATEWAY = "simulator"
# Generous above the known settings; keeps a hostile request from producing a violation per key.
MAX_SETTINGS_KEYS = 20

TIMEOUT_MS = "timeout_ms"
LATENCY_MS = "latency_ms"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """An integer setting, stored as its decimal string."""

    minimum: int
    maximum: int
    default: int


SETTINGS: dict[str, SettingSpec] = {
    # How long routing waits for the gateway before treating the call as a timeout and failing over.
    TIMEOUT_MS: SettingSpec(minimum=1, maximum=60_000, default=10_000),
    # Simulated latency added to every call to the gateway.
    LATENCY_MS: SettingSpec(minimum=0, maximum=60_000, default=0),
}

# ASCII digits only: str.isdigit() also accepts characters such as "²" that int() refuses.
_DECIMAL = re.compile(r"[0-9]{1,9}")


class Routable(Protocol):
    @property
    def gateway(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def priority(self) -> int: ...


R = TypeVar("R", bound=Routable)


def setting(settings: Mapping[str, str], name: str, default: int | None = None) -> int:
    """The value of a validated setting; when absent, ``default`` if given (e.g. a platform-wide
    setting), else the setting's own default."""
    value = settings.get(name)
    if value is not None:
        return int(value)
    return SETTINGS[name].default if default is None else default


def check_gateway(v: Violations, field: str, gateway: str, known: Collection[str]) -> None:
    if not gateway:
        v.add(field, "is required", "REQUIRED")
    elif gateway not in known:
        v.add(field, f"must be one of {', '.join(known)}", "UNKNOWN_GATEWAY")


def check_priority(v: Violations, field: str, priority: int) -> None:
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        v.add(field, f"must be between {MIN_PRIORITY} and {MAX_PRIORITY} (1 is tried first)", "OUT_OF_RANGE")


def check_settings(v: Violations, field: str, settings: Mapping[str, str]) -> dict[str, str]:
    """Validate ``settings`` and return them normalized (canonical decimal strings)."""
    if len(settings) > MAX_SETTINGS_KEYS:
        v.add(field, f"must have at most {MAX_SETTINGS_KEYS} keys; known settings: {_known()}", "TOO_MANY_KEYS")
        return {}
    normalized: dict[str, str] = {}
    for key in sorted(settings):
        value = settings[key]
        where = f"{field}[{key[:40]!r}]"
        spec = SETTINGS.get(key)
        if spec is None:
            v.add(where, f"is not a setting; known settings: {_known()}", "UNKNOWN_SETTING")
        elif not _DECIMAL.fullmatch(value):
            v.add(where, f"must be a whole number from {spec.minimum} to {spec.maximum}", "INVALID_SETTING")
        elif not spec.minimum <= int(value) <= spec.maximum:
            v.add(where, f"must be from {spec.minimum} to {spec.maximum}", "OUT_OF_RANGE")
        else:
            normalized[key] = str(int(value))
    return normalized


def _known() -> str:
    return ", ".join(sorted(SETTINGS))


def routing_key(config: Routable) -> tuple[int, str]:
    """Priority ascending (1 first); equal priorities by gateway name."""
    return config.priority, config.gateway


def routing_order(configs: Iterable[R]) -> list[R]:
    """The enabled configurations, in the order routing tries them. Empty when none is enabled;
    a merchant with no configurations at all goes to ``DEFAULT_GATEWAY`` (the router decides)."""
    return sorted((c for c in configs if c.enabled), key=routing_key)
