"""The pure rules of a test clock: advancing forward, bounded, idempotent by target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paysim.domain.errors import FailedPrecondition, InvalidArgument
from paysim.domain.test_clocks import MAX_ADVANCE, ClockStatus, TestClock, finish_advance, start_advance

START = datetime(2026, 3, 1, tzinfo=UTC)
CLOCK = TestClock("clk_1", "mer_1", "checkout", START, created_at=START)


def test_advancing_then_finishing_moves_the_clock_to_its_target() -> None:
    target = START + MAX_ADVANCE
    advancing = start_advance(CLOCK, target)
    assert advancing is not None
    assert (advancing.status, advancing.frozen_time, advancing.target) == (ClockStatus.ADVANCING, START, target)
    ready = finish_advance(advancing)
    assert (ready.status, ready.frozen_time, ready.advancing_to, ready.target) == (
        ClockStatus.READY,
        target,
        None,
        target,
    )


def test_the_same_target_is_a_repeat_and_another_one_waits() -> None:
    target = START + timedelta(days=8)
    advancing = start_advance(CLOCK, target)
    assert advancing is not None
    assert start_advance(advancing, target) is None
    assert start_advance(finish_advance(advancing), target) is None
    assert start_advance(CLOCK, START) is None
    with pytest.raises(FailedPrecondition) as caught:
        start_advance(advancing, target + timedelta(seconds=1))
    assert caught.value.reason == "TEST_CLOCK_ADVANCING"
    assert caught.value.metadata == {"test_clock_id": "clk_1", "advancing_to": target.isoformat()}


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (START - timedelta(microseconds=1), "CLOCK_BACKWARDS"),
        (START + MAX_ADVANCE + timedelta(seconds=1), "ADVANCE_TOO_FAR"),
    ],
)
def test_a_clock_moves_forward_only_and_within_the_span(target: datetime, reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        start_advance(CLOCK, target)
    assert [(v.field, v.reason) for v in caught.value.violations] == [("frozen_time", reason)]
