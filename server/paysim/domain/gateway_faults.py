"""Simulated gateway faults: outages and scripted outcomes, as pure values and rules.

An *outage* makes every call to one gateway fail (``error``) or hang until the caller's timeout
(``timeout``), for a while or until cleared. A *script* is the next N outcomes of a gateway, taken
one per call in order (``error, error, approve``), after which calls behave normally again.

Faults are scoped like circuit breakers: a merchant's faults act on its own payments only; the
platform scope (set by an admin) acts on every merchant's calls to that gateway. An outage wins over
a script, and a script step over a per-request override, which wins over the card's own scenario.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from paysim.domain.declines import DECLINES
from paysim.domain.validation import Violations

PLATFORM_SCOPE = "platform"
MAX_SCRIPT_STEPS = 100


class FaultMode(enum.StrEnum):
    ERROR = "error"
    TIMEOUT = "timeout"


class StepKind(enum.StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class ScriptStep:
    kind: StepKind
    decline_code: str = ""

    def to_text(self) -> str:
        return f"{self.kind.value}:{self.decline_code}" if self.decline_code else self.kind.value

    @classmethod
    def from_text(cls, text: str) -> ScriptStep:
        kind, _, code = text.partition(":")
        return cls(StepKind(kind), code)


@dataclass(frozen=True, slots=True)
class GatewayFaults:
    """The faults of one gateway in one scope."""

    scope: str
    gateway: str
    outage: FaultMode | None = None
    outage_until: datetime | None = None  # None with an outage: until cleared
    script: tuple[ScriptStep, ...] = ()
    updated_at: datetime | None = None

    def outage_at(self, now: datetime) -> FaultMode | None:
        """The outage in force at ``now``, if any (an expired one is no outage)."""
        if self.outage is None:
            return None
        if self.outage_until is not None and now >= self.outage_until:
            return None
        return self.outage

    def is_empty(self, now: datetime) -> bool:
        return self.outage_at(now) is None and not self.script

    def to_dict(self) -> dict[str, Any]:
        return {
            "outage": self.outage.value if self.outage else None,
            "outage_until": self.outage_until.isoformat() if self.outage_until else None,
            "script": [step.to_text() for step in self.script],
        }

    @classmethod
    def from_dict(cls, scope: str, gateway: str, data: dict[str, Any], updated_at: datetime) -> GatewayFaults:
        until = data.get("outage_until")
        return cls(
            scope=scope,
            gateway=gateway,
            outage=FaultMode(data["outage"]) if data.get("outage") else None,
            outage_until=datetime.fromisoformat(until) if until else None,
            script=tuple(ScriptStep.from_text(s) for s in data.get("script", ())),
            updated_at=updated_at,
        )


@dataclass(frozen=True, slots=True)
class Injection:
    """What the fault layer does to one call: nothing (None), or one of these."""

    kind: StepKind
    decline_code: str = ""
    source: str = ""  # "outage" | "script": recorded on the attempt so a test can tell why


def with_outage(faults: GatewayFaults, mode: FaultMode, until: datetime | None) -> GatewayFaults:
    return replace(faults, outage=mode, outage_until=until)


def without_outage(faults: GatewayFaults) -> GatewayFaults:
    return replace(faults, outage=None, outage_until=None)


def with_script(faults: GatewayFaults, steps: Sequence[ScriptStep], *, append: bool) -> GatewayFaults:
    script = (*faults.script, *steps) if append else tuple(steps)
    return replace(faults, script=script)


def take_step(faults: GatewayFaults) -> tuple[ScriptStep | None, GatewayFaults]:
    """The next scripted outcome and the faults without it (None when the script is empty)."""
    if not faults.script:
        return None, faults
    return faults.script[0], replace(faults, script=faults.script[1:])


def outage_injection(layers: Iterable[GatewayFaults], now: datetime) -> Injection | None:
    """The outage acting on a call, looking at the merchant's and the platform's faults."""
    for faults in layers:
        mode = faults.outage_at(now)
        if mode is not None:
            kind = StepKind.TIMEOUT if mode is FaultMode.TIMEOUT else StepKind.ERROR
            return Injection(kind, source=f"outage:{faults.scope}")
    return None


def step_injection(step: ScriptStep, scope: str) -> Injection:
    return Injection(step.kind, step.decline_code, source=f"script:{scope}")


def parse_steps(v: Violations, field: str, texts: Sequence[tuple[str, str]]) -> list[ScriptStep]:
    """Validate (kind, decline_code) pairs into steps, with a field violation per bad entry."""
    if not texts:
        v.add(field, "must name at least one outcome", "REQUIRED")
    if len(texts) > MAX_SCRIPT_STEPS:
        v.add(field, f"may hold at most {MAX_SCRIPT_STEPS} outcomes", "TOO_MANY")
        return []
    steps: list[ScriptStep] = []
    for i, (kind, code) in enumerate(texts):
        where = f"{field}[{i}]"
        if kind not in {k.value for k in StepKind}:
            v.add(f"{where}.kind", "must be approve, decline, error or timeout", "INVALID_OUTCOME")
            continue
        if code and kind != StepKind.DECLINE:
            v.add(f"{where}.decline_code", "is only allowed on a decline", "NOT_ALLOWED")
            continue
        if code and code not in DECLINES:
            v.add(f"{where}.decline_code", "names an unknown decline code", "UNKNOWN_DECLINE_CODE")
            continue
        steps.append(ScriptStep(StepKind(kind), code or ("generic_decline" if kind == StepKind.DECLINE else "")))
    return steps
