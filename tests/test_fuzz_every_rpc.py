"""Extreme values in every field of every RPC: the answer is never INTERNAL or UNKNOWN.

The RPCs come from the generated descriptors of every paysim service (a new RPC or field is
fuzzed with no edit). Every field gets its type's extremes: Timestamps and Durations outside
their valid ranges and at their edges, strings empty, with NUL, odd unicode, 20,000 emoji, 100,000
characters or invalid UTF-8, bytes likewise, integers at 0, -1 and the int32/int64/uint extremes,
floats NaN and ±inf, enum numbers the proto does not define, repeated fields and maps with
thousands of entries. Every error must carry ``ErrorInfo`` in the ``paysim.v1`` domain.

Two parts, against a server of their own (admins fuzzing platform-wide outages and merchant
deactivation must not disturb other modules):
- a Hypothesis search per RPC (derandomized: the same requests every run), each request sent
  anonymously, as the merchant (user or API key) and as an admin;
- a deterministic sweep that puts each extreme value (and invalid UTF-8, and hostile tails
  behind an id's prefix) into each field of an otherwise valid request, to reach the code behind
  validation: as the least privileged caller the access table lets through, and as an admin too
  where the request can name a merchant.

``test_fuzz_identity`` adds values specific to the identity RPCs (emails, passwords, page
tokens) on top of this.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paysim_proto.v1 import merchant_pb2, payment_pb2, simulator_pb2, threeds_pb2, webhook_pb2

from paysim.app.bootstrap import ensure_admin
from paysim.app.policy import POLICIES
from paysim.app.server import PAYSIM_SERVICES
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from tests.support import backends, fuzzing, harness
from tests.support.backends import Backend
from tests.support.client import Stubs
from tests.support.factories import (
    PASSWORD,
    MerchantAccount,
    create_customer,
    login,
    register_customer_user,
    register_merchant,
    unique,
    unique_email,
)
from tests.support.fuzzing import assign, is_map, message_class
from tests.support.harness import ServerHandle

METHODS = fuzzing.all_methods()
TIMESTAMP, DURATION = "google.protobuf.Timestamp", "google.protobuf.Duration"

# --- the extremes of each type --------------------------------------------------------------------

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
HUGE = 100_000  # characters or bytes: far past every limit, well inside the 4 MiB message limit

STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\u202e\u200b\ufeff\ufffd\uffff\U0010ffff",  # bidi override, zero width, BOM, noncharacters
    "e\u0301\u0345ßİﬃ\x7f\x1b",  # combining marks, case-folding expanders, control characters
    "😀" * 5000,
    "a" * HUGE,
]
# Short enough to repeat thousands of times in one request.
SMALL_STRINGS = ["", "\x00", "ß", "a" * 50]
BYTES = [b"", b"\x00", b"\xff\xfe\xfd", b"\x00" * HUGE]

TIMESTAMPS = [
    Timestamp(seconds=INT64_MIN),
    Timestamp(seconds=INT64_MAX),
    Timestamp(seconds=-62135596801),  # a second before 0001-01-01
    Timestamp(seconds=-62135596800),  # 0001-01-01, the first valid instant
    Timestamp(seconds=253402300799, nanos=999_999_999),  # the last valid instant
    Timestamp(seconds=253402300800),  # 10000-01-01
    Timestamp(seconds=0, nanos=-1),
    Timestamp(seconds=0, nanos=1_000_000_000),
    Timestamp(seconds=0, nanos=INT32_MIN),
    Timestamp(seconds=0, nanos=INT32_MAX),
]
DURATIONS = [
    Duration(seconds=INT64_MAX),
    Duration(seconds=INT64_MIN),
    Duration(seconds=315_576_000_001),  # just past 10,000 years
    Duration(seconds=315_576_000_000, nanos=999_999_999),  # the longest valid duration
    Duration(seconds=-315_576_000_000, nanos=-999_999_999),
    Duration(seconds=86_400),
    Duration(seconds=86_401),
    Duration(seconds=0, nanos=-1),
    Duration(seconds=1, nanos=-1),  # signs disagree
    Duration(seconds=0, nanos=1_000_000_000),
    Duration(seconds=0, nanos=INT32_MIN),
]

_T = FieldDescriptor


def _integers(field: FieldDescriptor) -> list[int]:
    if field.type in (_T.TYPE_INT64, _T.TYPE_SINT64, _T.TYPE_SFIXED64):
        return [0, -1, 1, INT64_MIN, INT64_MAX]
    if field.type in (_T.TYPE_UINT32, _T.TYPE_FIXED32):
        return [0, 1, 2**32 - 1]
    if field.type in (_T.TYPE_UINT64, _T.TYPE_FIXED64):
        return [0, 1, 2**64 - 1]
    return [0, -1, 1, INT32_MIN, INT32_MAX]


def _floats(field: FieldDescriptor) -> list[float]:
    largest = 3.4028234663852886e38 if field.type == _T.TYPE_FLOAT else 1.7976931348623157e308
    return [math.nan, math.inf, -math.inf, -0.0, largest, -largest]


def _unknown_enum_numbers(field: FieldDescriptor) -> list[int]:
    known = [v.number for v in field.enum_type.values]
    return [n for n in (-1, max(known) + 1, INT32_MAX, INT32_MIN) if n not in known]


def extremes(field: FieldDescriptor, *, small: bool = False) -> list[Any]:
    """The extreme values of one (singular) field, or of one element of a repeated one."""
    if field.type == _T.TYPE_MESSAGE:
        name = field.message_type.full_name
        if name == TIMESTAMP:
            return list(TIMESTAMPS)
        if name == DURATION:
            return list(DURATIONS)
        return []  # other messages: their own fields are the leaves
    if field.type == _T.TYPE_STRING:
        return list(SMALL_STRINGS if small else STRINGS)
    if field.type == _T.TYPE_BYTES:
        return BYTES[:3] if small else list(BYTES)
    if field.type == _T.TYPE_BOOL:
        return [True, False]
    if field.type == _T.TYPE_ENUM:
        return _unknown_enum_numbers(field)
    if field.type in (_T.TYPE_FLOAT, _T.TYPE_DOUBLE):
        return _floats(field)
    return _integers(field)


def _set_value(message: Any, field: FieldDescriptor, value: Any) -> None:
    if field.type == _T.TYPE_MESSAGE:
        getattr(message, field.name).CopyFrom(value)
    else:
        setattr(message, field.name, value)


# --- invalid UTF-8 where a string belongs ---------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"a\x80b"]  # stray byte, bad tail, surrogate, lone continuation


# --- part 1: Hypothesis, every field of every RPC at its extremes -------------------------------


def _element(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == _T.TYPE_MESSAGE and field.message_type.full_name not in (TIMESTAMP, DURATION):
        return extreme_messages(field.message_type, depth + 1)
    values = extremes(field)
    if field.type == _T.TYPE_ENUM:  # known values too, so the other fields are judged as well
        values += [v.number for v in field.enum_type.values]
    return st.sampled_from(values)


def _many(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Thousands of entries, each small: a repeated field or map no limit was written for."""
    if is_map(field):
        value_field = field.message_type.fields_by_name["value"]
        if value_field.type == _T.TYPE_MESSAGE:
            return st.just({})
        value = (extremes(value_field, small=True) or [None])[0]
        return st.just({f"k{i}": value for i in range(5000)} if value is not None else {})
    if field.type == _T.TYPE_MESSAGE and field.message_type.full_name not in (TIMESTAMP, DURATION):
        return st.just([message_class(field.message_type)() for _ in range(5000)])
    return st.sampled_from(extremes(field, small=True)).map(lambda v: [v] * 5000)


