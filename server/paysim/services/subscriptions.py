"""Payment event subscriptions: who may stream what, from where, and how many at once.

A subscription first replays settled history (everything after its cursor up to the shared
feed's position): from the feed's memory of recent events when it reaches back that far,
otherwise from the event store, a few streams at a time; then it registers with the feed and
continues live. The feed
hands it every event after the position it registered at, so the switch has no gap; events at
or below the subscription's cursor are dropped, so it has no duplicate either, even when the
cursor came from another process that was further ahead.

A subscriber that does not keep up cannot make the server buffer without bound: past
``buffer_events`` undelivered events its stream ends with RESOURCE_EXHAUSTED (reason
SUBSCRIBER_TOO_SLOW), telling it to resume from its last cursor.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from paysim.domain.errors import DomainError, NotFound, ResourceExhausted, Unavailable
from paysim.domain.principal import Principal
from paysim.domain.roles import Role
from paysim.domain.validation import Violations, check_id
from paysim.observability import metrics
from paysim.services.event_feed import EventFeed
from paysim.services.stream_heartbeats import Heartbeats
from paysim.store.event_log import EventFilter, EventLog, LoggedEvent
from paysim.store.unit_of_work import UnitOfWorkFactory

REPLAY_PAGE = 500
MAX_EVENT_TYPES = 32
_EVENT_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
_MAX_LINKED_CUSTOMERS = 500
# Events the feed may not have read yet when a stream opens "from now"; far more than its lag.
_NOW_CATCH_UP = 100_000


class Start(enum.Enum):
    UNSPECIFIED = "unspecified"
    NOW = "now"
    AFTER_SEQ = "after_seq"


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    start: Start = Start.UNSPECIFIED
    after_seq: int = 0
    payment_id: str = ""
    merchant_id: str = ""
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Limits:
    per_principal: int = 20
    per_process: int = 10_000
    buffer_events: int = 1000
    heartbeat_seconds: float = 15.0
    # Streams reading history from the event store at once; the others wait their turn.
    replays: int = 8


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing to send for a while. ``position``: every event up to it was considered."""

    position: int


Item = LoggedEvent | Heartbeat


