"""What a call says about itself: its request metadata and its client's address.

A header the server reads that arrives more than once is never resolved by picking one of its
values: which one the client meant cannot be known.
"""

from __future__ import annotations

from typing import Any

import grpc

from paysim.domain.errors import FieldViolation, InvalidArgument

Context = grpc.aio.ServicerContext[Any, Any]

# Trailer of an answer that repeats a stored one (an idempotency key seen before): set by the
# interceptor for unary calls and by the payment servicer for the ones it replays itself.
REPLAYED_TRAILER = "idempotent-replayed"


# Set by the dashboard's gRPC-Web bridge (paysim.web) on the calls it relays: the browser's own
# address. Believed only from the bridge's private Unix socket, which no one else can reach; the
# bridge never passes on a value a browser sent.
WEB_PEER_METADATA = "paysim-web-peer"


def client_address(context: Context) -> str:
    """The client's address without its port (``ipv4:10.0.0.7``): one client, however many
    connections it opens. For a browser's call relayed by the dashboard, the browser's."""
    peer = context.peer()
    if peer.startswith("unix:"):
        relayed = metadata_values(context, WEB_PEER_METADATA)
        if len(relayed) == 1:
            return relayed[0]
    return peer.rsplit(":", 1)[0]


def metadata_values(context: Context, key: str) -> list[str]:
    """Every value sent for ``key``, in order."""
    return [
        value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        for name, value in context.invocation_metadata() or ()
        if name == key
    ]


def single_metadata(context: Context, key: str) -> str | None:
    """The value of ``key``, None when it was not sent; sent more than once, INVALID_ARGUMENT."""
    values = metadata_values(context, key)
    if len(values) > 1:
        raise InvalidArgument([FieldViolation(key, "was sent more than once; send it once", "DUPLICATE_METADATA")])
    return values[0] if values else None
