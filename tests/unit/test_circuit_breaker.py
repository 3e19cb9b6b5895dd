"""The pure circuit breaker: every transition, the sliding window, probes, counters, invariants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paysim.domain.circuit_breaker import (
    BreakerConfig,
    BreakerState,
    BreakerStatus,
    Decision,
    admit,
    effective_status,
    record_failure,
    record_success,
    reopens_at,
    reset,
    would_admit,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CONFIG = BreakerConfig()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fail(state: BreakerState, *seconds: float, config: BreakerConfig = CONFIG) -> BreakerState:
    for s in seconds:
        state = record_failure(state, config, at(s), "gateway_error")
    return state


def opened(at_seconds: float = 0, config: BreakerConfig = CONFIG) -> BreakerState:
    state = fail(reset(at(0)), *([at_seconds] * config.failure_threshold), config=config)
    assert state.status is BreakerStatus.OPEN
    return state


def test_defaults_match_the_issue() -> None:
    assert CONFIG.failure_threshold == 5
    assert CONFIG.window == timedelta(seconds=60)
    assert CONFIG.cool_down == timedelta(seconds=30)
    assert CONFIG.success_threshold == 2
    assert CONFIG.max_probes == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"failure_threshold": 0},
        {"max_probes": 0},
        {"success_threshold": 0},
        {"window": timedelta(0)},
        {"cool_down": timedelta(seconds=-1)},
        {"probe_timeout": timedelta(0)},
    ],
)
def test_config_rejects_nonsense(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BreakerConfig(**changes)  # type: ignore[arg-type]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        reset(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        admit(reset(T0), CONFIG, datetime(2026, 1, 1))


def test_closed_admits_without_changing_state() -> None:
    state = reset(T0)
    decision, after = admit(state, CONFIG, at(1))
    assert decision is Decision.ALLOWED
    assert after is state


def test_fifth_failure_within_the_window_opens() -> None:
    state = fail(reset(T0), 0, 10, 20, 30)
    assert state.status is BreakerStatus.CLOSED
    assert len(state.failures_in_window) == 4
    state = fail(state, 59.9)
    assert state.status is BreakerStatus.OPEN
    assert state.opened_at == at(59.9)
    assert state.changed_at == at(59.9)
    assert state.failures_in_window == ()
    assert state.state_changes == 1


def test_failures_older_than_the_window_do_not_count() -> None:
    state = fail(reset(T0), 0, 10, 20, 30)
    # The failure at 0 is exactly 60 s old at 60: outside the window.
    state = fail(state, 60)
    assert state.status is BreakerStatus.CLOSED
    assert state.failures_in_window == (at(10), at(20), at(30), at(60))
    state = fail(state, 69.9)
    assert state.status is BreakerStatus.OPEN


def test_failures_spread_thin_never_open() -> None:
    state = reset(T0)
    for i in range(50):
        state = fail(state, i * 15)
    assert state.status is BreakerStatus.CLOSED
    assert state.failures == 50
    assert len(state.failures_in_window) == 4


def test_successes_in_closed_do_not_clear_the_window() -> None:
    state = fail(reset(T0), 0, 1, 2, 3)
    state = record_success(state, CONFIG, at(4))
    state = fail(state, 5)
    assert state.status is BreakerStatus.OPEN


def test_open_rejects_until_exactly_the_cool_down() -> None:
    state = opened(0)
    assert reopens_at(state, CONFIG) == at(30)
    for s in (0, 1, 15, 29.999):
        decision, state = admit(state, CONFIG, at(s))
        assert decision is Decision.REJECTED
        assert state.status is BreakerStatus.OPEN
        assert effective_status(state, CONFIG, at(s)) is BreakerStatus.OPEN
        assert not would_admit(state, CONFIG, at(s))
    assert state.rejections == 4
    assert effective_status(state, CONFIG, at(30)) is BreakerStatus.HALF_OPEN
    assert would_admit(state, CONFIG, at(30))
    decision, state = admit(state, CONFIG, at(30))
    assert decision is Decision.ALLOWED
    assert state.status is BreakerStatus.HALF_OPEN
    assert state.changed_at == at(30)
    assert state.probes_in_flight == 1
    assert state.state_changes == 2


def test_half_open_limits_probes_in_flight() -> None:
    state = opened(0)
    decision, state = admit(state, CONFIG, at(30))
    assert decision is Decision.ALLOWED
    decision, state = admit(state, CONFIG, at(31))
    assert decision is Decision.REJECTED
    assert state.status is BreakerStatus.HALF_OPEN
    assert state.rejections == 1
    # The probe's success frees its slot.
    state = record_success(state, CONFIG, at(32))
    assert state.status is BreakerStatus.HALF_OPEN
    assert state.probes_in_flight == 0
    decision, state = admit(state, CONFIG, at(33))
    assert decision is Decision.ALLOWED


def test_configurable_probe_limit() -> None:
    config = BreakerConfig(max_probes=2)
    state = opened(0, config)
    results = []
    for s in (30, 30.1, 30.2):
        decision, state = admit(state, config, at(s))
        results.append(decision)
    assert results == [Decision.ALLOWED, Decision.ALLOWED, Decision.REJECTED]
    assert state.probes_in_flight == 2


def test_abandoned_probe_frees_its_slot_after_the_probe_timeout() -> None:
    state = opened(0)
    _, state = admit(state, CONFIG, at(30))
    decision, state = admit(state, CONFIG, at(59.9))
    assert decision is Decision.REJECTED
    decision, state = admit(state, CONFIG, at(60))
    assert decision is Decision.ALLOWED
    assert state.probes == (at(60),)


def test_two_successes_in_half_open_close() -> None:
    state = opened(0)
    _, state = admit(state, CONFIG, at(30))
    state = record_success(state, CONFIG, at(30.5))
    assert state.status is BreakerStatus.HALF_OPEN
    assert state.half_open_successes == 1
    _, state = admit(state, CONFIG, at(31))
    state = record_success(state, CONFIG, at(31.5))
    assert state.status is BreakerStatus.CLOSED
    assert state.changed_at == at(31.5)
    assert state.opened_at is None
    assert state.half_open_successes == 0
    assert state.probes == ()
    assert state.state_changes == 3
    # Closed again with an empty window: four more failures do not open it.
    state = fail(state, 32, 33, 34, 35)
    assert state.status is BreakerStatus.CLOSED


def test_a_failure_in_half_open_reopens() -> None:
    state = opened(0)
    _, state = admit(state, CONFIG, at(30))
    state = record_success(state, CONFIG, at(30.5))
    _, state = admit(state, CONFIG, at(31))
    state = record_failure(state, CONFIG, at(32), "timeout")
    assert state.status is BreakerStatus.OPEN
    assert state.opened_at == at(32)
    assert state.half_open_successes == 0
    assert state.probes == ()
    assert state.last_failure_reason == "timeout"
    # A fresh cool-down from the reopening.
    assert admit(state, CONFIG, at(61.9))[0] is Decision.REJECTED
    assert admit(state, CONFIG, at(62))[0] is Decision.ALLOWED


def test_outcomes_recorded_while_open_keep_it_open() -> None:
    state = opened(0)
    state = record_success(state, CONFIG, at(1))
    state = record_failure(state, CONFIG, at(2), "late")
    assert state.status is BreakerStatus.OPEN
    assert state.opened_at == at(0)
    assert state.last_failure_at == at(2)


def test_custom_thresholds() -> None:
    config = BreakerConfig(
        failure_threshold=2,
        window=timedelta(seconds=5),
        cool_down=timedelta(seconds=1),
        success_threshold=3,
    )
    state = fail(reset(T0), 0, 5, config=config)
    assert state.status is BreakerStatus.CLOSED
    state = fail(state, 6, config=config)
    assert state.status is BreakerStatus.OPEN
    for s in (7, 7.1, 7.2):
        decision, state = admit(state, config, at(s))
        assert decision is Decision.ALLOWED
        state = record_success(state, config, at(s))
    assert state.status is BreakerStatus.CLOSED


def test_counters() -> None:
    state = reset(T0)
    state = record_success(state, CONFIG, at(0))
    state = fail(state, 1, 2, 3, 4, 5)
    _, state = admit(state, CONFIG, at(6))
    _, state = admit(state, CONFIG, at(7))
    assert state.calls == 6
    assert state.successes == 1
    assert state.failures == 5
    assert state.rejections == 2
    assert state.state_changes == 1
    assert state.last_failure_at == at(5)
    assert state.last_failure_reason == "gateway_error"


def test_reset_gives_a_fresh_closed_breaker() -> None:
    state = reset(at(100))
    assert state == BreakerState(status=BreakerStatus.CLOSED, changed_at=at(100))
    assert state.calls == state.failures == state.rejections == state.state_changes == 0


def test_json_round_trip() -> None:
    state = opened(0, BreakerConfig(max_probes=2))
    _, state = admit(state, BreakerConfig(max_probes=2), at(30))
    state = record_success(state, CONFIG, at(31))
    _, state = admit(state, BreakerConfig(max_probes=2), at(31))
    text = json.dumps(state.to_dict())
    assert BreakerState.from_dict(json.loads(text)) == state
    config = BreakerConfig(failure_threshold=3, window=timedelta(seconds=1.5), max_probes=4)
    assert BreakerConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


# --- properties -------------------------------------------------------------------------------

steps = st.lists(
    st.tuples(
        st.sampled_from(["admit", "success", "failure"]),
        st.floats(min_value=0, max_value=40, allow_nan=False, allow_infinity=False),
    ),
    max_size=80,
)
configs = st.builds(
    BreakerConfig,
    failure_threshold=st.integers(1, 6),
    window=st.integers(1, 90).map(lambda s: timedelta(seconds=s)),
    cool_down=st.integers(1, 60).map(lambda s: timedelta(seconds=s)),
    max_probes=st.integers(1, 3),
    success_threshold=st.integers(1, 3),
    probe_timeout=st.integers(1, 60).map(lambda s: timedelta(seconds=s)),
)


@settings(max_examples=300, deadline=None)
@given(config=configs, ops=steps)
def test_random_sequences_keep_the_invariants(config: BreakerConfig, ops: list[tuple[str, float]]) -> None:
    now = T0
    state = reset(now)
    previous_changes = 0
    for op, gap in ops:
        now += timedelta(seconds=gap)
        before = state
        if op == "admit":
            decision, state = admit(state, config, now)
            if before.status is BreakerStatus.CLOSED:
                # CLOSED never rejects.
                assert decision is Decision.ALLOWED
                assert state is before
            if before.status is BreakerStatus.OPEN:
                assert before.opened_at is not None
                # OPEN rejects everything until the cool-down, and admits at its end.
                if now < before.opened_at + config.cool_down:
                    assert decision is Decision.REJECTED
                    assert state.status is BreakerStatus.OPEN
                else:
                    assert decision is Decision.ALLOWED
                    assert state.status is BreakerStatus.HALF_OPEN
            if decision is Decision.REJECTED:
                assert state.rejections == before.rejections + 1
            else:
                assert state.rejections == before.rejections
        elif op == "success":
            state = record_success(state, config, now)
            assert state.successes == before.successes + 1
            assert state.status is not BreakerStatus.OPEN or before.status is BreakerStatus.OPEN
        else:
            state = record_failure(state, config, now, "x")
            assert state.failures == before.failures + 1
            assert state.last_failure_at == now
            # A failure never closes a breaker, and always opens a half-open one.
            assert state.status is not BreakerStatus.CLOSED or before.status is BreakerStatus.CLOSED
            if before.status is BreakerStatus.HALF_OPEN:
                assert state.status is BreakerStatus.OPEN
                assert state.opened_at == now

        # Structural invariants after every step.
        assert state.calls == state.successes + state.failures
        assert len(state.failures_in_window) < config.failure_threshold
        assert state.probes_in_flight <= config.max_probes
        assert state.half_open_successes < config.success_threshold
        if state.status is BreakerStatus.CLOSED:
            assert state.probes == () and state.half_open_successes == 0 and state.opened_at is None
            assert all(now - t < config.window for t in state.failures_in_window) or op != "failure"
        if state.status is BreakerStatus.OPEN:
            assert state.opened_at is not None and state.probes == () and state.failures_in_window == ()
        if state.status is BreakerStatus.HALF_OPEN:
            assert state.failures_in_window == ()
        assert state.state_changes >= previous_changes
        if state.status is not before.status:
            assert state.state_changes == before.state_changes + 1
            assert state.changed_at == now
        previous_changes = state.state_changes
        assert BreakerState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