def extreme_messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """A message of ``descriptor`` with each field independently left unset or set to extremes."""
    cls = message_class(descriptor)
    if depth > 3:
        return st.just(cls())
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if is_map(field):
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            few = st.dictionaries(_element(key_field, depth), _element(value_field, depth), max_size=3)
            parts[field.name] = st.one_of(few, _many(field))
        elif field.is_repeated:
            parts[field.name] = st.one_of(st.lists(_element(field, depth), max_size=3), _many(field))
        else:
            parts[field.name] = _element(field, depth)

    def build(values: dict[str, Any]) -> Any:
        message = cls()
        for name, value in values.items():
            assign(message, descriptor.fields_by_name[name], value)
        return message

    return st.fixed_dictionaries({}, optional=parts).map(build)


# --- the server, its callers and their objects ----------------------------------------------------


@dataclass
class World:
    server: ServerHandle
    channel: grpc.Channel  # one for the module: Hypothesis calls a test many times
    merchant: MerchantAccount
    bystander: MerchantAccount  # what admins act on
    admin_token: str
    # A webhook delivery of the merchant's, and its event.
    delivery_id: str
    event_id: str

    @property
    def stubs(self) -> Stubs:
        return Stubs(self.channel)

    def credential(self, caller: str) -> str | None:
        return {
            "anonymous": None,
            "merchant_user": self.merchant.access_token,
            "merchant_api_key": self.merchant.api_key,
            "admin": self.admin_token,
        }[caller]


