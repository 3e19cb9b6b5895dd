"""What a call says about its origin: the client's address (and, below, its metadata)."""

from __future__ import annotations

from typing import Any

import grpc

Context = grpc.aio.ServicerContext[Any, Any]


def client_address(context: Context) -> str:
    """The client's address without its port (``ipv4:10.0.0.7``): one client, however many
    connections it opens."""
    return context.peer().rsplit(":", 1)[0]
