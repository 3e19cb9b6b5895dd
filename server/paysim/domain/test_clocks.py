"""Test clocks: time a test controls. A clock belongs to a merchant, stands at a frozen time, and
moves only forward, when advanced: first to ADVANCING with a target, then, once every transition
due up to the target has run, READY at the target.

These are the pure rules of that; the use cases (services/test_clocks.py) store the clock and run
the transitions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from paysim.domain.errors import FailedPrecondition, NotFound
from paysim.domain.validation import Violations

# How far one AdvanceTestClock may move a clock: bounds the work one call can start.
MAX_ADVANCE = timedelta(days=60)
MAX_NAME_CHARS = 100
ADVANCING_REASON = "TEST_CLOCK_ADVANCING"


class ClockStatus(enum.StrEnum):
    READY = "ready"
    ADVANCING = "advancing"


@dataclass(frozen=True, slots=True)
class TestClock:
    __test__ = False  # a domain class, not a pytest test class

    id: str
    merchant_id: str
    name: str
    frozen_time: datetime
    created_at: datetime
    status: ClockStatus = ClockStatus.READY
    advancing_to: datetime | None = None

    @property
    def target(self) -> datetime:
        """Where the clock is going: its time when READY."""
        return self.advancing_to if self.advancing_to is not None else self.frozen_time


def check_name(v: Violations, name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME_CHARS:
        v.add("name", f"must be 1 to {MAX_NAME_CHARS} characters", "INVALID_NAME")
    elif any(ord(ch) < 32 and ch != "\t" for ch in name):
        # PostgreSQL refuses a NUL in text; no name needs control characters.
        v.add("name", "must not contain control characters", "INVALID_CHARACTERS")


def start_advance(clock: TestClock, target: datetime) -> TestClock | None:
    """The clock advancing to ``target``; None when it is there or on its way already (a repeat)."""
    if target == clock.target:
        return None
    if clock.status is ClockStatus.ADVANCING:
        raise FailedPrecondition(
            f"the clock is still advancing to {clock.target:%Y-%m-%dT%H:%M:%SZ}; wait until it is ready",
            reason=ADVANCING_REASON,
            metadata={"test_clock_id": clock.id, "advancing_to": clock.target.isoformat()},
        )
    v = Violations()
    if target < clock.frozen_time:
        v.add("frozen_time", "must not be before the clock's time: a clock only moves forward", "CLOCK_BACKWARDS")
    elif target - clock.frozen_time > MAX_ADVANCE:
        v.add("frozen_time", f"must be at most {MAX_ADVANCE.days} days after the clock's time", "ADVANCE_TOO_FAR")
    v.raise_if_any()
    return replace(clock, status=ClockStatus.ADVANCING, advancing_to=target)


def finish_advance(clock: TestClock) -> TestClock:
    """READY at the target, once the due transitions ran."""
    return replace(clock, status=ClockStatus.READY, frozen_time=clock.target, advancing_to=None)


IN_USE_REASON = "TEST_CLOCK_IN_USE"


def time_for_new_work(clock: TestClock | None, clock_id: str, merchant_id: str) -> datetime:
    """The time of a new object on the clock, or of a change to one: the clock's. Another
    merchant's clock is not found; one that is advancing refuses (its objects' time is moving)."""
    if clock is None or clock.merchant_id != merchant_id:
        raise NotFound("test_clock", clock_id)
    if clock.status is ClockStatus.ADVANCING:
        raise FailedPrecondition(
            f"the test clock is advancing to {clock.target:%Y-%m-%dT%H:%M:%SZ}; wait until it is ready",
            reason=ADVANCING_REASON,
            metadata={"test_clock_id": clock.id, "advancing_to": clock.target.isoformat()},
        )
    return clock.frozen_time


def in_use(clock: TestClock) -> FailedPrecondition:
    return FailedPrecondition(
        "payments or customers live on this test clock: their history is kept, so the clock cannot be deleted",
        reason=IN_USE_REASON,
        metadata={"test_clock_id": clock.id},
    )