def _first_delivery(stubs: Stubs, merchant: MerchantAccount) -> tuple[str, str]:
    api = stubs.as_(merchant.api_key)
    api.webhooks.CreateWebhookEndpoint(
        webhook_pb2.CreateWebhookEndpointRequest(url="http://127.0.0.1:9/hooks", event_types=["*"])
    )
    _payment(stubs, merchant.api_key)
    deadline = time.monotonic() + 20
    while True:
        found = api.webhooks.ListWebhookDeliveries(webhook_pb2.ListWebhookDeliveriesRequest()).webhook_deliveries
        if found:
            return found[0].id, found[0].event_id
        assert time.monotonic() < deadline, "a payment to a subscribed endpoint makes a delivery"
        time.sleep(0.05)  # polling an RPC with a deadline: the server has no change feed for this


@pytest.fixture(scope="module")
def world(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("fuzz-every-rpc")
    with backends.provision(backend.name, tmp / "db") as private:
        server = ServerHandle(harness.test_settings(private, tmp / "data"))
        try:
            stubs = server.stubs()
            admin_email = unique_email("fuzz-admin")
            server.run(ensure_admin(server.app, admin_email, PASSWORD))
            merchant = register_merchant(stubs)
            delivery_id, event_id = _first_delivery(stubs, merchant)
            yield World(
                server=server,
                channel=server.channel(),
                merchant=merchant,
                bystander=register_merchant(stubs),
                admin_token=login(stubs, admin_email).tokens.access_token,
                delivery_id=delivery_id,
                event_id=event_id,
            )
        finally:
            server.stop()


def _judge(world: World, path: str, request: Any, caller: str) -> str | None:
    outcome = fuzzing.call(world.channel, path, METHODS[path], request, world.credential(caller))
    return fuzzing.verdict(outcome)


def _short(request: Any) -> str:
    text = repr(request) if not isinstance(request, bytes) else f"raw {request[:80]!r}"
    return text if len(text) < 300 else text[:300] + f"… ({len(text)} chars)"


def test_every_served_service_is_fuzzed() -> None:
    assert {path.split("/")[1] for path in METHODS} == set(PAYSIM_SERVICES)


@pytest.mark.parametrize("path", sorted(METHODS), ids=lambda p: p.rsplit("/", 1)[-1])
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_extreme_requests_never_break_the_server(world: World, path: str, data: Any) -> None:
    request = data.draw(extreme_messages(METHODS[path].input_type), label="request")
    merchant = data.draw(st.sampled_from(["merchant_user", "merchant_api_key"]), label="merchant")
    problems = [
        f"{caller}: {v}" for caller in ("anonymous", merchant, "admin") if (v := _judge(world, path, request, caller))
    ]
    assert not problems, f"{path} {_short(request)}\n" + "\n".join(problems)


# --- part 2: each extreme in each field of a valid request ----------------------------------------


def _card(number: str = "4242424242424242") -> payment_pb2.CardInput:
    return payment_pb2.CardInput(number=number, exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


def _payment(stubs: Stubs, key: str, **fields: Any) -> payment_pb2.Payment:
    request = payment_pb2.CreatePaymentRequest(amount_minor=1000, currency_code="USD", **fields)
    if "card" not in fields:
        request.card.CopyFrom(_card())
    payment: payment_pb2.Payment = stubs.as_(key).payments.CreatePayment(request).payment
    return payment


_PRINCIPALS = {
    "merchant_user": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.MERCHANT),
    "merchant_api_key": Principal(kind=CredentialKind.API_KEY, role=Role.MERCHANT),
    "admin": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.ADMIN),
}


