"""What the fuzz tests share: every paysim RPC from the generated descriptors, messages built by
field descriptor, one call of any RPC with any credential, and the verdict on its answer."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import grpc
import paysim_proto.v1
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor

from tests.support.client import RichError, rich_error

DOMAIN = "paysim.v1"
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


def all_methods() -> dict[str, MethodDescriptor]:
    """``/package.Service/Method`` of every RPC of every service in the generated package: a new
    proto file, service or RPC is in it with no edit."""
    found: dict[str, MethodDescriptor] = {}
    for module_info in pkgutil.iter_modules(paysim_proto.v1.__path__):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{paysim_proto.v1.__name__}.{module_info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                found[f"/{service.full_name}/{method.name}"] = method
    return dict(sorted(found.items()))


def message_class(descriptor: Descriptor) -> Any:
    return message_factory.GetMessageClass(descriptor)


def is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and bool(field.message_type.GetOptions().map_entry)


def assign(message: Any, field: FieldDescriptor, value: Any) -> None:
    """Set ``field`` of ``message`` to ``value`` (a dict for a map, a list for a repeated field)."""
    if is_map(field):
        target = getattr(message, field.name)
        for k, v in value.items():
            if field.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                target[k].CopyFrom(v)
            else:
                target[k] = v
    elif field.is_repeated:
        getattr(message, field.name).extend(value)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        getattr(message, field.name).CopyFrom(value)
    else:
        setattr(message, field.name, value)


def _encode(request: Any) -> bytes:
    return request if isinstance(request, bytes) else bytes(request.SerializeToString())


def call(
    channel: grpc.Channel, path: str, method: MethodDescriptor, request: Any, credential: str | None
) -> RichError | None:
    """Send ``request`` (a message, or raw bytes for a body no message class would write) and
    return the error it was answered with, or None. A stream counts as answered once its first
    message arrives; it is then cancelled."""
    assert not method.client_streaming, f"{path}: extend call() for request streams"
    response_cls = message_class(method.output_type)
    metadata = [] if credential is None else [("authorization", f"Bearer {credential}")]
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path, request_serializer=_encode,
                                          response_deserializer=response_cls.FromString)  # fmt: skip
            responses = stream(request, metadata=metadata, timeout=30)
            try:
                next(responses)
            finally:
                responses.cancel()
        else:
            rpc = channel.unary_unary(path, request_serializer=_encode, response_deserializer=response_cls.FromString)
            rpc(request, metadata=metadata, timeout=30)
    except grpc.RpcError as error:
        try:
            return rich_error(error)
        except ValueError:
            # grpc-status-details-bin disagrees with the status: gRPC itself replaced the
            # server's answer (e.g. trailers over the 8 KiB metadata limit).
            failed: Any = error
            return RichError(code=failed.code(), message=failed.details() or "")
    except StopIteration:
        return None  # a stream that ended cleanly without a message
    return None


def verdict(outcome: RichError | None) -> str | None:
    """None if the outcome is acceptable, else what is wrong with it."""
    if outcome is None:
        return None
    if outcome.code in NEVER:
        return f"{outcome.code.name}: {outcome.message[:200]}"
    if outcome.code == grpc.StatusCode.UNIMPLEMENTED:
        return None
    if outcome.domain != DOMAIN or not outcome.reason:
        return f"{outcome.code.name} without paysim ErrorInfo ({outcome.domain!r}, {outcome.message[:200]!r})"
    return None
