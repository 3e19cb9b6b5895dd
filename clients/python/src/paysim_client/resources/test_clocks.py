"""``client.test_clocks``: a merchant's test clocks, time a test controls.

Advancing answers at once with the clock ``ADVANCING``; :meth:`AsyncTestClocks.advance` with
``wait=True`` (the default) waits until it reads ``READY`` at the new time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from paysim_proto.v1 import clock_pb2

from paysim_client._blocking import blocking
from paysim_client._generated import rpcs
from paysim_client.config import RetryPolicy
from paysim_client.resources._base import AsyncResource, BlockingResource

# How often advance(wait=True) reads the clock while it moves.
_POLL_SECONDS = 0.05


def _timestamp(value: datetime) -> Timestamp:
    if value.tzinfo is None:
        raise ValueError("a clock's time must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


class AsyncTestClocks(AsyncResource):
    """Test clocks."""

    __test__ = False  # a resource, not a pytest test class

    async def create(
        self,
        name: str,
        frozen_time: datetime,
        *,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> clock_pb2.TestClock:
        """A new clock, ``READY`` at ``frozen_time``."""
        request = clock_pb2.CreateTestClockRequest(
            merchant_id=merchant_id, name=name, frozen_time=_timestamp(frozen_time)
        )
        reply = await self._transport.call(rpcs.CREATE_TEST_CLOCK, request, timeout=timeout, retry=retry)
        return reply.test_clock

    async def get(
        self, test_clock_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> clock_pb2.TestClock:
        """One clock, as it stands (``READY`` or ``ADVANCING``)."""
        request = clock_pb2.GetTestClockRequest(test_clock_id=test_clock_id)
        reply = await self._transport.call(rpcs.GET_TEST_CLOCK, request, timeout=timeout, retry=retry)
        return reply.test_clock

    async def list(
        self, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Sequence[clock_pb2.TestClock]:
        """The merchant's clocks, newest first."""
        request = clock_pb2.ListTestClocksRequest(merchant_id=merchant_id)
        reply = await self._transport.call(rpcs.LIST_TEST_CLOCKS, request, timeout=timeout, retry=retry)
        return reply.test_clocks

    async def delete(
        self, test_clock_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> None:
        """Delete a clock."""
        request = clock_pb2.DeleteTestClockRequest(test_clock_id=test_clock_id)
        await self._transport.call(rpcs.DELETE_TEST_CLOCK, request, timeout=timeout, retry=retry)

    async def advance(
        self,
        test_clock_id: str,
        frozen_time: datetime,
        *,
        wait: bool = True,
        wait_seconds: float = 60.0,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> clock_pb2.TestClock:
        """Move the clock forward to ``frozen_time`` (at most 60 days per call). With ``wait``, the
        clock once it is ``READY`` there (``TimeoutError`` after ``wait_seconds``)."""
        request = clock_pb2.AdvanceTestClockRequest(test_clock_id=test_clock_id, frozen_time=_timestamp(frozen_time))
        reply = await self._transport.call(rpcs.ADVANCE_TEST_CLOCK, request, timeout=timeout, retry=retry)
        clock = reply.test_clock
        deadline = time.monotonic() + wait_seconds
        while wait and clock.status != clock_pb2.TEST_CLOCK_STATUS_READY:
            if time.monotonic() > deadline:
                raise TimeoutError(f"test clock {test_clock_id} still advancing after {wait_seconds} s")
            await asyncio.sleep(_POLL_SECONDS)  # no change feed for clocks: read it again
            clock = await self.get(test_clock_id, timeout=timeout, retry=retry)
        return clock


class TestClocks(BlockingResource[AsyncTestClocks]):
    """Test clocks (blocking); see :class:`AsyncTestClocks`."""

    __test__ = False  # a resource, not a pytest test class

    create = blocking(AsyncTestClocks.create)
    get = blocking(AsyncTestClocks.get)
    list = blocking(AsyncTestClocks.list)
    delete = blocking(AsyncTestClocks.delete)
    advance = blocking(AsyncTestClocks.advance)