def _callers_for(path: str) -> list[str]:
    """Who the sweep calls as: the least privileged caller the access table lets through, and an
    admin as well where the request can name a merchant (admins take other paths there)."""
    policy = POLICIES[path]
    if policy.public:
        return ["anonymous"]
    allowed = [
        caller
        for caller, principal in _PRINCIPALS.items()
        if (principal.is_admin or not policy.admin_only)
        and (policy.permission is None or principal.can(policy.permission))
    ]
    assert allowed, f"{path}: no caller may call it"
    fields = METHODS[path].input_type.fields_by_name
    if allowed[0] != "admin" and ("merchant_id" in fields or "platform_wide" in fields):
        return [allowed[0], "admin"]
    return allowed[:1]


class Objects:
    """Fresh objects of the caller's merchant for one RPC's sweep, made when a field asks for one:
    an earlier sweep may have deleted, captured or refunded the last ones."""

    def __init__(self, world: World, path: str, caller: str) -> None:
        self.world, self.path, self.caller = world, path, caller
        self.owner = world.bystander if caller == "admin" else world.merchant
        self._made: dict[str, str] = {}

    def _api(self) -> Stubs:
        return self.world.stubs.as_(self.owner.api_key)

    def _three_ds(self) -> tuple[str, str, str, str]:
        payment = _payment(self.world.stubs, self.owner.api_key, card=_card("4000000000003220"))
        challenge = payment.next_action.three_ds_challenge
        acs = self._api().threeds.SimulateAcs(
            threeds_pb2.SimulateAcsRequest(
                payment_id=payment.id,
                challenge_request=challenge.challenge_request,
                action=threeds_pb2.ACS_ACTION_APPROVE,
            )
        )
        return payment.id, challenge.challenge_request, challenge.id, acs.acs_result

    def get(self, name: str) -> str | None:
        if name not in self._made:
            self._made.update(self._make(name))
        return self._made.get(name)

    def _make(self, name: str) -> dict[str, str]:
        method = self.path.rsplit("/", 1)[-1]
        stubs = self.world.stubs
        if name in ("payment_id", "challenge_request", "challenge_id", "acs_result") and "ThreeDS" in self.path:
            payment_id, request, challenge_id, acs_result = self._three_ds()
            return {
                "payment_id": payment_id,
                "challenge_request": request,
                "challenge_id": challenge_id,
                "acs_result": acs_result,
            }
        if name == "payment_id":
            manual = method in ("CapturePayment", "VoidPayment")
            capture = payment_pb2.CAPTURE_METHOD_MANUAL if manual else payment_pb2.CAPTURE_METHOD_AUTOMATIC
            return {name: _payment(stubs, self.owner.api_key, capture_method=capture).id}
        if name == "customer_id":
            return {name: create_customer(stubs, self.owner.api_key, name="Sweep").id}
        if name == "webhook_endpoint_id":
            reply = self._api().webhooks.CreateWebhookEndpoint(
                webhook_pb2.CreateWebhookEndpointRequest(url="http://127.0.0.1:9/sweep", event_types=["*"])
            )
            return {name: reply.webhook_endpoint.id}
        if name == "api_key_id":
            key = stubs.as_(self.owner.access_token).merchants.CreateApiKey(
                merchant_pb2.CreateApiKeyRequest(name=unique("spare"))
            )
            return {name: key.api_key.id}
        if name == "refresh_token" or (name == "email" and method == "Login"):
            # A user of its own: the ChangePassword sweep changes the owner's password.
            user = register_customer_user(stubs)
            return {"refresh_token": user.refresh_token} if name == "refresh_token" else {"email": user.email}
        if name == "merchant_id":
            return {name: self.owner.merchant_id} if self.caller == "admin" else {}
        if name in ("webhook_delivery_id", "event_id") and self.caller != "admin":
            return {"webhook_delivery_id": self.world.delivery_id, "event_id": self.world.event_id}
        return {}


