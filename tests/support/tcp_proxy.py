"""A loopback TCP proxy that can be cut and restored, or frozen and thawed: a real network outage
between the server and its database or cache (or a client and the server), without touching either end.

A cut refuses and drops connections (the peer sees a reset at once); a freeze keeps every connection
open and accepts new ones but forwards nothing, like a peer whose packets are being dropped: only the
waiting side's own timeouts end the wait."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcp-proxy")
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._loop.call_soon_threadsafe(self._flowing.set)
        self.port = 0
        self.connections = 0  # accepted so far, across cuts
        self._cuts = 0

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._server is None:
            # Accepted just before a cut, but this handler only starts after it.
            client_w.transport.abort()
            return
        cuts = self._cuts
        await self._flowing.wait()
        try:
            up_r, up_w = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_w.close()
            return
        if self._cuts != cuts:
            # Accepted before a cut that came while the upstream side was being opened: the cut
            # could not see this connection yet, and must not let it through.
            client_w.transport.abort()
            up_w.transport.abort()
            return
        self._writers.update({client_w, up_w})
        await asyncio.gather(self._pipe(client_r, up_w), self._pipe(up_r, client_w))
        self._writers.difference_update({client_w, up_w})

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> None:
        self._cuts += 1
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def start(self) -> None:
        """Listen (again, on the same port after a cut)."""
        self._call(self._start())

    def cut(self) -> None:
        """Refuse new connections and drop every open one."""
        self._call(self._cut())

    def freeze(self) -> None:
        """Keep every connection open and accept new ones, but forward no byte either way."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def thaw(self) -> None:
        """Forward again, starting with what was held back during the freeze."""
        self._loop.call_soon_threadsafe(self._flowing.set)

    def close(self) -> None:
        self.thaw()
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
