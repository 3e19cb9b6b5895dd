"""The dashboard's HTTP side of one server process: its private gRPC socket and its web server.

The bridge reaches the gRPC server over a Unix socket in a directory only this process's user
can enter: it works whatever ``--listen`` and TLS are, and nothing else can connect to it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from google.protobuf.descriptor import ServiceDescriptor

from paysim.config import Settings
from paysim.web.bridge import GrpcWebBridge, method_table
from paysim.web.site import STATIC, WebServer


class WebGateway:
    def __init__(self, settings: Settings, services: Iterable[ServiceDescriptor]) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="paysim-web-"))  # created 0700
        self.grpc_address = f"unix:{self._directory / 'grpc.sock'}"
        bridge = GrpcWebBridge(self.grpc_address, method_table(services), settings.max_message_bytes)
        root = Path(settings.dashboard_dir) if settings.dashboard_dir else STATIC
        self._web = WebServer(settings.http_listen, bridge, root, max_bytes=settings.max_message_bytes)

    @property
    def port(self) -> int:
        return self._web.port

    async def start(self) -> int:
        return await self._web.start()

    async def stop(self) -> None:
        try:
            await self._web.stop()
        finally:
            shutil.rmtree(self._directory, ignore_errors=True)