class Subscription:
    """One open stream. Iterate ``items()``; ``close()`` when done (idempotent)."""

    def __init__(
        self,
        feed: EventFeed,
        events: EventLog,
        event_filter: EventFilter,
        cursor: int,
        limits: Limits,
        on_close: Callable[[Subscription], None],
        skip: frozenset[int] = frozenset(),
        replay_slots: asyncio.Semaphore | None = None,
        heartbeats: Heartbeats | None = None,
    ) -> None:
        self._feed = feed
        self._log = events
        self.filter = event_filter
        # The last position handed out: every matching event up to it has been yielded.
        self.cursor = cursor
        # Events after the cursor that had committed before the stream opened "from now".
        self._skip = skip
        self._limits = limits
        self._on_close = on_close
        self._replay_slots = replay_slots or asyncio.Semaphore(limits.replays)
        self._heartbeats = heartbeats or Heartbeats(limits.heartbeat_seconds)
        self.last_sent = 0.0
        self._beat_due = False
        self._pending: deque[LoggedEvent] = deque()
        self._seen = 0
        # What the stream waits on when it has nothing to send: set by a delivery, a heartbeat
        # or the end. A bare future rather than an asyncio.Event: the stream is its one waiter,
        # and with ten thousand streams every event wakes ten thousand of them.
        self._waiter: asyncio.Future[None] | None = None
        self._ending: Callable[[int], DomainError] | None = None
        self._closed = False
        # Set by the transport while a message is being written: ending the stream calls it, so
        # a write stuck behind a client that stopped reading does not hold the stream open.
        self.interrupt: Callable[[], object] | None = None

    # --- called by the feed and the service ---------------------------------------------------

    def deliver(self, events: Sequence[LoggedEvent], position: int) -> None:
        if self._ending is not None:
            return
        matches = self.filter.matches
        self._pending.extend(e for e in events if matches(e))
        self._seen = position
        if len(self._pending) > self._limits.buffer_events:
            self._pending.clear()
            metrics.subscriber_dropped()
            self.end(_too_slow)
        self._wake()

    def end(self, error: Callable[[int], DomainError]) -> None:
        """End the stream with ``error(cursor)`` as soon as it next looks."""
        if self._ending is None:
            self._ending = error
            self._wake()
            if self.interrupt is not None:
                self.interrupt()

    def ending(self) -> DomainError | None:
        """The error the stream ends with, once it must end."""
        return self._ending(self.cursor) if self._ending is not None else None

    def beat(self) -> None:
        self._beat_due = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._feed.remove(self)
            self._heartbeats.remove(self)
            self._on_close(self)

    # --- the stream ----------------------------------------------------------------------------

    def _check(self) -> None:
        if self._ending is not None:
            raise self._ending(self.cursor)

    async def _replay(self, upto: int) -> AsyncIterator[LoggedEvent]:
        while self.cursor < upto:
            self._check()
            async with self._replay_slots:
                page = await self._log.read_range(self.cursor, upto, self.filter, REPLAY_PAGE)
            for event in page:
                self._check()
                if event.seq not in self._skip:
                    yield event
                self.cursor = event.seq
            if len(page) < REPLAY_PAGE:
                self.cursor = upto

    def _catch_up_from_memory(self) -> int | None:
        """Register at the feed with the recent events after the cursor already pending, if the
        feed remembers them all and they fit the live buffer; the position registered at."""
        recent = self._feed.recent_after(self.cursor)
        if recent is None:
            return None
        matching = [e for e in recent if self.filter.matches(e)]
        if len(matching) > self._limits.buffer_events // 2:
            return None  # a long history is read from the store, not counted against the buffer
        # No await between reading the memory and registering: nothing can slip in between.
        registered_at = self._feed.add(self)
        self._pending.extend(matching)
        self._seen = registered_at
        return registered_at

    async def items(self) -> AsyncGenerator[Item, None]:
        registered_at: int | None = None
        caught_up = True
        if self.cursor >= self._feed.position:
            registered_at = self._feed.add(self)
        else:
            registered_at = self._catch_up_from_memory()
            caught_up = registered_at is not None
        # The first message says the stream is open and where it starts; when it starts live,
        # every event committed after the client received it will reach it.
        yield Heartbeat(self.cursor)
        if registered_at is None:
            # History first, without holding a place at the feed: a long replay must not count
            # against the live buffer.
            async for event in self._replay(self._feed.position):
                yield event
            registered_at = self._feed.add(self)
        if not caught_up:
            async for event in self._replay(registered_at):
                yield event
        loop = asyncio.get_running_loop()
        self.last_sent = loop.time()
        self._heartbeats.add(self)
        while True:
            self._check()
            if self._pending:
                event = self._pending.popleft()
                if event.seq > self.cursor:
                    if event.seq not in self._skip:
                        yield event
                        self.last_sent = loop.time()
                    self.cursor = event.seq
                continue
            if self._seen > self.cursor:
                self.cursor = self._seen
            if self._beat_due:
                self._beat_due = False
                yield Heartbeat(self.cursor)
                self.last_sent = loop.time()
                continue
            # Nothing awaited since the checks above: whatever arrives from here on wakes it.
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


def _too_slow(cursor: int) -> DomainError:
    return ResourceExhausted(
        "the stream fell too far behind; reconnect with after_seq set to the last seq you received",
        retry_after_seconds=0.0,
        reason="SUBSCRIBER_TOO_SLOW",
        metadata={"last_seq": str(cursor)},
    )


def _shutting_down(cursor: int) -> DomainError:
    return Unavailable(
        "the server is shutting down; reconnect with after_seq set to the last seq you received",
        retry_after_seconds=1.0,
        reason="SERVER_SHUTTING_DOWN",
        metadata={"last_seq": str(cursor)},
    )


