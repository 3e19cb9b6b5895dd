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
        started = loop.time()
        idle = Stream(started)
        # Something was sent to this one "just now" at every tick, however late the ticks come
        # on a loaded machine: its last send is kept in the future.
        busy = Stream(started + 3600)
        heartbeats.add(idle)
        heartbeats.add(busy)

        await asyncio.wait_for(idle.woken.wait(), 5)
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
