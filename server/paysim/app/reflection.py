"""Server reflection, ``grpc.reflection.v1`` and ``v1alpha``, from an index of the served files.

grpcio-reflection asks the process's descriptor pool, which cannot find a method by its name
(``grpcurl describe paysim.v1.PaymentService.CreatePayment`` answers "Symbol not found") nor an
enum value under its enum, and it speaks v1alpha only, while newer tools ask for v1 first. This
servicer indexes every symbol of the served files and their imports (services, methods,
messages, fields, oneofs, enums, enum values, extensions) and answers both versions, which are
the same messages under two package names.

The ``google.rpc`` error-detail types (``ErrorInfo``, ``BadRequest``, ``RetryInfo``,
``RequestInfo``, ``QuotaFailure``, ``PreconditionFailure``…) are served too, although no paysim
file imports them: grpcurl asks for them by name to decode the details of an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    FileDescriptor,
    ServiceDescriptor,
)
from google.rpc import error_details_pb2, status_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

METHOD = "ServerReflectionInfo"
V1ALPHA_SERVICE: ServiceDescriptor = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"]
# What a client needs to decode every error detail paysim sends (google.rpc.Status carries them).
ERROR_DETAIL_FILES: tuple[FileDescriptor, ...] = (error_details_pb2.DESCRIPTOR, status_pb2.DESCRIPTOR)


def _v1_file() -> FileDescriptor:
    """``grpc/reflection/v1/reflection.proto``: v1alpha's file under v1's package name. The
    messages are identical field for field, so v1alpha's classes read and write v1 on the wire."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = f".{proto.package}.", ".grpc.reflection.v1."
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = "grpc.reflection.v1"
    proto.options.Clear()
    proto.options.go_package = "google.golang.org/grpc/reflection/grpc_reflection_v1"
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name.removeprefix(old)
    for method in proto.service[0].method:
        method.input_type = new + method.input_type.removeprefix(old)
        method.output_type = new + method.output_type.removeprefix(old)
    pool = descriptor_pool.DescriptorPool()  # private: the process's default pool stays as it was
    pool.AddSerializedFile(proto.SerializeToString())
    file: FileDescriptor = pool.FindFileByName(proto.name)
    return file


V1_SERVICE: ServiceDescriptor = _v1_file().services_by_name["ServerReflection"]


class SymbolIndex:
    """Which served file defines each fully-qualified name, and each extension."""

    def __init__(self, files: Iterable[FileDescriptor]) -> None:
        self.files: dict[str, FileDescriptor] = {}
        self.symbols: dict[str, FileDescriptor] = {}
        self.extensions: dict[str, dict[int, FileDescriptor]] = {}
        for file in files:
            self._add_file(file)

    def _add_file(self, file: FileDescriptor) -> None:
        if file.name in self.files:
            return
        self.files[file.name] = file
        for dependency in file.dependencies:
            self._add_file(dependency)
        for message in file.message_types_by_name.values():
            self._add_message(file, message)
        for enum in file.enum_types_by_name.values():
            self._add_enum(file, enum)
        for extension in file.extensions_by_name.values():
            self._add_extension(file, extension)
        for service in file.services_by_name.values():
            self.symbols[service.full_name] = file
            for method in service.methods:
                self.symbols[method.full_name] = file

    def _add_message(self, file: FileDescriptor, message: Descriptor) -> None:
        self.symbols[message.full_name] = file
        for field in message.fields:
            self.symbols[field.full_name] = file
        for oneof in message.oneofs:
            self.symbols[oneof.full_name] = file
        for nested in message.nested_types:
            self._add_message(file, nested)
        for enum in message.enum_types:
            self._add_enum(file, enum)
        for extension in message.extensions:
            self._add_extension(file, extension)

    def _add_enum(self, file: FileDescriptor, enum: EnumDescriptor) -> None:
        self.symbols[enum.full_name] = file
        parent = enum.full_name.rpartition(".")[0]
        for value in enum.values:
            # protobuf scopes a value beside its enum (paysim.v1.PAYMENT_STATUS_CAPTURED); some
            # tools name it under the enum (paysim.v1.PaymentStatus.PAYMENT_STATUS_CAPTURED).
            self.symbols[f"{parent}.{value.name}" if parent else value.name] = file
            self.symbols[f"{enum.full_name}.{value.name}"] = file

    def _add_extension(self, file: FileDescriptor, extension: FieldDescriptor) -> None:
        self.symbols[extension.full_name] = file
        extended = extension.containing_type
        if extended is not None:  # always set on an extension; None only for plain fields
            self.extensions.setdefault(extended.full_name, {})[extension.number] = file


