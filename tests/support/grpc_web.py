"""A minimal gRPC-Web client over httpx, for tests of the dashboard's HTTP side: it speaks the
wire format the browser's transport speaks, and decodes status details like tests/support/client."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

_PREFIX = struct.Struct(">BI")


@dataclass
class WebReply:
    """One call's answer: its messages (raw bytes), status and trailers."""

    http_status: int
    headers: httpx.Headers
    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def grpc_status(self) -> int:
        return int(self.trailers["grpc-status"])

    @property
    def grpc_message(self) -> str:
        return unquote(self.trailers.get("grpc-message", ""))

    def status_details(self) -> status_pb2.Status:
        raw = self.trailers["grpc-status-details-bin"]
        return status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))

    def reason(self) -> str:
        for detail in self.status_details().details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return info.reason
        raise AssertionError("no ErrorInfo in the status details")

    def field_violations(self) -> dict[str, str]:
        for detail in self.status_details().details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                return {v.field: v.description for v in bad.field_violations}
        return {}


def encode(message: Message) -> bytes:
    payload = message.SerializeToString()
    return _PREFIX.pack(0, len(payload)) + payload


def headers(token: str | None = None, **extra: str) -> dict[str, str]:
    result = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1", **extra}
    if token:
        result["authorization"] = f"Bearer {token}"
    return result


def frames(chunks: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    """(flag, payload) of each frame, as soon as its last byte arrived."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= _PREFIX.size:
            flag, length = _PREFIX.unpack_from(buffer)
            if len(buffer) < _PREFIX.size + length:
                break
            yield flag, buffer[_PREFIX.size : _PREFIX.size + length]
            buffer = buffer[_PREFIX.size + length :]


def parse_trailers(payload: bytes) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for line in payload.decode().split("\r\n"):
        if line:
            key, _, value = line.partition(":")
            trailers[key.strip().lower()] = value.strip()
    return trailers


def call(base: str, method: str, request: Message | bytes, token: str | None = None, **extra: str) -> WebReply:
    body = request if isinstance(request, bytes) else encode(request)
    answer = httpx.post(f"{base}/{method}", content=body, headers=headers(token, **extra), timeout=30)
    reply = WebReply(answer.status_code, answer.headers)
    for flag, payload in frames(iter([answer.content])):
        if flag & 0x80:
            reply.trailers = parse_trailers(payload)
        else:
            reply.messages.append(payload)
    return reply


def decode(reply: WebReply, kind: type[Any]) -> Any:
    assert reply.grpc_status == 0, (reply.grpc_status, reply.grpc_message)
    assert len(reply.messages) == 1
    return kind.FromString(reply.messages[0])
