"""The pure rules of asynchronous refunds (domain/refund_settlement.py) and what their events do to
a payment and to the analytics read model; events retimed to a test clock; and an advance that
merges its sources' transitions in time order (services/test_clocks.py, with fake sources)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType

from paysim.domain import analytics, event_codec, payment_rules, refund_settlement
from paysim.domain import payment as agg
from paysim.domain.payment_events import (
    PaymentAuthorized,
    PaymentEvent,
    RefundFailed,
    RefundPending,
    RefundSucceeded,
    at_time,
)
from paysim.domain.payment_values import Attempt
from paysim.domain.scenarios import ScenarioKind
from paysim.domain.test_clocks import ClockStatus, TestClock, start_advance
from paysim.services.test_clocks import TestClockService

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DUE = NOW + refund_settlement.SETTLEMENT_DELAY
ATTEMPT = Attempt("stripe", "refund", "approved", "re_gw", 12, NOW)


def _captured() -> agg.PaymentState:
    new = payment_rules.NewPayment(
        merchant_id="mer_1",
        amount=1_000,
        currency="USD",
        pan="4000000000007726",
        card=agg.Card("visa", "400000", "7726", 12, 2031, "f" * 32, "Ann"),
        customer_id="",
        description="",
        metadata={},
        capture_method=agg.CaptureMethod.AUTOMATIC,
        test_clock_id="clk_1",
    )
    created = payment_rules.created_event(new, 290, 30, NOW)
    authorized = agg.replay("pay_1", [created, PaymentAuthorized(at=NOW, amount=1_000)])
    return agg.apply(authorized, payment_rules.captured_event(authorized, 1_000, None, NOW))


def _refunded(kind: ScenarioKind | None, amount: int = 1_000) -> tuple[agg.PaymentState, PaymentEvent]:
    state = _captured()
    state = agg.apply(state, payment_rules.request_refund(state, "re_1", amount, "", NOW))
    answer = refund_settlement.accepted(kind, "re_1", NOW, NOW, ATTEMPT)
    return agg.apply(state, answer), answer


def test_the_pending_card_keeps_the_refund_pending_and_counted_until_it_settles() -> None:
    state, answer = _refunded(ScenarioKind.REFUND_ASYNC)
    assert answer == RefundPending(at=NOW, refund_id="re_1", settles_at=DUE, attempt=ATTEMPT)
    assert (state.status, state.refunded_amount, state.refundable_amount) == (agg.Status.REFUNDED, 1_000, 0)
    assert not state.in_progress  # no gateway call outstanding: the recovery sweep leaves it alone
    assert (state.refunds[0].status, state.refund_settles_at) == ("pending", DUE)
    assert state.test_clock_id == "clk_1"
    assert refund_settlement.due(state, DUE - timedelta(microseconds=1)) == []
    (settled_event,) = refund_settlement.due(state, DUE + timedelta(days=3))
    assert settled_event == RefundSucceeded(at=DUE, refund_id="re_1")  # at the time it fell due
    settled = agg.apply(state, settled_event)
    assert (settled.status, settled.refunded_amount, settled.refunds[0].status) == (
        agg.Status.REFUNDED,
        1_000,
        "succeeded",
    )
    assert settled.refund_settles_at is None and refund_settlement.due(settled, DUE) == []  # once
    assert agg.from_dict(agg.to_dict(state)) == state and agg.from_dict(agg.to_dict(settled)) == settled


def test_the_failing_card_succeeds_then_is_reversed_and_refundable_again() -> None:
    state, answer = _refunded(ScenarioKind.REFUND_FAILS, amount=400)
    assert answer == RefundSucceeded(at=NOW, refund_id="re_1", attempt=ATTEMPT, fails_at=DUE)
    assert (state.status, state.refunded_amount, state.refunds[0].status) == (
        agg.Status.PARTIALLY_REFUNDED,
        400,
        "succeeded",
    )
    (reversal,) = refund_settlement.due(state, DUE)
    assert reversal == RefundFailed(at=DUE, refund_id="re_1", reason=refund_settlement.FAILURE_REASON)
    reversed_state = agg.apply(state, reversal)
    assert (reversed_state.status, reversed_state.refunded_amount, reversed_state.refundable_amount) == (
        agg.Status.CAPTURED,
        0,
        1_000,
    )
    assert (reversed_state.refunds[0].status, reversed_state.refunds[0].failure_reason) == (
        "failed",
        "expired_or_canceled_card",
    )
    assert refund_settlement.due(reversed_state, DUE + timedelta(days=1)) == []


def test_other_cards_refund_at_once() -> None:
    state, answer = _refunded(None)
    assert answer == RefundSucceeded(at=NOW, refund_id="re_1", attempt=ATTEMPT)
    assert state.refund_settles_at is None and state.refunds[0].status == "succeeded"


def test_the_events_replay_to_the_same_state_through_their_stored_form() -> None:
    state, answer = _refunded(ScenarioKind.REFUND_FAILS)
    (reversal,) = refund_settlement.due(state, DUE)
    stored = [event_codec.from_stored(e.type.value, event_codec.to_data(e), e.at) for e in (answer, reversal)]
    assert stored == [answer, reversal]


def test_an_event_on_a_clock_carries_the_clocks_time_attempt_included() -> None:
    later = NOW + timedelta(days=40)
    moved = at_time(RefundSucceeded(at=NOW, refund_id="re_1", attempt=ATTEMPT), later)
    assert isinstance(moved, RefundSucceeded) and moved.at == later
    assert moved.attempt is not None and moved.attempt.at == later


def _stored(event: PaymentEvent, seq: int) -> analytics.StoredEvent:
    return analytics.StoredEvent(seq, event.type.value, "pay_1", "mer_1", dict(event_codec.to_data(event)), event.at)


def test_analytics_counts_an_asynchronous_refund_once_and_takes_a_reversal_back() -> None:
    state = _captured()
    requested = payment_rules.request_refund(state, "re_1", 1_000, "", NOW)
    created = payment_rules.created_event(
        payment_rules.NewPayment("mer_1", 1_000, "USD", "", state.card, "", "", {}, agg.CaptureMethod.AUTOMATIC),
        290,
        30,
        NOW,
    )
    captured = payment_rules.captured_event(state, 1_000, None, NOW)
    answer = refund_settlement.accepted(ScenarioKind.REFUND_FAILS, "re_1", NOW, NOW, ATTEMPT)
    reversal = RefundFailed(at=DUE, refund_id="re_1", reason="expired_or_canceled_card")
    events = [created, PaymentAuthorized(at=NOW, amount=1_000), captured, requested, answer, reversal]
    changes = analytics.fold_all([_stored(e, i + 1) for i, e in enumerate(events)])
    row = changes.rows["pay_1"]
    assert (row.refunded_amount, row.status, dict(row.refunds)) == (0, "captured", {})
    totals: dict[str, int] = {}
    for (merchant, size, dimension, _, _), counts in changes.payment_buckets.items():
        if merchant == "mer_1" and size == "d" and not dimension:
            for name, value in counts.items():
                totals[name] = totals.get(name, 0) + value
    assert (totals.get("refunds", 0), totals.get("refunded_volume", 0)) == (0, 0)


# --- an advance merges its sources in time order ---------------------------------------------


START = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class _Clocks:
    clock: TestClock

    async def get(self, clock_id: str, *, for_update: bool = False) -> TestClock | None:
        return self.clock if clock_id == self.clock.id else None

    async def save(self, clock: TestClock) -> None:
        self.clock = clock


class _Uow:
    def __init__(self, clocks: _Clocks) -> None:
        self.test_clocks = clocks

    async def __aenter__(self) -> _Uow:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    async def commit(self) -> None:
        return None


@dataclass
class _Source:
    """Transitions due at fixed offsets from START; records what ran and when."""

    name: str
    offsets: list[timedelta]
    log: list[tuple[datetime, str]]
    done: set[datetime] = field(default_factory=set)

    def _pending(self, up_to: datetime) -> list[datetime]:
        return sorted(t for t in (START + o for o in self.offsets) if t <= up_to and t not in self.done)

    async def next_due(self, clock: TestClock, up_to: datetime) -> datetime | None:
        pending = self._pending(up_to)
        return pending[0] if pending else None

    async def run_due(self, clock: TestClock, up_to: datetime) -> int:
        ran = self._pending(up_to)
        for at in ran:
            self.done.add(at)
            self.log.append((at, self.name))
        return len(ran)


def test_an_advance_runs_every_sources_transitions_in_time_order() -> None:
    log: list[tuple[datetime, str]] = []
    days, hours, minutes = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
    sources = [
        _Source("authorization", [7 * days, 9 * days], log),
        _Source("challenge", [15 * minutes], log),
        _Source("refund", [1 * hours, 3 * days], log),
    ]
    clock = TestClock("clk_1", "mer_1", "c", START, START)
    advancing = start_advance(clock, START + 8 * days)
    assert advancing is not None
    clocks = _Clocks(advancing)
    service = TestClockService(lambda: _Uow(clocks), lambda: START, sources)  # type: ignore[arg-type, return-value]
    assert asyncio.run(service.finish(clock.id))
    assert [name for _, name in log] == ["challenge", "refund", "refund", "authorization"]
    assert [at for at, _ in log] == sorted(at for at, _ in log)
    assert (clocks.clock.status, clocks.clock.frozen_time) == (ClockStatus.READY, START + 8 * days)
    assert START + 9 * days not in sources[0].done  # past the target: left for a later advance