class ReflectionServicer:
    """``ServerReflectionInfo`` for both protocol versions, over the files of ``services``."""

    def __init__(
        self, services: Sequence[ServiceDescriptor], *, extra_files: Sequence[FileDescriptor] = ERROR_DETAIL_FILES
    ) -> None:
        self.service_names = sorted(s.full_name for s in services)
        self._index = SymbolIndex([*(s.file for s in services), *extra_files])
        self._serialized: dict[str, bytes] = {}

    def _file_bytes(self, file: FileDescriptor) -> bytes:
        cached = self._serialized.get(file.name)
        if cached is None:
            proto = descriptor_pb2.FileDescriptorProto()
            file.CopyToProto(proto)
            cached = self._serialized[file.name] = proto.SerializeToString()
        return cached

    def _with_imports(self, file: FileDescriptor) -> list[FileDescriptor]:
        """``file`` first, then everything it imports, each once."""
        ordered: list[FileDescriptor] = []
        pending = [file]
        while pending:
            current = pending.pop()
            if current in ordered:
                continue
            ordered.append(current)
            pending.extend(current.dependencies)
        return ordered

    def _files(self, request: Any, file: FileDescriptor | None, what: str) -> Any:
        if file is None:
            return _error(request, grpc.StatusCode.NOT_FOUND, f"{what} is not known to this server")
        return reflection_pb2.ServerReflectionResponse(
            original_request=request,
            file_descriptor_response=reflection_pb2.FileDescriptorResponse(
                file_descriptor_proto=[self._file_bytes(f) for f in self._with_imports(file)]
            ),
        )

    def answer(self, request: Any) -> Any:
        """The response to one request of the stream (v1alpha's message classes)."""
        kind = request.WhichOneof("message_request")
        if kind == "list_services":
            return reflection_pb2.ServerReflectionResponse(
                original_request=request,
                list_services_response=reflection_pb2.ListServiceResponse(
                    service=[reflection_pb2.ServiceResponse(name=name) for name in self.service_names]
                ),
            )
        if kind == "file_by_filename":
            name = request.file_by_filename
            return self._files(request, self._index.files.get(name), f"file {name!r}")
        if kind == "file_containing_symbol":
            symbol = request.file_containing_symbol.removeprefix(".")
            return self._files(request, self._index.symbols.get(symbol), f"symbol {symbol!r}")
        if kind == "file_containing_extension":
            wanted = request.file_containing_extension
            found = self._index.extensions.get(wanted.containing_type, {}).get(wanted.extension_number)
            return self._files(request, found, f"extension {wanted.extension_number} of {wanted.containing_type!r}")
        if kind == "all_extension_numbers_of_type":
            type_name = request.all_extension_numbers_of_type
            if self._index.symbols.get(type_name) is None:
                return _error(request, grpc.StatusCode.NOT_FOUND, f"message {type_name!r} is not known to this server")
            return reflection_pb2.ServerReflectionResponse(
                original_request=request,
                all_extension_numbers_response=reflection_pb2.ExtensionNumberResponse(
                    base_type_name=type_name,
                    extension_number=sorted(self._index.extensions.get(type_name, {})),
                ),
            )
        return _error(request, grpc.StatusCode.INVALID_ARGUMENT, "the request names nothing to look up")

    async def ServerReflectionInfo(
        self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        async for request in requests:
            yield self.answer(request)


def _error(request: Any, code: grpc.StatusCode, message: str) -> Any:
    return reflection_pb2.ServerReflectionResponse(
        original_request=request,
        error_response=reflection_pb2.ErrorResponse(error_code=code.value[0], error_message=message),
    )


def add_reflection(server: grpc.aio.Server, servicer: ReflectionServicer) -> None:
    """Serve ``servicer`` as ``grpc.reflection.v1alpha.ServerReflection`` and as ``…v1.…``."""
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        V1_SERVICE.full_name,
        {
            METHOD: grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))
