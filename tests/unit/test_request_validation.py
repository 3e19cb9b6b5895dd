"""The descriptor-driven request check on message shapes paysim's own protos do not all have yet
(enum map values, recursive messages, oneofs, request streams), so that a future field is covered
as it comes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, message_factory, timestamp_pb2
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

from paysim.app.handler_wrapping import wrap_handler
from paysim.app.request_validation import request_violations


def _field(
    name: str, number: int, kind: int, type_name: str = "", *, repeated: bool = False, oneof: int | None = None
) -> F:
    field = F(name=name, number=number, type=kind, label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)  # type: ignore[arg-type]
    if type_name:
        field.type_name = type_name
    if oneof is not None:
        field.oneof_index = oneof
    return field


def _map_entry(name: str, key: int, value: int, value_type: str = "") -> descriptor_pb2.DescriptorProto:
    entry = descriptor_pb2.DescriptorProto(
        name=name, field=[_field("key", 1, key), _field("value", 2, value, value_type)]
    )
    entry.options.map_entry = True
    return entry


def _node_class() -> Any:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(duration_pb2.DESCRIPTOR.serialized_pb)
    color = ".checks.Node.Color"
    node = descriptor_pb2.DescriptorProto(
        name="Node",
        enum_type=[
            descriptor_pb2.EnumDescriptorProto(
                name="Color",
                value=[
                    descriptor_pb2.EnumValueDescriptorProto(name="COLOR_UNSPECIFIED", number=0),
                    descriptor_pb2.EnumValueDescriptorProto(name="COLOR_RED", number=1),
                ],
            )
        ],
        nested_type=[
            _map_entry("ByNameEntry", F.TYPE_STRING, F.TYPE_ENUM, color),
            _map_entry("ByIdEntry", F.TYPE_INT32, F.TYPE_MESSAGE, ".checks.Node"),
            _map_entry("LabelsEntry", F.TYPE_STRING, F.TYPE_STRING),
        ],
        field=[
            _field("color", 1, F.TYPE_ENUM, color),
            _field("children", 2, F.TYPE_MESSAGE, ".checks.Node", repeated=True),
            _field("by_name", 3, F.TYPE_MESSAGE, ".checks.Node.ByNameEntry", repeated=True),
            _field("by_id", 4, F.TYPE_MESSAGE, ".checks.Node.ByIdEntry", repeated=True),
            _field("at", 5, F.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
            _field("chosen", 6, F.TYPE_ENUM, color, oneof=0),
            _field("wait", 7, F.TYPE_MESSAGE, ".google.protobuf.Duration", oneof=0),
            _field("labels", 8, F.TYPE_MESSAGE, ".checks.Node.LabelsEntry", repeated=True),
        ],
        oneof_decl=[descriptor_pb2.OneofDescriptorProto(name="pick")],
    )
    source = descriptor_pb2.FileDescriptorProto(
        name="checks.proto",
        package="checks",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto", "google/protobuf/duration.proto"],
        message_type=[node],
    )
    pool.Add(source)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("checks.Node"))


Node = _node_class()


def _fields(message: Any) -> dict[str, str]:
    return {v.field: v.reason for v in request_violations(message)}


def test_a_message_with_only_known_values_passes() -> None:
    node = Node(color=1, at={"seconds": 253402300799, "nanos": 999_999_999}, wait={"seconds": -5, "nanos": -1})
    node.children.add(color=0)
    node.by_name["a"] = 1
    node.by_id[7].color = 1
    node.labels["x"] = "anything"
    assert request_violations(node) == []


def test_unknown_enum_values_are_found_wherever_they_sit() -> None:
    node = Node(color=5, chosen=9)
    node.children.add(color=1)
    node.children.add().children.add(color=-3)
    node.by_name["blue"] = 4
    node.by_id[12].color = 8
    assert _fields(node) == {
        "color": "UNKNOWN_ENUM_VALUE",
        "chosen": "UNKNOWN_ENUM_VALUE",
        "children[1].children[0].color": "UNKNOWN_ENUM_VALUE",
        "by_name['blue']": "UNKNOWN_ENUM_VALUE",
        "by_id[12].color": "UNKNOWN_ENUM_VALUE",
    }


def test_timestamps_and_durations_nested_anywhere_are_checked() -> None:
    node = Node(at={"seconds": 253402300800}, wait={"seconds": 1, "nanos": -1})
    node.children.add(at={"nanos": -1})
    node.by_id[3].wait.seconds = 315_576_000_001
    assert _fields(node) == {
        "at.seconds": "TIMESTAMP_OUT_OF_RANGE",
        "wait.nanos": "DURATION_OUT_OF_RANGE",
        "children[0].at.nanos": "TIMESTAMP_OUT_OF_RANGE",
        "by_id[3].wait.seconds": "DURATION_OUT_OF_RANGE",
    }


def test_an_unset_timestamp_is_not_judged() -> None:
    assert request_violations(Node()) == []


def test_long_map_keys_are_shortened_in_the_path() -> None:
    node = Node()
    node.by_name["k" * 5000] = 9
    (violation,) = request_violations(node)
    assert violation.field == f"by_name[{'k' * 40!r}]"


def test_the_list_is_bounded() -> None:
    node = Node()
    for _ in range(1000):
        node.children.add(color=77)
    assert len(request_violations(node)) == 20


def test_each_message_of_a_request_stream_is_checked_before_the_handler_sees_it() -> None:
    seen: list[int] = []

    async def handler(requests: AsyncIterator[Any], context: Any) -> None:
        async for request in requests:
            seen.append(request.color)

    @asynccontextmanager
    async def no_scope(context: Any) -> AsyncIterator[None]:
        yield

    def check(request: Any) -> None:
        if request_violations(request):
            raise ValueError(request_violations(request)[0].field)

    async def requests() -> AsyncIterator[Any]:
        for color in (1, 0, 9, 1):
            yield Node(color=color)

    wrapped = wrap_handler(grpc.stream_unary_rpc_method_handler(handler), no_scope, check)
    with pytest.raises(ValueError, match=r"^color$"):
        asyncio.run(wrapped.stream_unary(requests(), None))
    assert seen == [1, 0]
