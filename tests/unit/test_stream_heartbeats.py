"""One timer for every stream: a stream that has sent nothing for an interval is woken to send a
heartbeat, one that sent something meanwhile is not, and the timer stops with its last stream."""

from __future__ import annotations

import asyncio

from paysim.services.stream_heartbeats import Heartbeats


class Stream:
    def __init__(self, last_sent: float) -> None:
        self.last_sent = last_sent
        self.beats = 0
        self.woken = asyncio.Event()

    def beat(self) -> None:
        self.beats += 1
        self.woken.set()


def test_only_streams_idle_for_an_interval_are_woken() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        heartbeats = Heartbeats(0.05)
        idle, busy = Stream(loop.time()), Stream(loop.time())
        heartbeats.add(idle)
        heartbeats.add(busy)

        async def keep_busy() -> None:
            while not idle.woken.is_set():
                busy.last_sent = loop.time()
                await asyncio.sleep(0.005)

        started = loop.time()
        await asyncio.wait_for(keep_busy(), 5)
        assert loop.time() - started >= 0.05  # not before a whole interval
        assert idle.beats >= 1 and busy.beats == 0
        heartbeats.remove(idle)
        heartbeats.remove(busy)
        await heartbeats.close()

    asyncio.run(scenario())


def test_the_timer_stops_with_its_last_stream_and_starts_again_with_the_next() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        heartbeats = Heartbeats(0.02)
        first = Stream(loop.time())
        heartbeats.add(first)
        task = heartbeats._task
        assert task is not None
        heartbeats.remove(first)
        await asyncio.wait_for(task, 5)  # nothing left to look at: it ends by itself
        assert heartbeats._task is None
        second = Stream(loop.time())
        heartbeats.add(second)
        await asyncio.wait_for(second.woken.wait(), 5)
        await heartbeats.close()

    asyncio.run(scenario())