_TEXT = {
    "currency_code": "USD",
    "default_currency_code": "USD",
    "gateway": "simulator",
    "url": "http://127.0.0.1:9/sweep",
    "number": "4242424242424242",
    "cvc": "123",
    "vpa": "success@razorpay",
    "card_last4": "4242",
    "holder_name": "Ann Payer",
}
_NUMBERS = {"amount_minor": 1000, "exp_month": 12, "exp_year": 2031, "page_size": 10, "priority": 1}
_NUMBERS |= {"fee_percent_bps": 100, "fee_fixed_minor": 30, "overlap_seconds": 60}


def _plausible_text(field: FieldDescriptor, objects: Objects) -> str | None:
    name = field.name
    if name in _TEXT:
        return _TEXT[name]
    made = objects.get(name)
    if made is not None or name.endswith("_id") or name in ("challenge_request", "acs_result", "refresh_token"):
        return made
    if "email" in name:
        return unique_email("sweep")
    if "password" in name:
        return PASSWORD
    if name.endswith("name"):
        return unique("Sweep")
    return None


def plausible(descriptor: Descriptor, objects: Objects, depth: int = 0) -> Any:
    """A request (or nested message) a well-meaning client could send."""
    message = message_class(descriptor)()
    for field in descriptor.fields:
        if field.containing_oneof is not None and field.containing_oneof.fields[0] is not field:
            continue  # the oneof's first choice (a card, not UPI); the sweep visits the others
        if is_map(field):
            continue
        if field.type == _T.TYPE_MESSAGE:
            name = field.message_type.full_name
            if name == TIMESTAMP:
                value: Any = Timestamp(seconds=1_700_000_000)
            elif name == DURATION:
                value = Duration(seconds=60)
            elif depth < 3:
                value = plausible(field.message_type, objects, depth + 1)
            else:
                continue
        elif field.type == _T.TYPE_STRING:
            value = "payment.captured" if field.is_repeated else _plausible_text(field, objects)
        elif field.type == _T.TYPE_ENUM:
            # The last value: the one that asks for most (thresholds are for ABOVE_AMOUNT, the
            # last 3-D Secure policy mode).
            value = field.enum_type.values[-1].number
        elif field.type in (_T.TYPE_BOOL, _T.TYPE_FLOAT, _T.TYPE_DOUBLE, _T.TYPE_BYTES):
            continue
        else:
            value = _NUMBERS.get(field.name)
        if value is None:
            continue
        assign(message, field, [value] if field.is_repeated else value)
    return message


@dataclass(frozen=True)
class Leaf:
    """One place a value can go: ``steps`` lead from the request to the message holding it."""

    steps: tuple[FieldDescriptor, ...]
    field: FieldDescriptor

    @property
    def label(self) -> str:
        return ".".join(f.name for f in (*self.steps, self.field))


