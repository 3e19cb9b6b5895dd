"""paysim.v1.ClockService: a merchant's test clocks."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_proto.v1 import clock_pb2, clock_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.contract.timestamps import from_timestamp, timestamp
from paysim.domain.test_clocks import ClockStatus, TestClock
from paysim.services.test_clocks import TestClockService

Context = grpc.aio.ServicerContext[Any, Any]
C = clock_pb2

_STATUSES = {ClockStatus.READY: C.TEST_CLOCK_STATUS_READY, ClockStatus.ADVANCING: C.TEST_CLOCK_STATUS_ADVANCING}


def test_clock_message(clock: TestClock) -> clock_pb2.TestClock:
    return C.TestClock(
        id=clock.id,
        merchant_id=clock.merchant_id,
        name=clock.name,
        frozen_time=timestamp(clock.frozen_time),
        status=_STATUSES[clock.status],
        advancing_to=timestamp(clock.advancing_to),
        create_time=timestamp(clock.created_at),
    )


class ClockServicer(clock_pb2_grpc.ClockServiceServicer):
    def __init__(self, clocks: TestClockService) -> None:
        self._clocks = clocks

    async def CreateTestClock(
        self, request: clock_pb2.CreateTestClockRequest, context: Context
    ) -> clock_pb2.CreateTestClockResponse:
        frozen = from_timestamp(request.frozen_time) if request.HasField("frozen_time") else None
        clock = await self._clocks.create(require_principal(), request.merchant_id, request.name, frozen)
        return C.CreateTestClockResponse(test_clock=test_clock_message(clock))

    async def GetTestClock(
        self, request: clock_pb2.GetTestClockRequest, context: Context
    ) -> clock_pb2.GetTestClockResponse:
        clock = await self._clocks.get(require_principal(), request.test_clock_id)
        return C.GetTestClockResponse(test_clock=test_clock_message(clock))

    async def ListTestClocks(
        self, request: clock_pb2.ListTestClocksRequest, context: Context
    ) -> clock_pb2.ListTestClocksResponse:
        clocks = await self._clocks.list_clocks(require_principal(), request.merchant_id)
        return C.ListTestClocksResponse(test_clocks=[test_clock_message(c) for c in clocks])

    async def DeleteTestClock(
        self, request: clock_pb2.DeleteTestClockRequest, context: Context
    ) -> clock_pb2.DeleteTestClockResponse:
        await self._clocks.delete(require_principal(), request.test_clock_id)
        return C.DeleteTestClockResponse()

    async def AdvanceTestClock(
        self, request: clock_pb2.AdvanceTestClockRequest, context: Context
    ) -> clock_pb2.AdvanceTestClockResponse:
        target = from_timestamp(request.frozen_time) if request.HasField("frozen_time") else None
        clock = await self._clocks.advance(require_principal(), request.test_clock_id, target)
        return C.AdvanceTestClockResponse(test_clock=test_clock_message(clock))
