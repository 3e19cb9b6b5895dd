"""A circuit breaker per (scope, gateway), as pure functions over an immutable state.

    CLOSED ──(failure_threshold failures within window)──▶ OPEN
    OPEN ──(cool_down elapsed, at the next admit)──▶ HALF_OPEN
    HALF_OPEN ──(success_threshold successes)──▶ CLOSED
    HALF_OPEN ──(any failure)──▶ OPEN

CLOSED admits every call. OPEN rejects every call until ``opened_at + cool_down``. HALF_OPEN admits
at most ``max_probes`` calls in flight at a time; a probe whose outcome is never recorded (its caller
crashed) frees its slot after ``probe_timeout``. Successes in CLOSED do not clear earlier failures:
the breaker counts failures in a sliding window, not consecutive ones.

Times are aware datetimes passed in by the caller; nothing here reads a clock or does I/O. The
state round-trips through JSON (``to_dict`` / ``from_dict``) so it can be stored and shared by
every server process.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any


class BreakerStatus(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Decision(enum.StrEnum):
    ALLOWED = "allowed"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_threshold: int = 5
    window: timedelta = timedelta(seconds=60)
    cool_down: timedelta = timedelta(seconds=30)
    max_probes: int = 1
    success_threshold: int = 2
    probe_timeout: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        for name in ("failure_threshold", "max_probes", "success_threshold"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("window", "cool_down", "probe_timeout"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")

    def to_dict(self) -> dict[str, Any]:
        return {
            "failure_threshold": self.failure_threshold,
            "window_seconds": self.window.total_seconds(),
            "cool_down_seconds": self.cool_down.total_seconds(),
            "max_probes": self.max_probes,
            "success_threshold": self.success_threshold,
            "probe_timeout_seconds": self.probe_timeout.total_seconds(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakerConfig:
        return cls(
            failure_threshold=int(data["failure_threshold"]),
            window=timedelta(seconds=float(data["window_seconds"])),
            cool_down=timedelta(seconds=float(data["cool_down_seconds"])),
            max_probes=int(data["max_probes"]),
            success_threshold=int(data["success_threshold"]),
            probe_timeout=timedelta(seconds=float(data["probe_timeout_seconds"])),
        )


@dataclass(frozen=True, slots=True)
class BreakerState:
    status: BreakerStatus
    # When the breaker last changed status (or was created / reset).
    changed_at: datetime
    # CLOSED: times of the recent failures still inside the window (at most failure_threshold).
    failures_in_window: tuple[datetime, ...] = ()
    # OPEN (and HALF_OPEN, for reference): when the breaker last opened.
    opened_at: datetime | None = None
    # HALF_OPEN: admission times of the probes whose outcome is still outstanding.
    probes: tuple[datetime, ...] = ()
    # HALF_OPEN: successes recorded since the breaker half-opened.
    half_open_successes: int = 0
    # Statistics since creation or the last reset.
    calls: int = 0  # outcomes recorded (successes + failures)
    successes: int = 0
    failures: int = 0
    rejections: int = 0
    state_changes: int = 0
    last_failure_at: datetime | None = None
    last_failure_reason: str = ""

    @property
    def probes_in_flight(self) -> int:
        return len(self.probes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "changed_at": self.changed_at.isoformat(),
            "failures_in_window": [t.isoformat() for t in self.failures_in_window],
            "opened_at": _iso(self.opened_at),
            "probes": [t.isoformat() for t in self.probes],
            "half_open_successes": self.half_open_successes,
            "calls": self.calls,
            "successes": self.successes,
            "failures": self.failures,
            "rejections": self.rejections,
            "state_changes": self.state_changes,
            "last_failure_at": _iso(self.last_failure_at),
            "last_failure_reason": self.last_failure_reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakerState:
        return cls(
            status=BreakerStatus(data["status"]),
            changed_at=_parse(data["changed_at"]),
            failures_in_window=tuple(_parse(t) for t in data.get("failures_in_window", ())),
            opened_at=_parse_optional(data.get("opened_at")),
            probes=tuple(_parse(t) for t in data.get("probes", ())),
            half_open_successes=int(data.get("half_open_successes", 0)),
            calls=int(data.get("calls", 0)),
            successes=int(data.get("successes", 0)),
            failures=int(data.get("failures", 0)),
            rejections=int(data.get("rejections", 0)),
            state_changes=int(data.get("state_changes", 0)),
            last_failure_at=_parse_optional(data.get("last_failure_at")),
            last_failure_reason=str(data.get("last_failure_reason", "")),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("breaker times must carry a time zone")
    return parsed


def _parse_optional(value: str | None) -> datetime | None:
    return _parse(value) if value is not None else None


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")


def reset(now: datetime) -> BreakerState:
    """A fresh CLOSED breaker with no history: the initial state, and what an admin reset gives."""
    _check_aware(now)
    return BreakerState(status=BreakerStatus.CLOSED, changed_at=now)


def _transition(state: BreakerState, status: BreakerStatus, now: datetime, **changes: Any) -> BreakerState:
    return replace(
        state,
        status=status,
        changed_at=now,
        state_changes=state.state_changes + 1,
        failures_in_window=(),
        probes=(),
        half_open_successes=0,
        **changes,
    )


def _live_probes(state: BreakerState, config: BreakerConfig, now: datetime) -> tuple[datetime, ...]:
    return tuple(t for t in state.probes if now - t < config.probe_timeout)


def reopens_at(state: BreakerState, config: BreakerConfig) -> datetime | None:
    """When an OPEN breaker starts admitting probes again (None unless OPEN)."""
    if state.status is not BreakerStatus.OPEN or state.opened_at is None:
        return None
    return state.opened_at + config.cool_down


def effective_status(state: BreakerState, config: BreakerConfig, now: datetime) -> BreakerStatus:
    """The status a call at ``now`` would meet: an OPEN breaker past its cool-down is HALF_OPEN."""
    until = reopens_at(state, config)
    if until is not None and now >= until:
        return BreakerStatus.HALF_OPEN
    return state.status


def would_admit(state: BreakerState, config: BreakerConfig, now: datetime) -> bool:
    """Whether ``admit`` at ``now`` would allow a call, without changing anything (for routing)."""
    return admit(state, config, now)[0] is Decision.ALLOWED


def admit(state: BreakerState, config: BreakerConfig, now: datetime) -> tuple[Decision, BreakerState]:
    """Decide whether a call may go through now. CLOSED returns ``state`` itself (nothing to save);
    OPEN past its cool-down becomes HALF_OPEN here; HALF_OPEN counts the probe it lets through."""
    _check_aware(now)
    if state.status is BreakerStatus.CLOSED:
        return Decision.ALLOWED, state
    if state.status is BreakerStatus.OPEN:
        until = reopens_at(state, config)
        if until is not None and now < until:
            return Decision.REJECTED, replace(state, rejections=state.rejections + 1)
        state = _transition(state, BreakerStatus.HALF_OPEN, now, opened_at=state.opened_at)
    probes = _live_probes(state, config, now)
    if len(probes) >= config.max_probes:
        return Decision.REJECTED, replace(state, probes=probes, rejections=state.rejections + 1)
    return Decision.ALLOWED, replace(state, probes=(*probes, now))


def record_success(state: BreakerState, config: BreakerConfig, now: datetime) -> BreakerState:
    """A call through the breaker succeeded."""
    _check_aware(now)
    state = replace(state, calls=state.calls + 1, successes=state.successes + 1)
    if state.status is not BreakerStatus.HALF_OPEN:
        # CLOSED: failures in the window still count. OPEN: a straggler admitted before the
        # breaker opened; the cool-down runs its course regardless.
        return state
    successes = state.half_open_successes + 1
    if successes >= config.success_threshold:
        return _transition(state, BreakerStatus.CLOSED, now, opened_at=None)
    return replace(state, probes=state.probes[1:], half_open_successes=successes)


def record_successes(state: BreakerState, now: datetime, count: int) -> BreakerState:
    """``count`` successes counted in a process while the breaker was CLOSED and healthy, written
    later: statistics only, whatever the breaker's status is by now (they were not probes)."""
    _check_aware(now)
    count = max(0, count)
    return replace(state, calls=state.calls + count, successes=state.successes + count)


def record_failure(state: BreakerState, config: BreakerConfig, now: datetime, reason: str = "") -> BreakerState:
    """A call through the breaker failed (a gateway error or timeout, not a card decline)."""
    _check_aware(now)
    state = replace(
        state,
        calls=state.calls + 1,
        failures=state.failures + 1,
        last_failure_at=now,
        last_failure_reason=reason,
    )
    if state.status is BreakerStatus.OPEN:
        return state
    if state.status is BreakerStatus.HALF_OPEN:
        return _transition(state, BreakerStatus.OPEN, now, opened_at=now)
    recent = tuple(t for t in state.failures_in_window if now - t < config.window)
    recent = (*recent, now)[-config.failure_threshold :]
    if len(recent) >= config.failure_threshold:
        return _transition(state, BreakerStatus.OPEN, now, opened_at=now)
    return replace(state, failures_in_window=recent)