def leaves(descriptor: Descriptor, steps: tuple[FieldDescriptor, ...] = ()) -> Iterator[Leaf]:
    for field in descriptor.fields:
        nested = field.type == _T.TYPE_MESSAGE and field.message_type.full_name not in (TIMESTAMP, DURATION)
        if nested and not is_map(field):
            if len(steps) < 3:
                yield from leaves(field.message_type, (*steps, field))
        else:
            yield Leaf(steps, field)


def _holder(request: Any, leaf: Leaf) -> Any:
    message = request
    for step in leaf.steps:
        if step.is_repeated:
            items = getattr(message, step.name)
            message = items[0] if len(items) else items.add()
        else:
            message = getattr(message, step.name)
    return message


# Behind an id's own prefix, these pass the prefix check and reach the lookups and the database.
ID_TAILS = ["\x00", "A" * 22 + "\x00", "A\x1fB", "é", "%", "_", "A" * 36, "A" * 61, "ß" * 5000, "A" * HUGE]


def _prefixed_ids(leaf: Leaf, base: Any) -> list[str]:
    if leaf.field.type != _T.TYPE_STRING or leaf.field.is_repeated or not leaf.field.name.endswith("_id"):
        return []
    current = getattr(_holder(base, leaf), leaf.field.name)
    if "_" not in current:
        return []
    prefix = current.split("_", 1)[0]
    return [f"{prefix}_{tail}" for tail in ID_TAILS]


def mutations(leaf: Leaf, base: Any) -> Iterator[tuple[str, Callable[[Any], None]]]:
    """(label, apply) for every extreme value of the leaf (``base``: the plausible request)."""
    field = leaf.field
    if is_map(field):
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        value_is_message = value_field.type == _T.TYPE_MESSAGE and value_field.message_type.full_name not in (
            TIMESTAMP,
            DURATION,
        )
        plain_value = message_class(value_field.message_type)() if value_is_message else None
        for key in extremes(key_field):
            yield (
                f"{leaf.label}[key]={key!r:.40}",
                _map_put(leaf, key, plain_value if value_is_message else _zero(value_field)),
            )
        if not value_is_message:
            for value in extremes(value_field):
                yield f"{leaf.label}[value]={value!r:.40}", _map_put(leaf, "k", value)
        yield f"{leaf.label} x5000", _map_many(leaf, value_field)
        return
    values = extremes(field)
    if field.is_repeated:
        for value in values:
            yield f"{leaf.label}[]={value!r:.40}", _replace_list(leaf, [value])
        small = extremes(field, small=True)
        if small:
            yield f"{leaf.label} x5000", _replace_list(leaf, [small[-1]] * 5000)
        return
    for value in values + _prefixed_ids(leaf, base):
        yield f"{leaf.label}={value!r:.40}", _put(leaf, value)


def _zero(field: FieldDescriptor) -> Any:
    return {_T.TYPE_STRING: "", _T.TYPE_BYTES: b"", _T.TYPE_BOOL: False}.get(field.type, 0)


def _put(leaf: Leaf, value: Any) -> Callable[[Any], None]:
    return lambda request: _set_value(_holder(request, leaf), leaf.field, value)


def _replace_list(leaf: Leaf, values: list[Any]) -> Callable[[Any], None]:
    def apply(request: Any) -> None:
        target = getattr(_holder(request, leaf), leaf.field.name)
        del target[:]
        if leaf.field.type == _T.TYPE_MESSAGE:
            for value in values:
                target.add().CopyFrom(value)
        else:
            target.extend(values)

    return apply


def _map_put(leaf: Leaf, key: Any, value: Any) -> Callable[[Any], None]:
    def apply(request: Any) -> None:
        target = getattr(_holder(request, leaf), leaf.field.name)
        if isinstance(value, Timestamp | Duration) or hasattr(value, "DESCRIPTOR"):
            target[key].CopyFrom(value)
        else:
            target[key] = value

    return apply


