"""A real paysim server on port 0, running its own event loop in a background thread, so tests
talk to it over a real socket with the generated stubs exactly as a client would."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import grpc

from paysim.app.bootstrap import App, bootstrap
from paysim.app.server import PaysimServer
from paysim.config import Settings
from tests.support.backends import Backend
from tests.support.client import Stubs

T = TypeVar("T")


class TestClock:
    """The system clock plus an adjustable offset: lets tests jump past lockouts and expiries."""

    __test__ = False

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def test_settings(backend: Backend, data_dir: Path, **overrides: Any) -> Settings:
    base = Settings(
        listen="127.0.0.1:0",
        data_dir=data_dir,
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        bcrypt_rounds=4,  # cost 12 is exercised by its own test; the rest need speed
        # The suite logs in hundreds of times from one address; the login limits have tests of
        # their own.
        login_limit_per_email_per_minute=0,
        login_limit_per_address_per_minute=0,
        health_probe_seconds=0.2,
        # Several servers run side by side in one suite: keep each one's share of PostgreSQL's
        # connection limit small.
        db_pool_size=8,
        grace_seconds=2.0,
        # Event streams get their events through the event bus alone, never a periodic read.
        event_poll_seconds=3600,
    )
    return base.with_overrides(**overrides) if overrides else base


class ServerHandle:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = TestClock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="paysim-test-server", daemon=True)
        self._thread.start()
        self.app: App = self.run(bootstrap(settings, clock=self.clock))
        self.server = self.run(self._start())
        self.port = self.server.port
        self.target = f"127.0.0.1:{self.port}"
        self._channels: list[grpc.Channel] = []

    async def _start(self) -> PaysimServer:
        server = PaysimServer(self.app)
        await server.start(self.settings.listen)
        return server

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run a coroutine on the server's loop (e.g. a maintenance round) and wait for it."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def _tasks(self) -> str:
        """What every task of the server's loop is waiting in: why a stop hangs."""
        lines = []
        for task in asyncio.all_tasks(self._loop):
            frames = task.get_stack(limit=8)
            where = " <- ".join(
                f"{f.f_code.co_name} ({f.f_code.co_filename.rsplit('/', 1)[-1]}:{f.f_lineno})" for f in frames
            )
            lines.append(f"{task.get_name()}: {where or task.get_coro()!r}")
        return "\n".join(sorted(lines))

    def channel(self) -> grpc.Channel:
        channel = grpc.insecure_channel(self.target)
        self._channels.append(channel)
        return channel

    def stubs(self, credential: str | None = None) -> Stubs:
        return Stubs(self.channel(), credential)

    async def health_shutdown(self) -> None:
        await self.server.health.shutdown()

    def stop(self, grace: float = 0.5) -> None:
        for channel in self._channels:
            channel.close()
        try:
            try:
                self.run(self.server.stop(grace))
            except TimeoutError:
                raise AssertionError(f"the server did not stop within 60 s; its tasks:\n{self._tasks()}") from None
            self.run(self.app.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
