"""What the transport must know about an RPC. The table of every RPC of the contract is generated
from the protos into ``paysim_client._generated.rpcs`` (``scripts/gen_protos.py``).

``Safety`` decides whether an ``UNAVAILABLE`` may be retried and whether an idempotency key is
sent: a call the server may have carried out before the connection broke is repeated only if
repeating it cannot do anything twice. It comes from the RPC's options in the contract:
``idempotency_level = NO_SIDE_EFFECTS`` is READ, ``IDEMPOTENT`` is IDEMPOTENT,
``(paysim.v1.deduplicated_by_idempotency_key)`` is KEYED, and anything else UNSAFE.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


class Safety(enum.Enum):
    READ = "read"  # changes nothing
    IDEMPOTENT = "idempotent"  # a repeat leaves the same state (set, delete, update, revoke)
    KEYED = "keyed"  # the server deduplicates it by the idempotency key the client always sends
    UNSAFE = "unsafe"  # a repeat may act twice (create, rotate): never retried after UNAVAILABLE

    @property
    def retry_unavailable(self) -> bool:
        return self is not Safety.UNSAFE


@dataclass(frozen=True, slots=True)
class Rpc(Generic[Req, Resp]):
    path: str
    request: type[Req]
    response: type[Resp]
    safety: Safety
    # Sent without credentials (a public RPC): the server checks a bearer sent to a public RPC, so
    # an expired access token would get a login or a token refresh refused.
    anonymous: bool = False
    # A server stream (watch()): opened by ``Transport.stream`` and resumed from its cursor by its
    # reader, never replayed by ``Transport.call``.
    streaming: bool = False
