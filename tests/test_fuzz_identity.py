"""Fuzzing the identity RPCs: whatever a client sends, the answer is a deliberate status.

Requests are generated from the message descriptors (so a new field is fuzzed with no edit):
random and hostile strings (unicode, control characters, NUL, case-folding expanders such as
``ß``, lengths at and around every limit, up to 5,000 characters), integers at the int32/int64
extremes, random map entries, optional fields set or unset. Each request is sent anonymously,
as a customer, as a merchant (access token and API key) and as an admin. The server must never
answer INTERNAL or UNKNOWN, and every error carries ``ErrorInfo`` in the ``paysim.v1`` domain.

Two parts: a Hypothesis search per RPC, and a deterministic sweep that puts each hostile value
into each string field of an otherwise plausible request (which reaches the code behind
validation, where the random search rarely gets).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paysim_proto.v1 import auth_pb2, customer_pb2, merchant_pb2

from paysim.app.bootstrap import ensure_admin
from paysim.app.policy import POLICIES
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from tests.support import fuzzing
from tests.support.client import Stubs
from tests.support.factories import (
    PASSWORD,
    create_customer,
    login,
    register_customer_user,
    register_merchant,
    unique,
    unique_email,
)
from tests.support.fuzzing import assign, is_map, message_class
from tests.support.harness import ServerHandle

SERVICES = [
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"],
    merchant_pb2.DESCRIPTOR.services_by_name["MerchantService"],
    customer_pb2.DESCRIPTOR.services_by_name["CustomerService"],
]
METHODS: dict[str, MethodDescriptor] = {f"/{s.full_name}/{m.name}": m for s in SERVICES for m in s.methods}


# --- the callers and the objects they can name --------------------------------------------------


@dataclass
class World:
    credentials: dict[str, str | None]
    # Real ids to mix into id fields: a bystander's objects and some of the callers' own.
    known_ids: list[str]
    # Per caller, ids of objects it may act on (the plausible base of the sweep).
    own_ids: dict[str, dict[str, str]]
    # The API key of the merchant whose objects each caller acts on (to create fresh ones).
    object_keys: dict[str, str]


def _spare_key(stubs: Stubs, token: str) -> str:
    reply = stubs.as_(token).merchants.CreateApiKey(merchant_pb2.CreateApiKeyRequest(name=unique("spare")))
    key_id: str = reply.api_key.id
    return key_id


def _make_world(server: ServerHandle) -> World:
    stubs = server.stubs()
    # An admin of our own: the fuzzing may well change its password (ChangePassword is
    # exercised with the right current password), which must not disturb other modules.
    admin_email = unique_email("fuzz-admin")
    server.run(ensure_admin(server.app, admin_email, PASSWORD))
    admin_token = login(stubs, admin_email).tokens.access_token
    merchant = register_merchant(stubs)
    bystander = register_merchant(stubs)
    person = register_customer_user(stubs)
    own_customer = create_customer(stubs, merchant.api_key, name="own", email=person.email)
    bystanders_customer = create_customer(stubs, bystander.api_key, name="bystander's")
    merchant_ids = {
        "merchant_id": merchant.merchant_id,
        "customer_id": own_customer.id,
        "api_key_id": _spare_key(stubs, merchant.access_token),
    }
    admin_ids = {
        "merchant_id": bystander.merchant_id,
        "customer_id": bystanders_customer.id,
        "api_key_id": _spare_key(stubs, bystander.access_token),
    }
    # Not the callers' own merchant id: an admin deactivating it would lock the merchant out
    # for the rest of the search and hide everything behind MERCHANT_INACTIVE.
    known = {*admin_ids.values(), merchant_ids["customer_id"], merchant_ids["api_key_id"], person.user_id}
    return World(
        credentials={
            "anonymous": None,
            "customer_user": person.access_token,
            "merchant_user": merchant.access_token,
            "merchant_api_key": merchant.api_key,
            "admin": admin_token,
        },
        known_ids=sorted(known),
        own_ids={
            "anonymous": {},
            "customer_user": {"customer_id": own_customer.id},
            "merchant_user": merchant_ids,
            "merchant_api_key": merchant_ids,
            "admin": admin_ids,
        },
        object_keys={
            "merchant_user": merchant.api_key,
            "merchant_api_key": merchant.api_key,
            "admin": bystander.api_key,
        },
    )


@pytest.fixture(scope="module")
def random_world(server: ServerHandle) -> World:
    return _make_world(server)


@pytest.fixture(scope="module")
def sweep_world(server: ServerHandle) -> World:
    return _make_world(server)


# --- calling and judging ------------------------------------------------------------------------


def _short(request: Any) -> str:
    text = repr(request)
    return text if len(text) < 400 else text[:400] + f"… ({len(text)} chars)"


# --- strategies from descriptors ----------------------------------------------------------------

TRICKY_CHARS = [
    "\x00", "\x01", "\x08", "\x1b", "\x1f", "\x7f", "\x85", "\t", "\n", "\r", " ", "\u00a0",
    "ß", "ﬃ", "İ", "ǅ", "ﬀ", "ŉ", "ΐ", "\u0345", "é", "e\u0301", "\u200b", "\u202e", "\ufeff", "\uffff",
    "😀", "𝔘", "'", '"', "\\", "%", "_", "@", ".", "/", "<", ";", "-", "=", "a", "Z", "0",
]  # fmt: skip
SINGLE_CHARS = [c for c in TRICKY_CHARS if len(c) == 1]
LIMITS = [1, 2, 3, 4, 7, 8, 39, 40, 41, 63, 64, 65, 72, 73, 100, 101, 199, 200, 201, 254, 255, 500, 501, 1000, 5000]
ID_PREFIXES = ["mer", "cus", "key", "usr", "rtf", "pay", "MER", "mer_", "", "sk_test"]
CURRENCIES = ["", "USD", "usd", "EUR", "JPY", "KWD", "XXX", "US", "USDD", "ÜSD", "U\x00D", "BTC"]
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _repeat(chunk: str, length: int) -> str:
    return (chunk * (length // max(len(chunk), 1) + 1))[:length]


def plain_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        st.text(max_size=40),
        st.text(alphabet=st.sampled_from(SINGLE_CHARS), max_size=30),
        st.builds(_repeat, st.sampled_from(TRICKY_CHARS), st.sampled_from(LIMITS)),
        st.builds(_repeat, st.text(min_size=1, max_size=6), st.integers(1000, 5000)),
    )


def id_text(known: list[str]) -> st.SearchStrategy[str]:
    body = st.one_of(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=30),
        plain_text(),
    )
    options = [plain_text(), st.builds(lambda p, b: f"{p}_{b}", st.sampled_from(ID_PREFIXES), body)]
    if known:
        options.append(st.sampled_from(known))
    return st.one_of(*options)


def email_text() -> st.SearchStrategy[str]:
    valid = st.uuids().map(lambda u: f"fuzz-{u.hex[:12]}@example.test")
    local = st.text(alphabet=st.sampled_from(SINGLE_CHARS), min_size=1, max_size=20)
    return st.one_of(
        plain_text(),
        valid,
        valid.map(str.upper),
        st.builds(lambda a, b: f"{a}@{b}.test", local, local),
        st.builds(lambda n: _repeat("a", n) + "@example.test", st.sampled_from([240, 241, 242, 250])),
        st.sampled_from(["a@b.c", "@x.y", "x@y", "x@@y.z", "İ@x.io", "ß@ß.ß", " a@b.co ", "a@b.co\x00"]),
    )


def password_text() -> st.SearchStrategy[str]:
    return st.one_of(
        plain_text(),
        st.just(PASSWORD),
        st.text(min_size=8, max_size=72),
        st.sampled_from(["ä" * 36, "ä" * 37, "a" * 72, "a" * 73, "😀" * 18, "😀" * 19, "passwo\x00rd"]),
    )


def page_token_text() -> st.SearchStrategy[str]:
    payload = st.fixed_dictionaries(
        {},
        optional={
            "q": st.one_of(st.text(max_size=20), st.integers()),
            "t": st.one_of(st.integers(*INT64), st.floats(allow_nan=False), st.text(max_size=5), st.none()),
            "i": st.one_of(id_text([]), st.integers(), st.none()),
        },
    )
    as_token = payload.map(lambda p: base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("="))
    return st.one_of(plain_text(), as_token)


def text_for(field: FieldDescriptor, known: list[str]) -> st.SearchStrategy[str]:
    name = field.name
    if name.endswith("_id"):
        return id_text(known)
    if "email" in name:
        return email_text()
    if "password" in name:
        return password_text()
    if "currency" in name:
        return st.one_of(st.sampled_from(CURRENCIES), plain_text())
    if name == "page_token":
        return page_token_text()
    if name == "refresh_token":
        return st.one_of(plain_text(), plain_text().map(lambda s: "rt_" + s))
    return plain_text()


def _integers(field: FieldDescriptor) -> st.SearchStrategy[int]:
    t = FieldDescriptor
    if field.type in (t.TYPE_INT64, t.TYPE_SINT64, t.TYPE_SFIXED64):
        low, high = INT64
    elif field.type in (t.TYPE_UINT32, t.TYPE_FIXED32):
        low, high = 0, 2**32 - 1
    elif field.type in (t.TYPE_UINT64, t.TYPE_FIXED64):
        low, high = 0, 2**64 - 1
    else:
        low, high = INT32
    edges = [v for v in (low, high, -1, 0, 1, 499, 500, 501, 10_000, 10_001, 10**9, 10**9 + 1) if low <= v <= high]
    return st.one_of(st.integers(low, high), st.sampled_from(edges))


def _timestamps() -> st.SearchStrategy[Any]:
    from google.protobuf.timestamp_pb2 import Timestamp

    return st.builds(
        lambda s, n: Timestamp(seconds=s, nanos=n), st.integers(-62135596800, 253402300799), st.integers(0, 999_999_999)
    )


def value_strategy(field: FieldDescriptor, known: list[str], depth: int) -> st.SearchStrategy[Any]:
    """One value of a singular field (or of one element of a repeated one)."""
    t = FieldDescriptor
    if field.type == t.TYPE_MESSAGE:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return _timestamps()
        return message_strategy(field.message_type, known, depth + 1)
    if field.type == t.TYPE_STRING:
        return text_for(field, known)
    if field.type == t.TYPE_BYTES:
        return st.binary(max_size=200)
    if field.type == t.TYPE_BOOL:
        return st.booleans()
    if field.type == t.TYPE_ENUM:
        numbers = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(numbers), st.integers(-3, 1000))  # open enums accept unknown numbers
    if field.type in (t.TYPE_FLOAT, t.TYPE_DOUBLE):
        return st.floats(allow_nan=True, allow_infinity=True, width=32 if field.type == t.TYPE_FLOAT else 64)
    return _integers(field)


def _map_strategy(field: FieldDescriptor, known: list[str], depth: int) -> st.SearchStrategy[dict[Any, Any]]:
    key_field = field.message_type.fields_by_name["key"]
    value_field = field.message_type.fields_by_name["value"]
    keys, values = value_strategy(key_field, known, depth), value_strategy(value_field, known, depth)
    many = st.dictionaries(
        st.text(alphabet="abcdefghij", min_size=1, max_size=6), st.text(max_size=3), min_size=48, max_size=53
    )
    return st.one_of(st.dictionaries(keys, values, max_size=6), many)


def message_strategy(descriptor: Descriptor, known: list[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """A message of ``descriptor`` with each field independently set (to a random value) or not."""
    cls = message_class(descriptor)
    if depth > 3:
        return st.just(cls())
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if is_map(field):
            parts[field.name] = _map_strategy(field, known, depth)
        elif field.is_repeated:
            parts[field.name] = st.lists(value_strategy(field, known, depth), max_size=4)
        else:
            parts[field.name] = value_strategy(field, known, depth)

    def build(values: dict[str, Any]) -> Any:
        message = cls()
        for name, value in values.items():
            assign(message, descriptor.fields_by_name[name], value)
        return message

    # Every field may be left out: optional fields then stay unset, others at their zero value.
    return st.fixed_dictionaries({}, optional=parts).map(build)


# --- part 1: Hypothesis, per RPC, every caller --------------------------------------------------


@pytest.mark.parametrize("path", sorted(METHODS), ids=lambda p: p.rsplit("/", 1)[-1])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_requests_never_break_the_server(
    server: ServerHandle, random_world: World, path: str, data: Any
) -> None:
    """Each random request goes to the server anonymously, as an admin, and as one of the
    merchant's user, the merchant's API key or a customer account."""
    world = random_world
    method = METHODS[path]
    request = data.draw(message_strategy(method.input_type, world.known_ids), label="request")
    third = data.draw(st.sampled_from(["merchant_user", "merchant_api_key", "customer_user"]), label="caller")
    channel = _channel(server)
    problems = []
    for caller in ("anonymous", "admin", third):
        verdict = fuzzing.verdict(fuzzing.call(channel, path, METHODS[path], request, world.credentials[caller]))
        if verdict:
            problems.append(f"{caller}: {verdict}")
    assert not problems, f"{path} {_short(request)}\n" + "\n".join(problems)


_CHANNELS: dict[int, grpc.Channel] = {}


def _channel(server: ServerHandle) -> grpc.Channel:
    """One channel per server for the whole module (Hypothesis calls the test many times)."""
    key = id(server)
    if key not in _CHANNELS:
        _CHANNELS[key] = server.channel()
    return _CHANNELS[key]


# --- part 2: each hostile value in each string field of a plausible request ---------------------

HOSTILE: list[str] = [
    "",
    "\x00",
    "a\x00b",
    "\x01\x1f\x7f",
    "\r\n",
    "\u202e\u200b\ufeff",
    "' OR '1'='1' --",
    "%_%",
    "ß" * 200,  # 200 characters, 400 once case-folded
    "ﬃ" * 200,
    "İ" * 200,  # lower() and casefold() both grow it
    "a" * 41,
    "a" * 65,
    "a" * 101,
    "a" * 200,  # exactly at the limit: reaches the database
    "a" * 201,
    "é" * 72,  # 72 characters, 144 bytes
    "😀" * 5000,
    "mer_\x00",
    "mer_" + "ß" * 5000,
    "a" * 242 + "@example.test",  # 255 characters
    "a" * 241 + "@example.test",  # 254: the longest address, reaches the database
    "İ" * 120 + "@example.test",
    "x\x00@example.test",
    "usd",
]


def _plausible(path: str, own: dict[str, str]) -> Any:
    """A request a well-meaning client could send (acting on ``own`` objects), to mutate one
    field at a time."""
    method = METHODS[path]
    message = message_class(method.input_type)()
    for field in method.input_type.fields:
        if field.type != FieldDescriptor.TYPE_STRING or field.is_repeated:
            continue
        name = field.name
        if name in own:
            value = own[name]
        elif "email" in name:
            value = unique_email("sweep")
        elif "password" in name:
            value = PASSWORD
        elif "currency" in name:
            value = "USD"
        elif name in {"name", "full_name", "owner_full_name"}:
            value = unique("Sweep")
        else:
            continue
        setattr(message, name, value)
    return message


def _mutations(method: MethodDescriptor) -> list[tuple[str, Callable[[Any, str], None]]]:
    """(label, apply) for every string field and every string map of the request."""
    found: list[tuple[str, Callable[[Any, str], None]]] = []
    for field in method.input_type.fields:
        if is_map(field):

            def key_of(msg: Any, value: str, name: str = field.name) -> None:
                getattr(msg, name)[value] = "v"

            def value_of(msg: Any, value: str, name: str = field.name) -> None:
                getattr(msg, name)["k"] = value

            found += [(f"{field.name}[key]", key_of), (f"{field.name}[value]", value_of)]
        elif field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:

            def set_it(msg: Any, value: str, name: str = field.name) -> None:
                setattr(msg, name, value)

            found.append((field.name, set_it))
    return found


_PRINCIPALS = {
    "merchant_user": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.MERCHANT),
    "admin": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.ADMIN),
    "customer_user": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.CUSTOMER),
}


def _callers_for(path: str) -> list[str]:
    """Callers the table lets through (the others never reach the code under test)."""
    policy = POLICIES[path]
    if policy.public:
        return ["anonymous"]
    return [
        caller
        for caller, principal in _PRINCIPALS.items()
        if (principal.is_admin or not policy.admin_only)
        and (policy.permission is None or principal.can(policy.permission))
    ]


def _hostile_values(label: str, plausible_value: str) -> list[str]:
    """HOSTILE, plus (for id fields) hostile tails behind the right prefix, which pass the
    prefix check and so reach the deeper checks and the database."""
    values = list(HOSTILE)
    if label.endswith("_id") and "_" in plausible_value:
        prefix = plausible_value.split("_", 1)[0]
        tails = ["\x00", "A" * 22 + "\x00", "A\x1fB", "A" * 35, "A" * 36, "A" * 60, "A" * 61, "é", "ß" * 5000]
        values += [f"{prefix}_{tail}" for tail in tails]
    return values


@pytest.mark.parametrize("path", sorted(METHODS), ids=lambda p: p.rsplit("/", 1)[-1])
def test_hostile_values_in_each_field(server: ServerHandle, sweep_world: World, path: str) -> None:
    world = sweep_world
    method = METHODS[path]
    channel = _channel(server)
    problems: list[str] = []
    for caller in _callers_for(path):
        credential = world.credentials[caller]
        own = dict(world.own_ids[caller])
        if "customer_id" in method.input_type.fields_by_name and caller in world.object_keys:
            # A customer of its own for each test: an earlier DeleteCustomer must not leave the
            # later sweeps stuck at NOT_FOUND in front of the code they are meant to reach.
            own["customer_id"] = create_customer(server.stubs(), world.object_keys[caller], name="fresh").id
        base = _plausible(path, own)
        verdict = fuzzing.verdict(fuzzing.call(channel, path, METHODS[path], base, credential))
        if verdict:
            problems.append(f"{caller} plausible {_short(base)}: {verdict}")
        for label, apply in _mutations(method):
            plausible_value = getattr(base, label, "") if label in method.input_type.fields_by_name else ""
            for hostile in _hostile_values(label, str(plausible_value)):
                request = _plausible(path, own)
                if "replace_metadata" in method.input_type.fields_by_name:
                    request.replace_metadata = True
                apply(request, hostile)
                verdict = fuzzing.verdict(fuzzing.call(channel, path, METHODS[path], request, credential))
                if verdict:
                    shown = f"{hostile[:40]!r}{'…' if len(hostile) > 40 else ''}"
                    problems.append(f"{caller} {label}={shown}: {verdict}")
    assert not problems, f"{path}: {len(problems)} bad answers\n" + "\n".join(problems[:40])


# --- part 3: page tokens taken apart and put back together --------------------------------------


def _b64(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


TAMPERED_CURSORS: list[dict[str, Any]] = [
    {"i": "\x00"},
    {"i": "cus_\x00"},
    {"i": "ß" * 5000},
    {"i": 12345},
    {"i": None},
    {"t": 2**70},
    {"t": -(2**70)},
    {"t": -62135596800 * 1_000_000 - 1},  # just before year 1
    {"t": 253402300800 * 1_000_000},  # just after year 9999
    {"t": 1e308},
    {"t": "yesterday"},
    {"t": True},
    {"q": None},
]


@pytest.mark.parametrize("rpc", ["ListCustomers", "ListApiKeys", "ListMerchants"])
def test_tampered_page_tokens_are_refused_cleanly(server: ServerHandle, admin_token: str, rpc: str) -> None:
    """A client can decode an opaque token and edit the cursor inside; the server must answer
    INVALID_ARGUMENT or a page, never fail on it."""
    stubs = server.stubs()
    merchant = register_merchant(stubs)
    if rpc == "ListCustomers":
        credential = merchant.api_key
        for name in ("first", "second"):
            create_customer(stubs, credential, name=name)
        path, service, request_cls = "/paysim.v1.CustomerService/ListCustomers", "customers", customer_pb2
        request_name = "ListCustomersRequest"
    elif rpc == "ListApiKeys":
        credential = merchant.access_token
        _spare_key(stubs, credential)
        path, service, request_cls = "/paysim.v1.MerchantService/ListApiKeys", "merchants", merchant_pb2
        request_name = "ListApiKeysRequest"
    else:
        credential = admin_token
        path, service, request_cls = "/paysim.v1.MerchantService/ListMerchants", "merchants", merchant_pb2
        request_name = "ListMerchantsRequest"
    make = getattr(request_cls, request_name)
    first = getattr(getattr(stubs.as_(credential), service), rpc)(make(page_size=1))
    assert first.next_page_token, "need a second page to have a token to tamper with"
    original = json.loads(base64.urlsafe_b64decode(first.next_page_token + "=" * (-len(first.next_page_token) % 4)))
    problems = []
    for change in TAMPERED_CURSORS:
        token = _b64({**original, **change})
        verdict = fuzzing.verdict(
            fuzzing.call(_channel(server), path, METHODS[path], make(page_size=1, page_token=token), credential)
        )
        if verdict:
            problems.append(f"{change!r:.60}: {verdict}")
    assert not problems, "\n".join(problems)
