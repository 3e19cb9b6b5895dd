"""The gRPC-Web wire format: length-prefixed frames, the trailer frame, and which headers cross.

A frame is one flag byte (0x00 a message, 0x80 the trailers), a big-endian 32-bit length and the
bytes. Trailers are HTTP/1-style header lines; binary (``-bin``) values travel base64-encoded.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from paysim.api.request_metadata import WEB_PEER_METADATA

MESSAGE_FLAG = 0x00
TRAILER_FLAG = 0x80
_PREFIX = struct.Struct(">BI")
CONTENT_TYPES = ("application/grpc-web", "application/grpc-web+proto")
RESPONSE_CONTENT_TYPE = "application/grpc-web+proto"

# Headers of the HTTP request that are the browser's or HTTP's own, not the call's metadata.
# Cookies never cross: the calls carry bearer credentials only, so no ambient credential exists
# for another site to ride on.
_NOT_METADATA = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "cookie",
        "dnt",
        "host",
        "keep-alive",
        "origin",
        "pragma",
        "priority",
        "referer",
        "te",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-grpc-web",
        "x-user-agent",
        # The bridge's own, set from the connection: a browser cannot choose its address.
        WEB_PEER_METADATA,
    }
)
_METADATA_KEY = re.compile(r"^[0-9a-z_.-]+$")
_TIMEOUT = re.compile(r"^(\d{1,8})([HMSmun])$")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


class FramingError(ValueError):
    """The request is not one well-formed gRPC-Web call; ``field`` names what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def frame(flag: int, payload: bytes) -> bytes:
    return _PREFIX.pack(flag, len(payload)) + payload


def single_message(body: bytes) -> bytes:
    """The one message of a unary or server-streaming request's body."""
    if len(body) < _PREFIX.size:
        raise FramingError("body", "the body is shorter than a frame header")
    flag, length = _PREFIX.unpack_from(body)
    if flag != MESSAGE_FLAG:
        raise FramingError("body", "compressed or trailer frames are not accepted in a request")
    if len(body) != _PREFIX.size + length:
        raise FramingError("body", "the body must hold exactly one message frame")
    return body[_PREFIX.size :]


def parse_timeout(value: str | None) -> float | None:
    """``grpc-timeout`` (e.g. ``1500m``) in seconds; None when absent."""
    if value is None:
        return None
    match = _TIMEOUT.match(value.strip())
    if match is None:
        raise FramingError("grpc-timeout", f"grpc-timeout {value!r} is not a gRPC timeout")
    return int(match.group(1)) * _TIMEOUT_UNITS[match.group(2)]


def peer_address(remote: str | None) -> str:
    """The HTTP client's address as gRPC names a peer's (``ipv4:127.0.0.1``, ``ipv6:[::1]``)."""
    if not remote:
        return "unknown"
    return f"ipv6:[{remote}]" if ":" in remote else f"ipv4:{remote}"


def call_metadata(headers: Iterable[tuple[str, str]], remote: str | None) -> list[tuple[str, str | bytes]]:
    """The HTTP request's headers that are the call's metadata (``authorization``,
    ``idempotency-key``...), binary ones decoded; HTTP's and gRPC's reserved ones left out; and
    the browser's address, for the limits counted per client address."""
    metadata: list[tuple[str, str | bytes]] = [(WEB_PEER_METADATA, peer_address(remote))]
    for name, value in headers:
        key = name.lower()
        if key in _NOT_METADATA or key.startswith(("grpc-", "sec-", "access-control-")) or not _METADATA_KEY.match(key):
            continue
        if key.endswith("-bin"):
            try:
                metadata.append((key, base64.b64decode(value + "=" * (-len(value) % 4), validate=True)))
            except ValueError:
                raise FramingError(key, f"header {key} is not base64") from None
        else:
            metadata.append((key, value))
    return metadata


def _header_value(key: str, value: str | bytes) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def response_headers(metadata: Sequence[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """A call's initial metadata as HTTP response headers."""
    return {key: _header_value(key, value) for key, value in metadata or () if not key.startswith(":")}


def trailer_frame(code: int, message: str, metadata: Sequence[tuple[str, str | bytes]] | None) -> bytes:
    """The closing frame: status, message (percent-encoded, as gRPC sends it) and trailing
    metadata, ``grpc-status-details-bin`` (the google.rpc.Status with its details) among it."""
    lines = [f"grpc-status: {code}"]
    if message:
        lines.append(f"grpc-message: {quote(message, safe=' !#$&()*+,/:;=?@[]~')}")
    for key, value in metadata or ():
        if key in ("grpc-status", "grpc-message"):
            continue
        lines.append(f"{key}: {_header_value(key, value)}")
    return frame(TRAILER_FLAG, ("\r\n".join(lines) + "\r\n").encode("utf-8"))
