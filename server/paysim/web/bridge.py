"""Relay a gRPC-Web call to this process's own gRPC server and its answer back to the browser.

The request's message and the answers travel as raw bytes (no decoding here), the call's
metadata as it came: the gRPC server sees an ordinary call and authenticates, authorizes,
validates, logs and counts it like any other. Server-streaming answers are written frame by
frame as they arrive, so a browser can follow ``SubscribePaymentEvents`` live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.descriptor import ServiceDescriptor

from paysim.app.error_mapping import to_status_proto
from paysim.domain.errors import FieldViolation, InvalidArgument
from paysim.web import framing

Metadata = Sequence[tuple[str, str | bytes]]


def method_table(services: Iterable[ServiceDescriptor]) -> dict[str, bool]:
    """``/package.Service/Method`` → whether it streams its answers, for every RPC a browser can
    call (gRPC-Web has no client streaming)."""
    table: dict[str, bool] = {}
    for service in services:
        for method in service.methods:
            if not method.client_streaming:
                table[f"/{service.full_name}/{method.name}"] = method.server_streaming
    return table


def _metadata(value: Any) -> Metadata:
    return tuple(value) if value else ()


class GrpcWebBridge:
    def __init__(self, target: str, methods: Mapping[str, bool], max_message_bytes: int) -> None:
        self._target = target
        self._methods = methods
        self._max_message_bytes = max_message_bytes
        self._channel: grpc.aio.Channel | None = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(
            self._target,
            options=[
                ("grpc.max_receive_message_length", self._max_message_bytes),
                ("grpc.max_send_message_length", self._max_message_bytes),
            ],
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.content_type not in framing.CONTENT_TYPES:
            raise web.HTTPUnsupportedMediaType(text="send application/grpc-web+proto\n")
        # A method the table lacks goes through as a unary call: the gRPC server answers it as it
        # answers any client (UNIMPLEMENTED), in the same words.
        streaming = self._methods.get(request.path, False)
        try:
            message = framing.single_message(await _body(request, self._max_message_bytes))
            metadata = framing.call_metadata(request.headers.items(), request.remote)
            timeout = framing.parse_timeout(request.headers.get("grpc-timeout"))
        except framing.FramingError as error:
            return _refused(error)
        if streaming:
            return await self._server_stream(request, message, metadata, timeout)
        return await self._unary(request.path, message, metadata, timeout)

    def _open(self) -> grpc.aio.Channel:
        if self._channel is None:
            raise RuntimeError("the bridge is not started")
        return self._channel

    async def _unary(self, path: str, message: bytes, metadata: Metadata, deadline: float | None) -> web.Response:
        call = self._open().unary_unary(path, None, None)(message, metadata=metadata, timeout=deadline)
        try:
            reply: bytes = await call
        except grpc.aio.AioRpcError as error:
            body = _closing(error.code(), error.details() or "", _metadata(error.trailing_metadata()))
            return _response(_metadata(error.initial_metadata()), body)
        trailing = _metadata(await call.trailing_metadata())
        body = framing.frame(framing.MESSAGE_FLAG, reply) + _closing(grpc.StatusCode.OK, "", trailing)
        return _response(_metadata(await call.initial_metadata()), body)

    async def _server_stream(
        self, request: web.Request, message: bytes, metadata: Metadata, deadline: float | None
    ) -> web.StreamResponse:
        call = self._open().unary_stream(request.path, None, None)(message, metadata=metadata, timeout=deadline)
        response: web.StreamResponse | None = None
        try:
            try:
                # The answer's headers go out once the server sent its own: a browser sees at
                # once that its stream is open, before the first event.
                response = await _prepare(request, _metadata(await call.initial_metadata()))
                async for reply in call:
                    await response.write(framing.frame(framing.MESSAGE_FLAG, reply))
                closing = _closing(grpc.StatusCode.OK, "", _metadata(await call.trailing_metadata()))
            except grpc.aio.AioRpcError as error:
                response = response or await _prepare(request, _metadata(error.initial_metadata()))
                closing = _closing(error.code(), error.details() or "", _metadata(error.trailing_metadata()))
            await response.write(closing)
            await response.write_eof()
            return response
        finally:
            # The browser went away (the handler is cancelled) or the answer is complete: either
            # way the server's stream must not outlive the HTTP request.
            call.cancel()


async def _body(request: web.Request, limit: int) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise framing.FramingError("body", f"the message is larger than the server's {limit}-byte limit") from None


def _closing(code: grpc.StatusCode, message: str, trailing: Metadata) -> bytes:
    number: int = code.value[0]
    return framing.trailer_frame(number, message, trailing)


def _headers(initial: Metadata) -> dict[str, str]:
    headers = framing.response_headers(initial)
    headers["Content-Type"] = framing.RESPONSE_CONTENT_TYPE
    headers["Cache-Control"] = "no-store"
    return headers


def _response(initial: Metadata, body: bytes) -> web.Response:
    return web.Response(body=body, headers=_headers(initial))


async def _prepare(request: web.Request, initial: Metadata) -> web.StreamResponse:
    response = web.StreamResponse(headers=_headers(initial))
    await response.prepare(request)
    return response


def _refused(error: framing.FramingError) -> web.Response:
    """A request the bridge cannot relay: INVALID_ARGUMENT with the same details (ErrorInfo,
    BadRequest) as the gRPC server's own refusals."""
    refusal = InvalidArgument([FieldViolation(error.field, str(error), "MALFORMED_GRPC_WEB")])
    status = to_status_proto(refusal, request_id="")
    details = (("grpc-status-details-bin", status.SerializeToString()),)
    return _response((), _closing(grpc.StatusCode.INVALID_ARGUMENT, refusal.message, details))
