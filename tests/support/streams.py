"""Event streams for tests: a background reader per stream, and waits with deadlines."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from paysim_proto.v1 import events_pb2

from tests.support.client import RichError, Stubs, rich_error

Response = events_pb2.SubscribePaymentEventsResponse
_END = object()


class EventStream:
    """Reads a SubscribePaymentEvents call on a thread of its own into a queue, so a test can
    wait for what it expects with a deadline and never blocks forever on ``next``."""

    def __init__(self, stubs: Stubs, request: events_pb2.SubscribePaymentEventsRequest, **kw: Any) -> None:
        self.call = stubs.events.SubscribePaymentEvents(request, timeout=kw.pop("timeout", 300), **kw)
        self._items: queue.Queue[Any] = queue.Queue()
        self.received: list[Response] = []
        self.error: grpc.RpcError | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self._items.put(message)
        except grpc.RpcError as error:
            self._items.put(error)
        finally:
            self._items.put(_END)

    def next(self, timeout: float = 20) -> Response:
        """The next message; raises the stream's error, or AssertionError at the deadline."""
        try:
            item = self._items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout}s") from None
        if item is _END:
            self._items.put(_END)
            raise AssertionError("the stream ended")
        if isinstance(item, grpc.RpcError):
            self.error = item
            self._items.put(_END)
            raise item
        self.received.append(item)
        message: Response = item
        return message

    def opened(self, timeout: float = 20) -> int:
        """Wait for the opening heartbeat; returns the position the stream starts from."""
        first = self.next(timeout)
        assert first.WhichOneof("kind") == "heartbeat", first
        return first.seq

    def events(self, count: int, timeout: float = 30) -> list[events_pb2.StreamedPaymentEvent]:
        """The next ``count`` events (heartbeats skipped)."""
        return [m.event for m in self.event_messages(count, timeout)]

    def event_messages(self, count: int, timeout: float = 30) -> list[Response]:
        found: list[Response] = []
        end = time.monotonic() + timeout
        while len(found) < count:
            message = self.next(max(0.01, end - time.monotonic()))
            if message.WhichOneof("kind") == "event":
                found.append(message)
        return found

    def until(self, done: Callable[[Response], bool], timeout: float = 30) -> list[Response]:
        """Every message up to and including the first for which ``done`` holds."""
        seen: list[Response] = []
        end = time.monotonic() + timeout
        while True:
            message = self.next(max(0.01, end - time.monotonic()))
            seen.append(message)
            if done(message):
                return seen

    def failure(self, timeout: float = 30) -> RichError:
        """Read until the stream ends with an error; that error, decoded."""
        end = time.monotonic() + timeout
        while True:
            try:
                self.next(max(0.01, end - time.monotonic()))
            except grpc.RpcError as error:
                return rich_error(error)

    def cancel(self) -> None:
        self.call.cancel()
        self._thread.join(10)


def wait_for(condition: Callable[[], bool], timeout: float = 20, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.01)
