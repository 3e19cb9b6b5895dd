"""One unary call, done right: credentials, request id, idempotency key, deadline and retries.

Every resource method goes through :meth:`Transport.call`. A logical call keeps one request id
and one idempotency key across all its attempts, so the server deduplicates the retries and its
access log shows them under one id. The deadline is the call's, not an attempt's: each attempt
gets what is left of it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import grpc
from google.protobuf.message import Message

from paysim_client._retry import retry_delay
from paysim_client._rpc import Rpc, Safety
from paysim_client.config import RetryPolicy
from paysim_client.errors import REQUEST_ID_HEADER, DeadlineExceeded, Unauthenticated, from_grpc_error

_propagate: Any
try:  # optional: with OpenTelemetry installed, calls carry the caller's trace (W3C traceparent)
    from opentelemetry import propagate as _propagate
except ImportError:  # pragma: no cover - exercised where opentelemetry is absent
    _propagate = None

IDEMPOTENCY_HEADER = "idempotency-key"
AUTHORIZATION_HEADER = "authorization"
Metadata = Sequence[tuple[str, str]]
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)


def new_idempotency_key() -> str:
    """A fresh idempotency key: what the client sends when the caller gives none."""
    return f"sdk-{uuid.uuid4().hex}"


def new_request_id() -> str:
    return uuid.uuid4().hex


class Credentials(Protocol):
    """How calls are authenticated: an API key, a login session, or nothing."""

    async def authorization(self) -> str | None:
        """The bearer credential for the next call, renewed first if it is about to expire."""
        ...

    async def renew(self, used: str | None, error: Unauthenticated) -> bool:
        """After ``error`` for a call made with ``used``: renew, and say whether to retry the call."""
        ...


class NoCredentials:
    async def authorization(self) -> str | None:
        return None

    async def renew(self, used: str | None, error: Unauthenticated) -> bool:
        return False


class Transport:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        timeout: float | None,
        retry: RetryPolicy,
        metadata: Metadata = (),
        random_source: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.channel = channel
        self.credentials: Credentials = NoCredentials()
        self.default_timeout = timeout
        self.default_retry = retry
        self._metadata = tuple(metadata)
        self._random = random_source
        self._sleep = sleep
        self._callables: dict[str, Any] = {}
        self.closed = False

    def _with_request_id(self, metadata: Metadata) -> list[tuple[str, str]]:
        """The client's and the call's metadata, with a request id unless the caller gave one."""
        sent = [*self._metadata, *metadata]
        if not any(name == REQUEST_ID_HEADER for name, _ in sent):
            sent.append((REQUEST_ID_HEADER, new_request_id()))
        return _with_trace_context(sent)

    def _callable(self, rpc: Rpc[Any, Any]) -> Any:
        found = self._callables.get(rpc.path)
        if found is None:
            open_call = self.channel.unary_stream if rpc.streaming else self.channel.unary_unary
            found = open_call(
                rpc.path,
                request_serializer=rpc.request.SerializeToString,
                response_deserializer=rpc.response.FromString,
            )
            self._callables[rpc.path] = found
        return found

    async def call(
        self,
        rpc: Rpc[Req, Resp],
        request: Req,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        idempotency_key: str | None = None,
        metadata: Metadata = (),
    ) -> Resp:
        """Make one logical call: as many attempts as the retry policy and the deadline allow.

        ``timeout`` (seconds, for the whole call, retries included) and ``retry`` default to the
        client's. Payment mutations always carry an idempotency key: ``idempotency_key``, or a
        fresh one that every retry of this call reuses.
        """
        if self.closed:
            raise RuntimeError("the client is closed")
        policy = retry or self.default_retry
        budget = timeout if timeout is not None else self.default_timeout
        deadline = None if budget is None else time.monotonic() + budget
        fixed = self._with_request_id(metadata)
        if rpc.safety is Safety.KEYED:
            fixed.append((IDEMPOTENCY_HEADER, idempotency_key or new_idempotency_key()))
        invoke = self._callable(rpc)
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            used = None if rpc.anonymous else await self.credentials.authorization()
            sent = list(fixed)
            if used is not None:
                sent.append((AUTHORIZATION_HEADER, f"Bearer {used}"))
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DeadlineExceeded("the call's deadline passed before it could be sent")
            try:
                reply: Resp = await invoke(request, timeout=remaining, metadata=tuple(sent))
                return reply
            except grpc.aio.AioRpcError as raw:
                error = from_grpc_error(raw)
            if isinstance(error, Unauthenticated) and not renewed and not rpc.anonymous:
                # One renewal per call: a second UNAUTHENTICATED is about the caller, not the token.
                renewed = True
                if await self.credentials.renew(used, error):
                    attempt -= 1
                    continue
            left = None if deadline is None else deadline - time.monotonic()
            delay = retry_delay(error, rpc.safety, policy, attempt, left, self._random)
            if delay is None:
                raise error from None
            await self._sleep(delay)

    async def stream(self, rpc: Rpc[Req, Resp], request: Req, *, metadata: Metadata = ()) -> tuple[Any, str | None]:
        """Open a server stream: the call (``grpc.aio.UnaryStreamCall``) and the credential it
        was opened with, for :meth:`Credentials.renew` if the server refuses it.

        No deadline and no retry: a stream lives until it is cancelled, and what to do when it
        ends is its reader's (``watch()`` resumes from its cursor). Each stream gets a request id
        of its own, so every reconnection has its line in the server's access log.
        """
        if self.closed:
            raise RuntimeError("the client is closed")
        if not rpc.streaming:
            raise TypeError(f"{rpc.path} is not a server stream")
        found = self._callable(rpc)
        sent = self._with_request_id(metadata)
        used = None if rpc.anonymous else await self.credentials.authorization()
        if used is not None:
            sent.append((AUTHORIZATION_HEADER, f"Bearer {used}"))
        return found(request, metadata=tuple(sent)), used

    async def close(self) -> None:
        self.closed = True
        await self.channel.close(None)


__all__ = ["Credentials", "Metadata", "NoCredentials", "Transport", "new_idempotency_key"]


def _with_trace_context(sent: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``sent`` plus the caller's current OpenTelemetry context (``traceparent``, ``tracestate``),
    unless there is none or the caller set those headers itself. The blocking client runs its
    calls in the caller's context, so this sees the caller's span either way."""
    if _propagate is None:
        return sent
    carrier: dict[str, str] = {}
    _propagate.inject(carrier)
    given = {name for name, _ in sent}
    sent.extend((name, value) for name, value in carrier.items() if name not in given)
    return sent
