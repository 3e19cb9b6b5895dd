"""grpc.health.v1: overall and per-service status, driven by a database probe.

NOT_SERVING while the database does not answer the probe's query within its deadline, SERVING
again when it answers, and NOT_SERVING for good from the moment shutdown starts. The probe has a
connection and a thread of its own (store/probe.py): a server whose pooled connections are all
busy, or whose event loop is swamped, is not one whose database is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer  # the aio servicer; grpc_health exports it as health.aio

from paysim.services.task_stopping import stop_tasks
from paysim.store.probe import DatabaseProbe

log = logging.getLogger("paysim.health")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class _HealthServicer(HealthServicer):  # type: ignore[misc]
    """grpc's aio servicer lacks ``List`` (added to grpc.health.v1 later): the inherited one is the
    synchronous generated stub that raises NotImplementedError, which would surface as INTERNAL."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthListResponse:
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status) for name, status in self._server_status.items()
            }
        )


class HealthReporter:
    def __init__(self, probe: DatabaseProbe, services: Sequence[str], probe_seconds: float) -> None:
        self.servicer = _HealthServicer()
        self._probe = probe
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paysim-health-probe")
        self._services = ["", *services]
        self._probe_seconds = probe_seconds
        self._task: asyncio.Task[None] | None = None
        self._healthy: bool | None = None
        self._closed = False

    async def _set_all(self, status: int) -> None:
        for name in self._services:
            await self.servicer.set(name, status)

    async def database_ok(self) -> bool:
        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._probe.check)
            return True
        except Exception:  # any failure to answer means "not healthy", whatever its type
            return False

    async def probe_once(self) -> bool:
        ok = await self.database_ok()
        if ok != self._healthy:
            if self._healthy is not None:
                log.warning("database %s", "reachable again" if ok else "unreachable")
            self._healthy = ok
            await self._set_all(SERVING if ok else NOT_SERVING)
        return ok

    async def start(self) -> None:
        await self.probe_once()
        self._task = asyncio.create_task(self._run(), name="paysim-health-probe")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._probe_seconds)
            await self.probe_once()

    async def shutdown(self) -> None:
        """NOT_SERVING for good, at once; no more probes."""
        await self.servicer.enter_graceful_shutdown()
        task, self._task = self._task, None
        await stop_tasks([task])

    async def close(self) -> None:
        """Close the probe's connection, after a probe still running on its thread (bounded by
        its deadline)."""
        await self.shutdown()
        if not self._closed:
            self._closed = True
            await asyncio.get_running_loop().run_in_executor(self._thread, self._probe.close)
            self._thread.shutdown(wait=False)
