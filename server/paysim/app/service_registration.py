"""Adding services to the gRPC server as generic handlers only.

grpcio's generated ``add_…Servicer_to_server`` functions also register every method with the C
core. The asyncio server then keeps one pending request per registered method, and for every call
that arrives it waits on all of them again (``asyncio.wait`` over paysim's 75 methods, a callback
added to and removed from each): a cost per call that grows with the contract, paid by every
stream opened and every payment. Through the generic handlers the server keeps one pending
request and finds the method by its name in a dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc


class GenericHandlersOnly:
    """Stands in for the server in ``add_…Servicer_to_server(servicer, server)``."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        """Not registered: the generic handler added with them serves the same methods."""