def _map_many(leaf: Leaf, value_field: FieldDescriptor) -> Callable[[Any], None]:
    def apply(request: Any) -> None:
        target = getattr(_holder(request, leaf), leaf.field.name)
        for i in range(5000):
            if value_field.type == _T.TYPE_MESSAGE:
                target.get_or_create(f"k{i}")
            else:
                target[f"k{i}"] = _zero(value_field)

    return apply


def _invalid_utf8(request: Any, leaf: Leaf, payload: bytes) -> bytes:
    """``request`` with the string ``leaf`` replaced by bytes that are not UTF-8 (the last
    occurrence of a field wins when a message is parsed)."""
    body = _length_delimited(leaf.field.number, payload)
    for step in reversed(leaf.steps):
        body = _length_delimited(step.number, body)
    return bytes(request.SerializeToString()) + body


def _cleanup(world: World) -> None:
    """Undo what an admin's sweep may have done to the platform and the bystander."""
    admin = world.stubs.as_(world.admin_token)
    admin.simulator.ClearGatewayFaults(simulator_pb2.ClearGatewayFaultsRequest(platform_wide=True))
    for account in (world.merchant, world.bystander):
        admin.merchants.ActivateMerchant(merchant_pb2.ActivateMerchantRequest(merchant_id=account.merchant_id))
        admin.simulator.ClearGatewayFaults(simulator_pb2.ClearGatewayFaultsRequest(merchant_id=account.merchant_id))
        admin.simulator.ClearChaosProfile(simulator_pb2.ClearChaosProfileRequest(merchant_id=account.merchant_id))
        configs = admin.merchants.ListGatewayConfigs(
            merchant_pb2.ListGatewayConfigsRequest(merchant_id=account.merchant_id)
        )
        for config in configs.gateway_configs:
            admin.merchants.DeleteGatewayConfig(
                merchant_pb2.DeleteGatewayConfigRequest(merchant_id=account.merchant_id, gateway=config.gateway)
            )
        admin.threeds.SetThreeDSPolicy(
            threeds_pb2.SetThreeDSPolicyRequest(
                merchant_id=account.merchant_id, mode=threeds_pb2.THREE_DS_POLICY_MODE_NEVER
            )
        )


def _sweep(world: World, path: str, caller: str) -> list[str]:
    method: MethodDescriptor = METHODS[path]
    objects = Objects(world, path, caller)
    problems: list[str] = []
    if path.endswith("/DeleteGatewayConfig"):  # something to delete
        world.stubs.as_(objects.owner.api_key).merchants.SetGatewayConfig(
            merchant_pb2.SetGatewayConfigRequest(gateway="simulator", priority=1)
        )
    base = plausible(method.input_type, objects)
    if verdict := _judge(world, path, base, caller):
        problems.append(f"{caller} plausible {_short(base)}: {verdict}")
    for leaf in leaves(method.input_type):
        for label, apply in mutations(leaf, base):
            request = plausible(method.input_type, objects)
            apply(request)
            if verdict := _judge(world, path, request, caller):
                problems.append(f"{caller} {label}: {verdict}")
        if leaf.field.type == _T.TYPE_STRING:
            for payload in INVALID_UTF8:
                raw = _invalid_utf8(plausible(method.input_type, objects), leaf, payload)
                if verdict := _judge(world, path, raw, caller):
                    problems.append(f"{caller} {leaf.label}=invalid UTF-8 {payload!r}: {verdict}")
    return problems


@pytest.mark.parametrize("path", sorted(METHODS), ids=lambda p: p.rsplit("/", 1)[-1])
def test_each_extreme_in_each_field(world: World, path: str) -> None:
    problems: list[str] = []
    try:
        for caller in _callers_for(path):
            problems += _sweep(world, path, caller)
    finally:
        _cleanup(world)
    assert not problems, f"{path}: {len(problems)} bad answers\n" + "\n".join(problems[:40])
