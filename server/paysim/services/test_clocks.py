"""Test clock use cases: create, read, list, delete, and advance a merchant's clocks.

Advancing stores the clock ADVANCING with its target and answers at once; a background task then
runs the transitions of every source (``ClockTransitions``, services/clock_transitions.py) due up
to the target, merged in time order across the sources (the earliest due first, whichever source
it is of), and stores the clock READY at the target. Sources hang off a clock by id (authorization
expiry, 3-D Secure challenge expiry, refund settlement, disputes, webhook attempts); each must be
idempotent, because a process that stops midway leaves the clock ADVANCING and the housekeeping
round of any process finishes the advance by running the sources again. At equal times the source
listed first goes first.

A clock that payments or customers live on is not deleted (TEST_CLOCK_IN_USE): paysim keeps every
payment's money history, and its objects' times would mean nothing without their clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from paysim.domain import ids
from paysim.domain.errors import NotFound
from paysim.domain.principal import Principal
from paysim.domain.test_clocks import ClockStatus, TestClock, check_name, finish_advance, in_use, start_advance
from paysim.domain.validation import Violations, check_id
from paysim.services.clock import Clock
from paysim.services.tenancy import target_merchant, visible_merchant
from paysim.store.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("paysim.test_clocks")
_KIND = "test_clock"


class ClockTransitions(Protocol):
    async def next_due(self, clock: TestClock, up_to: datetime) -> datetime | None:
        """When the earliest transition on ``clock``'s objects falls due, if at or before ``up_to``."""
        ...

    async def run_due(self, clock: TestClock, up_to: datetime) -> int:
        """Run, in time order, what falls due on ``clock`` up to ``up_to``; returns how many ran."""
        ...


def _check_clock_id(clock_id: str) -> None:
    v = Violations()
    check_id(v, "test_clock_id", clock_id, ids.TEST_CLOCK)
    v.raise_if_any()


class TestClockService:
    __test__ = False  # a service, not a pytest test class

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, transitions: Sequence[ClockTransitions] = ()) -> None:
        self._uow = uow
        self._clock = clock
        self._transitions = tuple(transitions)
        self._advances: dict[str, asyncio.Task[None]] = {}  # by clock id, this process's

    async def create(
        self, principal: Principal, merchant_id: str, name: str, frozen_time: datetime | None
    ) -> TestClock:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        check_name(v, name)
        if frozen_time is None:
            v.add("frozen_time", "is required", "REQUIRED")
        v.raise_if_any()
        assert frozen_time is not None
        merchant_id = target_merchant(principal, merchant_id)
        clock = TestClock(ids.new_id(ids.TEST_CLOCK), merchant_id, name.strip(), frozen_time, self._clock())
        async with self._uow() as uow:
            if await uow.merchants.get(merchant_id) is None:
                raise NotFound("merchant", merchant_id)
            await uow.test_clocks.add(clock)
            await uow.commit()
        return clock

    async def get(self, principal: Principal, clock_id: str) -> TestClock:
        _check_clock_id(clock_id)
        async with self._uow() as uow:
            clock = await uow.test_clocks.get(clock_id)
        if clock is None:
            raise NotFound(_KIND, clock_id)
        visible_merchant(principal, clock.merchant_id, _KIND, clock_id)
        return clock

    async def list_clocks(self, principal: Principal, merchant_id: str) -> list[TestClock]:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        v.raise_if_any()
        merchant_id = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            return await uow.test_clocks.list_for(merchant_id)

    async def delete(self, principal: Principal, clock_id: str) -> None:
        clock = await self.get(principal, clock_id)
        async with self._uow() as uow:
            if await uow.payments.on_clock(clock_id) or await uow.customers.on_clock(clock_id):
                raise in_use(clock)
            if not await uow.test_clocks.delete(clock_id):
                raise NotFound(_KIND, clock_id)
            await uow.commit()

    async def advance(self, principal: Principal, clock_id: str, target: datetime | None) -> TestClock:
        v = Violations()  # every problem of the request at once
        check_id(v, "test_clock_id", clock_id, ids.TEST_CLOCK)
        if target is None:
            v.add("frozen_time", "is required", "REQUIRED")
        v.raise_if_any()
        assert target is not None
        async with self._uow() as uow:
            clock = await uow.test_clocks.get(clock_id, for_update=True)
            if clock is None:
                raise NotFound(_KIND, clock_id)
            visible_merchant(principal, clock.merchant_id, _KIND, clock_id)
            advancing = start_advance(clock, target)
            if advancing is None:
                return clock  # there or on its way already
            await uow.test_clocks.save(advancing)
            await uow.commit()
        task = asyncio.create_task(self._finish_quietly(clock_id), name=f"paysim-advance-{clock_id}")
        self._advances[clock_id] = task
        task.add_done_callback(lambda _: self._advances.pop(clock_id, None))
        return advancing

    async def finish(self, clock_id: str) -> bool:
        """Run what is due up to the clock's target and make it READY there. False if it was not
        advancing (finished meanwhile, or deleted)."""
        async with self._uow() as uow:
            clock = await uow.test_clocks.get(clock_id)
        if clock is None or clock.status is not ClockStatus.ADVANCING:
            return False
        await self._run_in_time_order(clock)
        async with self._uow() as uow:
            current = await uow.test_clocks.get(clock_id, for_update=True)
            if current is None or current != clock:
                return False
            await uow.test_clocks.save(finish_advance(current))
            await uow.commit()
        return True

    async def _run_in_time_order(self, clock: TestClock) -> None:
        """Every source's due transitions, the earliest first whichever source it is of: subscribers
        see a 3-D Secure expiry of minutes in before an authorization expiry of days in."""
        sources = list(self._transitions)
        while sources:
            due = [(at, i) for i, s in enumerate(sources) if (at := await s.next_due(clock, clock.target)) is not None]
            if not due:
                return
            at, i = min(due)
            if not await sources[i].run_due(clock, at):
                # Due but nothing it could run (a capture of it in flight): leave it for the next
                # advance rather than loop, and carry on with the others.
                sources.pop(i)

    async def finish_advancing(self, limit: int = 100) -> int:
        """Finish the advances nobody is finishing (the housekeeping round); returns how many."""
        async with self._uow() as uow:
            advancing = await uow.test_clocks.advancing(limit)
        finished = 0
        for clock_id in advancing:
            if clock_id not in self._advances:  # one this process is advancing finishes by itself
                finished += await self.finish(clock_id)
        return finished

    async def _finish_quietly(self, clock_id: str) -> None:
        try:
            await self.finish(clock_id)
        except Exception:  # the clock stays ADVANCING; the housekeeping round finishes it
            log.exception("advancing a test clock failed", extra={"fields": {"test_clock_id": clock_id}})

    async def stop(self) -> None:
        """Stop the advances in flight; the housekeeping round of a process finishes them later."""
        tasks = tuple(self._advances.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
