"""The contract's ``google.api.field_behavior`` annotations say what the server does.

A REQUIRED request field left empty is INVALID_ARGUMENT with a violation naming it; REQUIRED and
OPTIONAL appear only in what requests carry, OUTPUT_ONLY and IMMUTABLE only in what answers do
(and neither in a message that travels both ways).
The RPCs and fields come from the descriptors: a new annotation is checked with no edit here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api import field_behavior_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor

from paysim.app.policy import POLICIES, contract_services, method_path
from tests.support.client import rich_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle

INPUT_ONLY = {field_behavior_pb2.REQUIRED, field_behavior_pb2.OPTIONAL}
OUTPUT_ONLY = {field_behavior_pb2.OUTPUT_ONLY, field_behavior_pb2.IMMUTABLE}


def _behaviors(field: FieldDescriptor) -> set[int]:
    return set(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def _methods() -> list[MethodDescriptor]:
    return [m for s in contract_services() for m in s.methods]


def _required(method: MethodDescriptor) -> list[str]:
    return [f.name for f in method.input_type.fields if field_behavior_pb2.REQUIRED in _behaviors(f)]


def _messages(roots: Iterator[Descriptor]) -> dict[str, Descriptor]:
    """The contract's messages reachable from ``roots`` through message fields, by full name."""
    seen: dict[str, Descriptor] = {}
    pending = list(roots)
    while pending:
        message = pending.pop()
        if message.full_name in seen or not message.full_name.startswith("paysim."):
            continue
        seen[message.full_name] = message
        pending.extend(f.message_type for f in message.fields if f.message_type is not None)
    return seen


def test_input_and_output_behaviors_stay_on_their_side() -> None:
    inputs = _messages(m.input_type for m in _methods())
    outputs = _messages(m.output_type for m in _methods())
    both = {name: inputs[name] for name in inputs.keys() & outputs.keys()}  # ThreeDSThreshold, ScriptedOutcome
    annotated = 0
    for side, messages, foreign in (
        ("request", inputs, OUTPUT_ONLY),
        ("answer", outputs, INPUT_ONLY),
        ("request and an answer", both, OUTPUT_ONLY | INPUT_ONLY),
    ):
        for name, message in sorted(messages.items()):
            for field in message.fields:
                behaviors = _behaviors(field)
                annotated += bool(behaviors)
                assert not behaviors & foreign, f"{name}.{field.name} is in a {side} but annotated {behaviors}"
    assert annotated > 100


@pytest.fixture(scope="module")
def merchant_token(server: ServerHandle) -> str:
    return register_merchant(server.stubs()).access_token


# A value the server accepts at a first look, for the REQUIRED fields not under test: the server
# may check fields one after another, so the others must not be refused before the one left empty.
PLAUSIBLE: dict[str, Any] = {
    "merchant_id": "mer_0000000000000000000000",
    "payment_id": "pay_0000000000000000000000",
    "customer_id": "cus_0000000000000000000000",
    "api_key_id": "key_0000000000000000000000",
    "webhook_endpoint_id": "whe_0000000000000000000000",
    "webhook_delivery_id": "whd_0000000000000000000000",
    "challenge_id": "chl_0000000000000000000000",
    "email": "someone@example.test",
    "owner_email": "someone@example.test",
    "password": "a long enough password",
    "owner_password": "a long enough password",
    "current_password": "a long enough password",
    "new_password": "a long enough password",
    "gateway": "simulator",
    "url": "https://example.test/hooks",
    "event_types": ["*"],
    "priority": 1,
    "amount_minor": 100,
}


def _plausible(field: FieldDescriptor) -> Any:
    if field.name in PLAUSIBLE:
        return PLAUSIBLE[field.name]
    if field.enum_type is not None:
        value = field.enum_type.values[1].number
        return [value] if field.is_repeated else value
    if field.message_type is not None:
        return [{}] if field.is_repeated else {}
    return "x"


def _cases() -> Iterator[Any]:
    for method in _methods():
        for name in _required(method):
            yield pytest.param(method, name, id=f"{method.full_name}.{name}")


@pytest.mark.parametrize(("method", "empty"), list(_cases()))
def test_a_required_field_left_empty_is_invalid_argument(
    server: ServerHandle, merchant_token: str, admin_token: str, method: MethodDescriptor, empty: str
) -> None:
    token = admin_token if POLICIES[method_path(method)].admin_only else merchant_token
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    fields = method.input_type.fields_by_name
    request = request_cls(**{name: _plausible(fields[name]) for name in _required(method) if name != empty})
    call = server.channel().unary_unary(
        method_path(method),
        request_serializer=request_cls.SerializeToString,
        response_deserializer=response_cls.FromString,
    )
    with pytest.raises(grpc.RpcError) as raised:
        call(request, metadata=[("authorization", f"Bearer {token}")], timeout=30)
    err = rich_error(raised.value)
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT, err
    assert empty in err.field_violations, err.field_violations
