"""The safe read horizon over PostgreSQL sequence numbers (store/event_horizon.py), and the
per-stream buffer of a subscription, without a database."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paysim.domain.errors import ResourceExhausted
from paysim.services.event_feed import EventFeed
from paysim.services.subscriptions import Heartbeat, Limits, Subscription
from paysim.store.event_horizon import SequenceHorizon, Snapshot
from paysim.store.event_log import EventFilter, LoggedEvent


def snap(xmin: int, xmax: int, *running: int) -> Snapshot:
    return Snapshot(xmin, xmax, frozenset(running))


def test_snapshot_text_is_parsed() -> None:
    assert Snapshot.parse("10:20:10,14,15") == snap(10, 20, 10, 14, 15)
    assert Snapshot.parse("7:7:") == snap(7, 7)


def test_finished_means_committed_or_aborted_before_the_snapshot() -> None:
    s = snap(10, 20, 10, 14)
    assert s.finished(9)  # below xmin
    assert not s.finished(10) and not s.finished(14)  # running
    assert s.finished(12)  # between, not running
    assert not s.finished(20) and not s.finished(25)  # not started yet


def test_contiguous_seqs_are_delivered_at_once() -> None:
    h = SequenceHorizon(5)
    assert h.advance([6, 7, 8], snap(100, 101)) == 3
    assert h.position == 8 and not h.waiting


def test_a_gap_waits_for_the_transactions_running_when_it_was_seen() -> None:
    h = SequenceHorizon(5)
    # 6 is missing while 7 is visible: some running transaction (41 or 42) may hold it.
    assert h.advance([7, 8], snap(41, 43, 41, 42)) == 0
    assert h.position == 5 and h.waiting
    # 41 finished, 42 still runs, and a newcomer (43) cannot hold 6: still waiting.
    assert h.advance([7, 8], snap(42, 44, 42, 43)) == 0
    # The holder committed: 6 is visible now.
    assert h.advance([6, 7, 8], snap(43, 44, 43)) == 3
    assert h.position == 8 and not h.waiting


def test_a_gap_whose_holders_all_ended_without_it_is_skipped_for_good() -> None:
    h = SequenceHorizon(5)
    assert h.advance([7], snap(41, 42, 41)) == 0
    assert h.advance([7], snap(42, 42)) == 1  # 41 ended and 6 never appeared: rolled back
    assert h.position == 7 and not h.waiting


def test_a_gap_seen_with_nothing_running_is_permanent_at_once() -> None:
    h = SequenceHorizon(0)
    assert h.advance([2, 3], snap(50, 50)) == 2
    assert h.position == 3


def test_transactions_that_do_not_write_events_do_not_hold_a_gap_open() -> None:
    h = SequenceHorizon(5)
    # 41 writes events (it holds a lock on the table), 42 is another schema's long transaction.
    seen = snap(41, 43, 41, 42).with_writers(frozenset({41}))
    assert h.advance([7], seen) == 0  # narrowed after the snapshot: never settled by it
    # 41 ended without 6 (rolled back); 42 still runs, and it does not matter.
    assert h.advance([7], snap(42, 44, 42)) == 1
    assert h.position == 7 and not h.waiting


def test_a_writer_that_ended_before_it_was_looked_at_is_settled_by_a_later_snapshot() -> None:
    h = SequenceHorizon(5)
    # 41 held 6 and committed between the snapshot and the look at the locks: nobody listed.
    assert h.advance([7], snap(41, 42, 41).with_writers(frozenset())) == 0
    assert h.waiting  # 6 may be committed but not in this snapshot's rows: read again
    assert h.advance([6, 7], snap(42, 42)) == 2


def test_writers_are_matched_on_the_32_bit_xid() -> None:
    epoch = 3 << 32
    s = snap(epoch + 41, epoch + 43, epoch + 41, epoch + 42).with_writers(frozenset({42}))
    assert s.blockers == frozenset({epoch + 42})
    assert snap(1, 3, 1, 2).blockers == frozenset({1, 2})  # not looked at: everyone running


def test_only_the_prefix_before_the_first_open_gap_is_delivered() -> None:
    h = SequenceHorizon(0)
    assert h.advance([1, 2, 4, 5], snap(10, 12, 11)) == 2
    assert h.position == 2 and h.waiting


def test_on_sqlite_there_is_no_snapshot_and_no_waiting() -> None:
    h = SequenceHorizon(0)
    assert h.advance([1, 3, 4], None) == 3
    assert h.position == 4 and not h.waiting


@given(
    st.lists(st.tuples(st.integers(1, 60), st.booleans()), min_size=1, max_size=40, unique_by=lambda t: t[0]),
    st.randoms(use_true_random=False),
)
def test_events_are_delivered_in_order_exactly_once_whatever_the_commit_order(
    writes: list[tuple[int, bool]], rnd: random.Random
) -> None:
    """Transactions (ids in any order) take seqs, then commit or roll back in any order; a
    reader polling in between delivers every committed seq once, in seq order."""
    seqs = sorted(seq for seq, _ in writes)
    committed_ok = dict(writes)
    xids = [1000 + i for i in range(len(seqs))]
    rnd.shuffle(xids)
    xid_of = dict(zip(seqs, xids, strict=True))
    running = set(seqs)
    visible: set[int] = set()
    order = list(seqs)
    rnd.shuffle(order)
    h = SequenceHorizon(0)
    delivered: list[int] = []

    def poll() -> None:
        s = Snapshot(min((xid_of[q] for q in running), default=2000), 2000, frozenset(xid_of[q] for q in running))
        after = sorted(q for q in visible if q > h.position)
        delivered.extend(after[: h.advance(after, s)])

    for seq in order:
        poll()
        running.discard(seq)
        if committed_ok[seq]:
            visible.add(seq)
    poll()
    poll()
    assert delivered == sorted(q for q in seqs if committed_ok[q])


# --- a subscription's buffer ------------------------------------------------------------------


def event(seq: int, *, payment: str = "pay_a", kind: str = "payment.created") -> LoggedEvent:
    return LoggedEvent(seq, f"evt_{seq}", kind, payment, "mer_a", "", 1, "{}", datetime(2026, 1, 1, tzinfo=UTC))


class FakeFeed:
    """``recent``: the events the feed remembers (every one after ``recent_from``), or None."""

    def __init__(self, position: int, recent: list[LoggedEvent] | None = None, recent_from: int = 0) -> None:
        self.position = position
        self.listeners: list[Subscription] = []
        self.recent = recent
        self.recent_from = recent_from

    def recent_after(self, cursor: int) -> list[LoggedEvent] | None:
        if self.recent is None or cursor < self.recent_from:
            return None
        return [e for e in self.recent if e.seq > cursor]

    def add(self, listener: Subscription) -> int:
        self.listeners.append(listener)
        return self.position

    def remove(self, listener: Subscription) -> None:
        if listener in self.listeners:  # as the real feed: closing before registering is fine
            self.listeners.remove(listener)


class FakeLog:
    def __init__(self, events: Sequence[LoggedEvent]) -> None:
        self.events = list(events)
        self.reads = 0

    async def read_range(self, after: int, upto: int, f: EventFilter, limit: int) -> list[LoggedEvent]:
        self.reads += 1
        return [e for e in self.events if after < e.seq <= upto and f.matches(e)][:limit]


def subscription(feed: FakeFeed, log: FakeLog, cursor: int, **limits: float) -> Subscription:
    return Subscription(
        feed,  # type: ignore[arg-type]
        log,  # type: ignore[arg-type]
        EventFilter(payment_id="pay_a"),
        cursor,
        Limits(**limits),  # type: ignore[arg-type]
        lambda _s: None,
    )


async def take(items: object, count: int) -> list[object]:
    got = []
    for _ in range(count):
        got.append(await asyncio.wait_for(items.__anext__(), 5))  # type: ignore[attr-defined]
    return got


def test_history_then_live_without_gap_or_duplicate() -> None:
    async def scenario() -> None:
        history = [event(1), event(2, payment="pay_b"), event(3)]
        feed, log = FakeFeed(3), FakeLog(history)
        sub = subscription(feed, log, cursor=0)
        items = sub.items()
        opening, first, second = await take(items, 3)
        assert opening == Heartbeat(0)
        assert [first.seq, second.seq] == [1, 3]  # type: ignore[attr-defined]
        # Registered at the feed's position: a batch that overlaps what was replayed is not repeated.
        live = asyncio.ensure_future(take(items, 1))
        await asyncio.sleep(0)
        sub.deliver([event(3), event(4, payment="pay_b"), event(5)], 5)
        assert [e.seq for e in await live] == [5]  # type: ignore[attr-defined]
        sub.close()
        assert feed.listeners == []

    asyncio.run(scenario())


def test_a_subscriber_that_falls_behind_is_ended_with_its_cursor() -> None:
    async def scenario() -> None:
        feed, log = FakeFeed(0), FakeLog([])
        sub = subscription(feed, log, cursor=0, buffer_events=2)
        items = sub.items()
        assert await take(items, 1) == [Heartbeat(0)]
        interrupted: list[bool] = []
        sub.interrupt = lambda: interrupted.append(True)
        sub.deliver([event(1), event(2), event(3)], 3)
        assert interrupted == [True]
        with pytest.raises(ResourceExhausted) as ended:
            await take(items, 1)
        assert ended.value.reason == "SUBSCRIBER_TOO_SLOW" and ended.value.metadata == {"last_seq": "0"}

    asyncio.run(scenario())


def test_an_idle_stream_sends_heartbeats_with_the_position_it_has_considered() -> None:
    async def scenario() -> None:
        feed, log = FakeFeed(0), FakeLog([])
        sub = subscription(feed, log, cursor=0, heartbeat_seconds=0.01)
        items = sub.items()
        assert await take(items, 1) == [Heartbeat(0)]
        sub.deliver([event(1, payment="pay_other")], 1)
        assert await take(items, 1) == [Heartbeat(1)]

    asyncio.run(scenario())


def test_a_recent_cursor_catches_up_from_the_feeds_memory_without_reading_the_store() -> None:
    async def scenario() -> None:
        history = [event(1), event(2, payment="pay_b"), event(3), event(4)]
        feed, log = FakeFeed(4, recent=history[1:], recent_from=1), FakeLog(history)
        sub = subscription(feed, log, cursor=1)
        items = sub.items()
        opening, first, second = await take(items, 3)
        assert opening == Heartbeat(1)
        assert [first.seq, second.seq] == [3, 4]  # type: ignore[attr-defined]
        assert log.reads == 0 and feed.listeners == [sub]  # registered with the memory, in one step
        live = asyncio.ensure_future(take(items, 1))
        await asyncio.sleep(0)
        sub.deliver([event(5)], 5)
        assert [e.seq for e in await live] == [5]  # type: ignore[attr-defined]
        sub.close()

    asyncio.run(scenario())


def test_a_cursor_older_than_the_memory_reads_the_store() -> None:
    async def scenario() -> None:
        history = [event(1), event(2), event(3)]
        feed, log = FakeFeed(3, recent=history[2:], recent_from=2), FakeLog(history)
        sub = subscription(feed, log, cursor=0)
        items = sub.items()
        assert [getattr(i, "seq", None) for i in await take(items, 4)] == [None, 1, 2, 3]
        assert log.reads >= 1
        sub.close()

    asyncio.run(scenario())


def test_the_feed_remembers_the_newest_events_and_forgets_when_it_read_only_seqs() -> None:
    feed = EventFeed(None, None, poll_seconds=1, recent=3)  # type: ignore[arg-type]
    feed.ready.set()
    feed._remember([event(1), event(2), event(3), event(4)], details=True)
    assert feed.recent_after(0) is None  # event 1 was forgotten: memory starts after it
    assert [e.seq for e in feed.recent_after(1) or []] == [2, 3, 4]
    assert [e.seq for e in feed.recent_after(3) or []] == [4]
    feed._horizon = SequenceHorizon(6)  # the feed moved on reading seqs only (nobody listening)
    feed._remember([], details=False)
    assert feed.recent_after(4) is None
    assert feed.recent_after(6) == []


class ScriptedLog:
    """An event log whose reads wait for the test to answer them, one at a time."""

    def __init__(self) -> None:
        self.asked: asyncio.Queue[asyncio.Future[tuple[list[LoggedEvent], list[int], Snapshot | None]]] = (
            asyncio.Queue()
        )

    async def newest(self) -> tuple[int, Snapshot | None]:
        return 10, None

    async def read_new(
        self, after: int, limit: int, *, details: bool
    ) -> tuple[list[LoggedEvent], list[int], Snapshot | None]:
        answer: asyncio.Future[tuple[list[LoggedEvent], list[int], Snapshot | None]] = (
            asyncio.get_running_loop().create_future()
        )
        await self.asked.put(answer)
        return await answer


class QuietBus:
    def listen(self, wake: object) -> None:
        pass

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


def test_now_is_answered_by_a_read_that_began_after_the_question() -> None:
    async def scenario() -> None:
        log = ScriptedLog()
        feed = EventFeed(log, QuietBus(), poll_seconds=60)  # type: ignore[arg-type]
        await feed.start()
        first_read = await asyncio.wait_for(log.asked.get(), 5)
        # Asked while a read is under way: that read may have missed a commit made just before.
        asking = asyncio.ensure_future(feed.now())
        await asyncio.sleep(0)
        first_read.set_result(([], [11, 12], Snapshot(1, 1, frozenset())))
        second_read = await asyncio.wait_for(log.asked.get(), 5)
        assert not asking.done()
        also = asyncio.ensure_future(feed.now())  # asked before the second read ends: it waits too
        await asyncio.sleep(0)
        # 14 is committed beyond the gap at 13: it is before "now" and must be skipped.
        second_read.set_result(([], [14], Snapshot(5, 6, frozenset({5}))))
        assert await asyncio.wait_for(asking, 5) == (12, frozenset({14}))
        third_read = await asyncio.wait_for(log.asked.get(), 5)  # ``also`` asked during the second
        assert not also.done()
        third_read.set_exception(ConnectionError("the database went away"))
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(also, 5)
        await feed.close()

    asyncio.run(scenario())


def test_a_wait_for_an_event_keeps_a_cancellation_that_comes_as_the_event_is_set() -> None:
    """The background loops stop by cancellation: one lost when their event is set at the same
    moment (asyncio.wait_for on Python 3.11) leaves the loop running and its stop hanging."""
    from paysim.services.event_wait import wait_set

    async def scenario() -> None:
        event = asyncio.Event()
        task = asyncio.ensure_future(wait_set(event, 10))
        for _ in range(3):
            await asyncio.sleep(0)
        event.set()
        task.cancel()  # before the task has run again: both arrive together
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await wait_set(asyncio.Event(), 0.01) is False

    asyncio.run(scenario())
