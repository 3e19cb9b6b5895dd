"""``client.payments.watch()``: payment events as they are committed, across reconnections.

    async with client.payments.watch(event_types=["payment.captured"]) as watcher:
        async for event in watcher:
            handle(event)
            save(watcher.cursor)

A watcher holds one ``EventService.SubscribePaymentEvents`` stream at a time. When the stream
ends in a way that asks the client to come back — the server stops (``UNAVAILABLE``,
``SERVER_SHUTTING_DOWN``), the reader fell behind (``RESOURCE_EXHAUSTED``,
``SUBSCRIBER_TOO_SLOW``), the caller holds too many streams (``TOO_MANY_STREAMS``), the
connection broke or went silent — it waits (exponential backoff with jitter, see
:class:`~paysim_client.config.ReconnectPolicy`) and opens a new stream from its cursor. The
server replays what was committed meanwhile, so no event is lost, and the watcher drops
anything at or below its cursor, so none is handed out twice. Any other error (``NotFound``,
``PermissionDenied``, ``InvalidArgument``…) ends the iteration by being raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

import grpc
from paysim_proto.v1 import events_pb2
from paysim_proto.v1.payment_pb2 import PaymentEvent

from paysim_client._generated import rpcs
from paysim_client._loop_thread import LoopThread
from paysim_client._transport import Transport
from paysim_client.config import DEFAULT_RECONNECT, ReconnectPolicy
from paysim_client.errors import (
    Cancelled,
    ResourceExhausted,
    RpcError,
    Unauthenticated,
    Unavailable,
    from_grpc_error,
)

log = logging.getLogger(__name__)

# How long closing a watcher waits for its cancelled call to finish.
_CLOSE_SECONDS = 1.0
# RESOURCE_EXHAUSTED reasons that a later stream from the same cursor gets past.
RESUMABLE_REASONS = frozenset({"SUBSCRIBER_TOO_SLOW", "TOO_MANY_STREAMS", "RATE_LIMITED"})


def may_resume(error: RpcError, *, opening: bool = False) -> bool:
    """True when a new stream from the cursor may succeed where this one ended with ``error``.

    ``UNAVAILABLE`` is the server stopping or unreachable, or the connection broken;
    ``CANCELLED`` reaching the reader was not its own doing (a proxy reset the stream). While
    ``opening`` (no message received yet), a ``RESOURCE_EXHAUSTED`` without paysim's reason is
    gRPC refusing the call before paysim saw it (too many pending calls after a restart); later
    it would be a message too large for the channel, which a new stream would only meet again.
    """
    if isinstance(error, Unavailable | Cancelled):
        return True
    if not isinstance(error, ResourceExhausted):
        return False
    return error.reason in RESUMABLE_REASONS or (opening and not error.reason)


def _task_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class AsyncWatcher:
    """An async iterator over payment events, one stream after another from a cursor.

    Made by ``client.payments.watch(...)``. ``async with`` opens the stream before the block runs
    (every event committed after that reaches the watcher) and closes it at the end; iterating
    opens it on first use. :attr:`cursor` is where to pick up later; :meth:`aclose` ends the
    iteration.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        payment_id: str = "",
        merchant_id: str = "",
        event_types: Sequence[str] = (),
        after_seq: int | None = None,
        start: events_pb2.StreamStart.ValueType = events_pb2.STREAM_START_UNSPECIFIED,
        reconnect: ReconnectPolicy = DEFAULT_RECONNECT,
        stall_timeout: float | None = None,
        random_source: Callable[[], float] = random.random,
    ) -> None:
        if start == events_pb2.STREAM_START_NOW and after_seq is not None:
            raise ValueError("after_seq goes with STREAM_START_AFTER_SEQ, not STREAM_START_NOW")
        if start == events_pb2.STREAM_START_AFTER_SEQ and after_seq is None:
            after_seq = 0
        if after_seq is not None and after_seq < 0:
            raise ValueError("after_seq must not be negative")
        if stall_timeout is not None and stall_timeout <= 0:
            raise ValueError("stall_timeout must be positive, or None")
        if isinstance(event_types, str):
            raise TypeError("event_types is a sequence of event types, not one string")
        self._transport = transport
        self._payment_id = payment_id
        self._merchant_id = merchant_id
        self._event_types = tuple(event_types)
        self._cursor = after_seq
        self._reconnect = reconnect
        self._stall = stall_timeout
        self._random = random_source
        self._call: Any = None
        self._used: str | None = None
        self._held: PaymentEvent | None = None
        self._opened = 0
        self._failures = 0
        self._renewed = False
        self._closed = False
        self._closing = asyncio.Event()
        self.last_error: RpcError | None = None
        """The error the last stream ended with (None while none has); resumed from, or raised."""

    def __repr__(self) -> str:
        return f"AsyncWatcher(cursor={self._cursor}, reconnects={self.reconnects}, closed={self._closed})"

    @property
    def cursor(self) -> int | None:
        """Where the watcher stands: the ``seq`` of the last event it handed out, or a later
        position vouched for by a heartbeat (the events in between did not match the filters).
        Persist it and pass it as ``after_seq`` to a later watcher to pick up exactly there.
        None until the stream first opens when the watcher started from now."""
        return self._cursor

    @property
    def reconnects(self) -> int:
        """How many times a stream was opened again after the first one."""
        return max(0, self._opened - 1)

    @property
    def closed(self) -> bool:
        return self._closed

    def _request(self) -> events_pb2.SubscribePaymentEventsRequest:
        request = events_pb2.SubscribePaymentEventsRequest(
            payment_id=self._payment_id, merchant_id=self._merchant_id, event_types=self._event_types
        )
        if self._cursor is None:
            request.start = events_pb2.STREAM_START_NOW
        else:
            request.start = events_pb2.STREAM_START_AFTER_SEQ
            request.after_seq = self._cursor
        return request

    async def open(self) -> None:
        """Open the stream unless it is open, and wait until the server confirms it: every event
        committed from then on reaches this watcher, and :attr:`cursor` is set. ``async with``
        does this. Reconnects and raises as iterating does."""
        while self._call is None:
            if self._closed:
                raise RuntimeError("the watcher is closed")
            await self._connect()

    async def _connect(self) -> None:
        """One attempt: open a stream and read its first message, the server's heartbeat that
        says where the stream starts. On failure, back off (or raise) and leave it closed."""
        call, used = await self._transport.stream(rpcs.SUBSCRIBE_PAYMENT_EVENTS, self._request())
        if self._closed:  # closed while the credentials were being renewed
            call.cancel()
            return
        self._call, self._used = call, used
        first = await self._read(opening=True)
        if first is None:
            return
        self._opened += 1
        self._failures = 0
        self._renewed = False
        if self._opened > 1:
            log.info("paysim event stream reopened from seq %s", self._cursor)
        # The server's first message is a heartbeat; an event first would be kept, not lost.
        self._held = self._accept(first)

    async def _read(self, *, opening: bool = False) -> events_pb2.SubscribePaymentEventsResponse | None:
        """The open stream's next message; None if it ended (then it is closed, and the policy's
        wait is over or the error raised)."""
        call = self._call
        try:
            if self._stall is None:
                message = await call.read()
            else:
                message = await asyncio.wait_for(call.read(), self._stall)
        except TimeoutError:
            call.cancel()
            error: RpcError = Unavailable(f"no message for {self._stall} s; the connection is taken for dead")
        except asyncio.CancelledError:
            self._call = None  # cancelling a read cancels its call
            if _task_cancelled():
                raise
            return None  # cancelled under us: by aclose(), or by the client closing its channel
        except grpc.aio.AioRpcError as raw:
            error = from_grpc_error(raw)
        else:
            if isinstance(message, events_pb2.SubscribePaymentEventsResponse):
                return message
            error = Unavailable("the server ended the stream")  # grpc.aio.EOF: ended with OK
        self._call = None
        await self._recover(error, opening)
        return None

    async def _recover(self, error: RpcError, opening: bool) -> None:
        """After a stream ended with ``error``: wait before the next one, or raise ``error``."""
        self.last_error = error
        if self._closed:
            return
        if isinstance(error, Unauthenticated) and not self._renewed:
            # Once per opening: a second refusal is about the caller, not an expired token.
            self._renewed = True
            if await self._transport.credentials.renew(self._used, error):
                return
        if not may_resume(error, opening=opening):
            raise error
        self._failures += 1
        # The end of an open stream is not a failed attempt; the reconnections after it are.
        limit = self._reconnect.max_attempts
        if limit is not None and self._failures > limit:
            raise error
        delay = self._reconnect.delay(self._failures, error.retry_delay, self._random())
        log.info(
            "paysim event stream ended (%s %s); reopening from seq %s in %.2f s",
            error.code.name,
            error.reason or error.message,
            self._cursor,
            delay,
        )
        with contextlib.suppress(TimeoutError):  # the wait is over, or aclose() cut it short
            await asyncio.wait_for(self._closing.wait(), delay)

    def _accept(self, message: events_pb2.SubscribePaymentEventsResponse) -> PaymentEvent | None:
        """Move the cursor for ``message``; the event to hand out, if it is a new one."""
        if message.WhichOneof("kind") == "event":
            if self._cursor is not None and message.seq <= self._cursor:
                return None  # handed out already (a stream further behind replays it): never twice
            self._cursor = message.seq
            return message.event
        # A heartbeat: every matching event up to its position has been handed out.
        if self._cursor is None or message.seq > self._cursor:
            self._cursor = message.seq
        return None

    def __aiter__(self) -> AsyncWatcher:
        return self

    async def __anext__(self) -> PaymentEvent:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._held is not None:
                held, self._held = self._held, None
                return held
            if self._call is None:
                await self._connect()
                continue
            message = await self._read()
            if message is not None and (event := self._accept(message)) is not None:
                return event

    async def aclose(self) -> None:
        """Close the stream; iteration ends. Idempotent."""
        self._closed = True
        self._closing.set()
        call, self._call = self._call, None
        if call is not None:
            call.cancel()
            # Let the call's own tasks see the cancellation through: a loop closed right after
            # (the blocking client's, a command that exits) must not find them still pending.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call.code(), _CLOSE_SECONDS)

    async def __aenter__(self) -> AsyncWatcher:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class Watcher:
    """The blocking twin of :class:`AsyncWatcher`, for :class:`paysim_client.Client`: a plain
    iterator, opened by ``with`` (or on first use) and closed by :meth:`close` or ``with``."""

    def __init__(self, runner: LoopThread, watcher: AsyncWatcher) -> None:
        self._runner = runner
        self._async = watcher

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncWatcher", "Watcher", 1)

    @property
    def cursor(self) -> int | None:
        """See :attr:`AsyncWatcher.cursor`."""
        return self._async.cursor

    @property
    def reconnects(self) -> int:
        """How many times a stream was opened again after the first one."""
        return self._async.reconnects

    @property
    def last_error(self) -> RpcError | None:
        """The error the last stream ended with (None while none has); resumed from, or raised."""
        return self._async.last_error

    @property
    def closed(self) -> bool:
        return self._async.closed

    def open(self) -> None:
        """See :meth:`AsyncWatcher.open`."""
        self._runner.run(self._async.open())

    def __iter__(self) -> Iterator[PaymentEvent]:
        return self

    def __next__(self) -> PaymentEvent:
        try:
            return self._runner.run(self._async.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """Close the stream; iteration ends, also in another thread waiting for the next event."""
        if not self._runner.closed:
            self._runner.run(self._async.aclose())

    def __enter__(self) -> Watcher:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["RESUMABLE_REASONS", "AsyncWatcher", "Watcher", "may_resume"]