class SubscriptionService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        events: EventLog,
        feed: EventFeed,
        payment_visible: Callable[[Principal, str], Awaitable[object]],
        limits: Limits,
    ) -> None:
        self._uow = uow
        self._log = events
        self.feed = feed
        self._payment_visible = payment_visible
        self.limits = limits
        self._open: dict[Subscription, str] = {}
        self._per_principal: Counter[str] = Counter()
        self._stopping = False
        self._replay_slots = asyncio.Semaphore(limits.replays)
        self._heartbeats = Heartbeats(limits.heartbeat_seconds)

    @property
    def open_streams(self) -> int:
        return len(self._open)

    async def start(self) -> None:
        await self.feed.start()

    def shutdown(self) -> None:
        """End every stream with UNAVAILABLE (reason SERVER_SHUTTING_DOWN); refuse new ones."""
        self._stopping = True
        for subscription in list(self._open):
            subscription.end(_shutting_down)

    async def close(self) -> None:
        self.shutdown()
        await self._heartbeats.close()
        await self.feed.close()

    async def open(self, principal: Principal, request: SubscribeRequest) -> Subscription:
        start, types = self._validate(request)
        if self._stopping:
            raise _shutting_down(request.after_seq)
        subject = principal.subject
        self._admit(subject)
        # Counted from here, so that concurrent opens cannot all pass the check.
        self._per_principal[subject] += 1
        try:
            event_filter = await self._authorize(principal, request, types)
            await self.feed.ready.wait()
            skip: frozenset[int] = frozenset()
            if start is Start.NOW:
                cursor, skip = await self._now()
            else:
                cursor = await self._check_cursor(request.after_seq)
        except BaseException:
            self._release(subject)
            raise
        subscription = Subscription(
            self.feed,
            self._log,
            event_filter,
            cursor,
            self.limits,
            self._closed,
            skip,
            self._replay_slots,
            self._heartbeats,
        )
        self._open[subscription] = subject
        metrics.subscription_opened()
        if self._stopping:
            subscription.end(_shutting_down)
        return subscription

    async def _now(self) -> tuple[int, frozenset[int]]:
        """Where a stream "from now" starts: the feed's position after a read that began after
        this call, minus the events that read saw committed beyond it. A later commit with a
        lower seq (PostgreSQL) is after "now" and still arrives.

        Streams that open together share the feed's next read: a burst of ten thousand streams
        costs a read or two, not ten thousand queries."""
        position, beyond = await self.feed.now()
        if beyond is None:  # more waited behind a gap than the feed reads at once: look them up
            beyond = frozenset(await self._log.seqs_after(position, _NOW_CATCH_UP))
        return position, beyond

    async def _check_cursor(self, after_seq: int) -> int:
        if after_seq > self.feed.position:
            newest, _ = await self._log.newest()
            if after_seq > newest:
                v = Violations()
                v.add("after_seq", f"is beyond the newest event ({newest})", "CURSOR_OUT_OF_RANGE")
                v.raise_if_any()
        return after_seq

    def _closed(self, subscription: Subscription) -> None:
        subject = self._open.pop(subscription, None)
        if subject is not None:
            metrics.subscription_closed()
            self._release(subject)

    def _release(self, subject: str) -> None:
        self._per_principal[subject] -= 1
        if self._per_principal[subject] <= 0:
            del self._per_principal[subject]

    def _admit(self, subject: str) -> None:
        if self._per_principal[subject] >= self.limits.per_principal:
            raise ResourceExhausted(
                f"at most {self.limits.per_principal} open event streams per caller",
                retry_after_seconds=1.0,
                reason="TOO_MANY_STREAMS",
                quota_subject=subject,
            )
        if self._per_principal.total() >= self.limits.per_process:
            raise ResourceExhausted(
                "this server holds as many event streams as it may; retry shortly (another may take it)",
                retry_after_seconds=1.0,
                reason="TOO_MANY_STREAMS",
                quota_subject="server",
            )

    @staticmethod
    def _validate(request: SubscribeRequest) -> tuple[Start, frozenset[str]]:
        v = Violations()
        start = request.start
        if start is Start.UNSPECIFIED:
            start = Start.AFTER_SEQ if request.after_seq else Start.NOW
        if request.after_seq < 0:
            v.add("after_seq", "must not be negative", "CURSOR_OUT_OF_RANGE")
        if start is Start.NOW and request.after_seq:
            v.add("after_seq", "must be 0 with STREAM_START_NOW", "CURSOR_WITH_START_NOW")
        check_id(v, "payment_id", request.payment_id, "pay", required=False)
        check_id(v, "merchant_id", request.merchant_id, "mer", required=False)
        if len(request.event_types) > MAX_EVENT_TYPES:
            v.add("event_types", f"at most {MAX_EVENT_TYPES} types", "TOO_MANY_VALUES")
        for index, name in enumerate(request.event_types):
            if len(name) > 40 or not _EVENT_TYPE.match(name):
                v.add(f"event_types[{index}]", "must be an event type such as payment.captured", "INVALID_EVENT_TYPE")
        v.raise_if_any()
        return start, frozenset(request.event_types)

    async def _authorize(self, principal: Principal, request: SubscribeRequest, types: frozenset[str]) -> EventFilter:
        """The request's filters narrowed to what the caller may see. Another tenant's merchant
        or payment is NOT_FOUND, as everywhere."""
        if request.payment_id:
            await self._payment_visible(principal, request.payment_id)
        merchant = request.merchant_id or None
        customers: frozenset[str] | None = None
        if principal.is_admin:
            pass
        elif principal.role is Role.CUSTOMER:
            async with self._uow() as uow:
                linked, _ = await uow.customers.list_page(
                    merchant_id=None,
                    user_id=principal.user_id or "-",
                    email=None,
                    cursor=None,
                    limit=_MAX_LINKED_CUSTOMERS,
                )
            customers = frozenset(c.id for c in linked)
        else:
            if not principal.merchant_id or (merchant is not None and merchant != principal.merchant_id):
                raise NotFound("merchant", request.merchant_id or "(none)")
            merchant = principal.merchant_id
        return EventFilter(
            payment_id=request.payment_id or None, merchant_id=merchant, customer_ids=customers, types=types
        )
