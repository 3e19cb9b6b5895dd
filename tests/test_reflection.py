"""Server reflection answers every symbol a tool asks for, in ``grpc.reflection.v1`` and
``v1alpha``: services, methods, messages, fields, enums, enum values, extensions, and the
``google.rpc`` error-detail types. Checked with the real grpcurl (v1alpha) and ``buf curl`` (v1),
and exhaustively with a reflection client of our own over both versions."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FileDescriptor
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from paysim.app.reflection import ERROR_DETAIL_FILES, V1_SERVICE, ReflectionServicer
from paysim.app.server import PAYSIM_SERVICE_DESCRIPTORS
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle

BIN_DIR = Path(sys.executable).parent
GRPCURL = BIN_DIR / "grpcurl"
BUF = BIN_DIR / "buf"
ERROR_DETAIL_TYPES = (
    "ErrorInfo",
    "BadRequest",
    "RetryInfo",
    "RequestInfo",
    "QuotaFailure",
    "PreconditionFailure",
    "ResourceInfo",
    "Help",
    "LocalizedMessage",
    "DebugInfo",
)


def grpcurl(server: ServerHandle, *args: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """``grpcurl -plaintext FLAGS… ADDRESS ARGS…`` (ARGS: ``list``, ``describe X`` or a method)."""
    return subprocess.run(
        [str(GRPCURL), "-plaintext", *flags, server.target, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def describe(server: ServerHandle, symbol: str) -> str:
    result = grpcurl(server, "describe", symbol)
    assert result.returncode == 0, f"grpcurl describe {symbol}: {result.stderr}"
    return result.stdout


def test_grpcurl_lists_every_service_and_both_reflection_versions(server: ServerHandle) -> None:
    listed = grpcurl(server, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == sorted(
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            *(service.full_name for service in PAYSIM_SERVICE_DESCRIPTORS),
        ]
    )


@pytest.mark.parametrize(
    ("symbol", "kind", "shows"),
    [
        (
            "paysim.v1.PaymentService.CreatePayment",
            "a method",
            "rpc CreatePayment ( .paysim.v1.CreatePaymentRequest ) returns ( .paysim.v1.CreatePaymentResponse ) {",
        ),
        (
            "paysim.v1.EventService.SubscribePaymentEvents",
            "a method",
            "returns ( stream .paysim.v1.SubscribePaymentEventsResponse ) {",
        ),
        ("paysim.v1.PaymentService", "a service", "rpc RefundPayment ( .paysim.v1.RefundPaymentRequest )"),
        ("paysim.v1.CreatePaymentRequest", "a message", "int64 amount_minor = "),
        ("paysim.v1.PaymentStatus", "an enum", "PAYMENT_STATUS_CAPTURED = 4;"),
        ("paysim.v1.PaymentStatus.PAYMENT_STATUS_CAPTURED", "an enum value", "PAYMENT_STATUS_CAPTURED = 4;"),
        ("paysim.v1.Payment.status", "a field", ".paysim.v1.PaymentStatus status = "),
        ("google.rpc.ErrorInfo", "a message", "string reason = 1;"),
        ("google.rpc.RetryInfo", "a message", ".google.protobuf.Duration retry_delay = 1;"),
        ("grpc.reflection.v1.ServerReflection", "a service", "stream .grpc.reflection.v1.ServerReflectionRequest"),
    ],
)
def test_grpcurl_describes_each_kind_of_symbol(server: ServerHandle, symbol: str, kind: str, shows: str) -> None:
    text = describe(server, symbol)
    assert text.startswith(f"{symbol} is {kind}:"), text
    assert shows in text


def test_grpcurl_describes_every_error_detail_type(server: ServerHandle) -> None:
    for name in ERROR_DETAIL_TYPES:
        assert describe(server, f"google.rpc.{name}").startswith(f"google.rpc.{name} is a message:")
    assert describe(server, "google.rpc.Status").startswith("google.rpc.Status is a message:")


def test_grpcurl_decodes_the_error_details(server: ServerHandle) -> None:
    result = grpcurl(
        server, "paysim.v1.MerchantService/RegisterMerchant", flags=("-d", '{"name": "", "owner_email": "x"}')
    )
    assert result.returncode == 64 + grpc.StatusCode.INVALID_ARGUMENT.value[0], result.stderr
    assert "is not recognized" not in result.stderr, result.stderr
    for detail in ("ErrorInfo", "BadRequest", "RequestInfo"):
        assert f'"@type":"type.googleapis.com/google.rpc.{detail}"' in result.stderr
    assert '"field_violations":[{"field":"name"' in result.stderr


def test_buf_curl_speaks_reflection_v1(server: ServerHandle) -> None:
    account: MerchantAccount = register_merchant(server.stubs())
    base = [str(BUF), "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", "grpc-v1"]
    listed = subprocess.run(
        [*base, "--list-methods", f"http://{server.target}"], capture_output=True, text=True, timeout=60, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert "paysim.v1.PaymentService/CreatePayment" in listed.stdout.split()
    called = subprocess.run(
        [
            *base,
            "-H",
            f"authorization: Bearer {account.api_key}",
            f"http://{server.target}/paysim.v1.MerchantService/GetMerchant",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert called.returncode == 0, called.stderr
    assert f'"id": "{account.merchant_id}"' in called.stdout


# --- every symbol, over both protocol versions --------------------------------------------------


def _symbols(file: FileDescriptor) -> Iterator[str]:
    def of_enum(enum: EnumDescriptor) -> Iterator[str]:
        yield enum.full_name
        scope = enum.full_name.rpartition(".")[0]
        for value in enum.values:
            yield f"{scope}.{value.name}"
            yield f"{enum.full_name}.{value.name}"

    def of_message(message: Descriptor) -> Iterator[str]:
        yield message.full_name
        yield from (field.full_name for field in message.fields)
        yield from (oneof.full_name for oneof in message.oneofs)
        for nested in message.nested_types:
            yield from of_message(nested)
        for enum in message.enum_types:
            yield from of_enum(enum)

    for service in file.services_by_name.values():
        yield service.full_name
        yield from (method.full_name for method in service.methods)
    for message in file.message_types_by_name.values():
        yield from of_message(message)
    for enum in file.enum_types_by_name.values():
        yield from of_enum(enum)


def _ask(channel: grpc.Channel, version: str, requests: list[reflection_pb2.ServerReflectionRequest]) -> list[object]:
    """One reflection stream; both versions share their messages field for field."""
    if version == "v1alpha":
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        return list(stub.ServerReflectionInfo(iter(requests), timeout=30))
    call = channel.stream_stream(
        f"/{V1_SERVICE.full_name}/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return list(call(iter(requests), timeout=30))


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_every_symbol_of_every_served_file_resolves(server: ServerHandle, version: str) -> None:
    files = {service.file.name: service.file for service in PAYSIM_SERVICE_DESCRIPTORS}
    files.update({file.name: file for file in ERROR_DETAIL_FILES})
    wanted = [(file, symbol) for file in files.values() for symbol in _symbols(file)]
    assert len(wanted) > 500  # the walk really covers the contract
    requests = [reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol) for _, symbol in wanted]
    replies = _ask(server.channel(), version, requests)
    unresolved = []
    for (file, symbol), reply in zip(wanted, replies, strict=True):
        assert isinstance(reply, reflection_pb2.ServerReflectionResponse)
        served = [
            descriptor_pb2.FileDescriptorProto.FromString(raw).name
            for raw in reply.file_descriptor_response.file_descriptor_proto
        ]
        if not served or served[0] != file.name:
            unresolved.append(symbol)
    assert not unresolved, f"reflection ({version}) cannot resolve: {unresolved[:20]}"


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_files_come_with_their_imports_and_unknown_names_are_not_found(server: ServerHandle, version: str) -> None:
    by_name, unknown, services = _ask(
        server.channel(),
        version,
        [
            reflection_pb2.ServerReflectionRequest(file_by_filename="paysim/v1/threeds.proto"),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="paysim.v1.NoSuchThing"),
            reflection_pb2.ServerReflectionRequest(list_services=""),
        ],
    )
    assert isinstance(by_name, reflection_pb2.ServerReflectionResponse)
    names = [
        descriptor_pb2.FileDescriptorProto.FromString(raw).name
        for raw in by_name.file_descriptor_response.file_descriptor_proto
    ]
    assert names[0] == "paysim/v1/threeds.proto"
    assert {"paysim/v1/payment.proto", "google/protobuf/timestamp.proto"} <= set(names)
    assert isinstance(unknown, reflection_pb2.ServerReflectionResponse)
    assert unknown.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert isinstance(services, reflection_pb2.ServerReflectionResponse)
    assert "grpc.reflection.v1.ServerReflection" in {s.name for s in services.list_services_response.service}


def test_extensions_resolve_by_number_and_are_listed_per_type() -> None:
    """Pure: the answers for extensions, over a file that declares one (paysim declares none)."""
    servicer = ReflectionServicer([], extra_files=[annotations_pb2.DESCRIPTOR])
    http = annotations_pb2.DESCRIPTOR.extensions_by_name["http"]
    found = servicer.answer(
        reflection_pb2.ServerReflectionRequest(
            file_containing_extension=reflection_pb2.ExtensionRequest(
                containing_type="google.protobuf.MethodOptions", extension_number=http.number
            )
        )
    )
    first = descriptor_pb2.FileDescriptorProto.FromString(found.file_descriptor_response.file_descriptor_proto[0])
    assert first.name == "google/api/annotations.proto"
    numbers = servicer.answer(
        reflection_pb2.ServerReflectionRequest(all_extension_numbers_of_type="google.protobuf.MethodOptions")
    )
    assert list(numbers.all_extension_numbers_response.extension_number) == [http.number]
    assert servicer.answer(reflection_pb2.ServerReflectionRequest(file_containing_symbol="google.api.http")).HasField(
        "file_descriptor_response"
    )
    missing = servicer.answer(
        reflection_pb2.ServerReflectionRequest(
            file_containing_extension=reflection_pb2.ExtensionRequest(
                containing_type="google.protobuf.MethodOptions", extension_number=1
            )
        )
    )
    assert missing.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
