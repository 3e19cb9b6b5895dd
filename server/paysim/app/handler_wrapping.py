"""Wrap any gRPC method handler (all four cardinalities) in an async context manager.

grpc.aio interceptors only see the method name and metadata; to act on the call itself
(authenticate, map errors, time it) each handler's behaviour is wrapped. Streaming behaviours
come in two forms, async generators and coroutines that call ``context.write``; both are
supported.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, aclosing
from typing import Any

import grpc

from paysim.api import call_context
from paysim.api.call_context import ClientWait
from paysim.domain.errors import FieldViolation, InvalidArgument

CallScopeFactory = Callable[[grpc.aio.ServicerContext[Any, Any]], AbstractAsyncContextManager[None]]
# Looks at one decoded request message and raises a domain error if the handler must not see it.
RequestCheck = Callable[[Any], None]
# Decides whether the call may go on (raising a domain error if not), once its request decoded.
Admit = Callable[[grpc.aio.ServicerContext[Any, Any]], Awaitable[None]]


async def admit_every_call(context: grpc.aio.ServicerContext[Any, Any]) -> None:
    return None


class _Undecodable:
    """What a request that is not a valid message decodes to: the handler answers INVALID_ARGUMENT
    inside its call scope (with a request id and rich details) instead of gRPC answering UNKNOWN."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as error:  # any decoding failure is the caller's malformed message
            return _Undecodable(type(error).__name__)

    return decode


def check_decoded(request: Any) -> None:
    if isinstance(request, _Undecodable):
        raise InvalidArgument(
            [FieldViolation("request", "is not a valid message of this method's request type", "MALFORMED_REQUEST")]
        )


Prepare = Callable[[Any], Any]


def _unary_request(check: RequestCheck) -> Prepare:
    def prepare(request: Any) -> Any:
        check(request)
        return request

    return prepare


def _streamed_requests(check: RequestCheck) -> Prepare:
    """Each message of a request stream is checked as the handler reads it."""

    def prepare(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async def checked() -> AsyncIterator[Any]:
            async for request in requests:
                check(request)
                yield request

        return checked()

    return prepare


def _wrap_unary_response(
    behavior: Callable[..., Any], call_scope: CallScopeFactory, admit: Admit, prepare: Prepare
) -> Callable[..., Any]:
    async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        async with call_scope(context):
            check_decoded(request)
            await admit(context)
            request = prepare(request)
            return await behavior(request, context)

    return wrapped


def _wrap_stream_response(
    behavior: Callable[..., Any], call_scope: CallScopeFactory, admit: Admit, prepare: Prepare
) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):
        # Served in the writer form, not as a generator: when the client goes away or the server
        # stops, gRPC cancels this coroutine, the cancellation reaches the handler's generator
        # wherever it waits (a write, its next item), and ``aclosing`` runs its cleanup at once
        # rather than whenever the abandoned generator is collected.
        async def wrapped_gen(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
            async with call_scope(context):
                check_decoded(request)
                await admit(context)
                request = prepare(request)
                async with aclosing(behavior(request, context)) as items:
                    async for item in items:
                        try:
                            await context.write(item)
                        except grpc.aio.InternalError:
                            # A send failed because the call is over: the client went away while
                            # the message was on its way. That is a cancellation, not our error.
                            raise asyncio.CancelledError from None

        return wrapped_gen

    async def wrapped_writer(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        async with call_scope(context):
            check_decoded(request)
            await admit(context)
            request = prepare(request)
            await behavior(request, context)

    return wrapped_writer


def wrap_handler(
    handler: grpc.RpcMethodHandler[Any, Any],
    call_scope: CallScopeFactory,
    check: RequestCheck = check_decoded,
    admit: Admit = admit_every_call,
) -> grpc.RpcMethodHandler[Any, Any]:
    """``call_scope`` is entered around each call. Inside it a request that did not decode is
    refused first (INVALID_ARGUMENT, whoever sends it), then ``admit`` decides whether the call may
    go on, then ``check`` sees each request message (of a request stream too, as the handler reads
    it) before the handler does."""
    if handler is None:  # an unknown method: let gRPC answer UNIMPLEMENTED
        return handler
    req_de, resp_ser = handler.request_deserializer, handler.response_serializer
    one, each = _unary_request(check), _streamed_requests(check)
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary_response(handler.unary_unary, call_scope, admit, one), _tolerant(req_de), resp_ser
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _wrap_stream_response(handler.unary_stream, call_scope, admit, one), _tolerant(req_de), resp_ser
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            _wrap_unary_response(handler.stream_unary, call_scope, admit, each), req_de, resp_ser
        )
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream_response(handler.stream_stream, call_scope, admit, each), req_de, resp_ser
        )
    return handler


# A deadline and the client's own cancellation at that deadline reach the server a moment apart,
# in either order: a cancellation this close to the deadline is the deadline.
_DEADLINE_SLACK_SECONDS = 0.05


def client_gave_up_code(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """What a client that stopped waiting just now saw: its deadline passed, or it cancelled."""
    remaining = context.time_remaining()
    return "DEADLINE_EXCEEDED" if remaining is not None and remaining <= _DEADLINE_SLACK_SECONDS else "CANCELLED"


def finish_before_cancel(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    """A unary call that its client cancels (or whose deadline passes) still finishes the work it
    started before the cancellation is honoured.

    Interrupting a call in the middle of a database statement leaves the connection in an unknown
    state (with SQLite, possibly holding the write lock), and interrupting a payment between its
    two phases leaves it for the recovery sweep. The client is told at once; the server completes
    what it started, and a retry with the same idempotency key finds the outcome. The work sees
    in ``call_context.client_wait`` that nobody waits for its answer any more.
    """
    if handler is None or not handler.unary_unary:
        return handler
    behavior: Callable[..., Any] = handler.unary_unary

    async def finishing(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        wait = ClientWait()
        call_context.client_wait.set(wait)  # before the work starts, so that it shares this one
        work = asyncio.ensure_future(behavior(request, context))
        while True:
            try:
                result = await asyncio.shield(work)
                break
            except asyncio.CancelledError:
                if work.done():
                    raise
                if wait.gave_up is None:
                    wait.gave_up, wait.gave_up_at = client_gave_up_code(context), time.perf_counter()
        if wait.gave_up is not None:
            raise asyncio.CancelledError
        return result

    return grpc.unary_unary_rpc_method_handler(finishing, handler.request_deserializer, handler.response_serializer)
