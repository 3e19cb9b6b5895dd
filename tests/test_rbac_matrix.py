"""Deny by default, and every role × every RPC against the access policy the contract declares.

The RPCs come from the service descriptors, never from a list typed here: an RPC added to a
proto without a policy cannot be built (tests/unit/test_contract.py), and the matrix picks it up
with no edit. The expected outcome of each cell is derived from ``paysim.app.policy.POLICIES``
(read from the ``(paysim.v1.access)`` options) and ``Principal.can`` (which knows what API keys may
not do).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import paysim_proto.v1
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from paysim_proto.v1 import merchant_pb2

from paysim.app import policy as policy_module
from paysim.app.policy import POLICIES, Policy
from paysim.app.reflection import V1_SERVICE as V1_REFLECTION
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from tests.support.client import RichError, Stubs, rich_error
from tests.support.factories import create_customer, register_customer_user, register_merchant, unique
from tests.support.harness import ServerHandle

DOMAIN = "paysim.v1"


# --- what the server exposes, from the descriptors ---------------------------------------------


def _paysim_services() -> list[ServiceDescriptor]:
    """Every service of every generated module of the paysim.v1 contract."""
    services: list[ServiceDescriptor] = []
    for info in pkgutil.iter_modules(paysim_proto.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"paysim_proto.v1.{info.name}")
        services.extend(module.DESCRIPTOR.services_by_name.values())
    return sorted(services, key=lambda s: s.full_name)


PAYSIM_SERVICES = _paysim_services()
IDENTITY_SERVICES = {"paysim.v1.AuthService", "paysim.v1.MerchantService", "paysim.v1.CustomerService"}
INFRA_SERVICES = [
    health_pb2.DESCRIPTOR.services_by_name["Health"],
    reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
    V1_REFLECTION,
]


def _path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


PAYSIM_METHODS: dict[str, MethodDescriptor] = {_path(m): m for s in PAYSIM_SERVICES for m in s.methods}
INFRA_METHODS: dict[str, MethodDescriptor] = {_path(m): m for s in INFRA_SERVICES for m in s.methods}
ALL_METHODS = {**PAYSIM_METHODS, **INFRA_METHODS}


def _served_services(server: ServerHandle) -> set[str]:
    """What the running server announces through reflection."""
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel())
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    replies = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    return {s.name for s in replies[0].list_services_response.service}


@pytest.fixture(scope="module")
def served(server: ServerHandle) -> set[str]:
    return _served_services(server)


def _guarded(served: set[str]) -> dict[str, MethodDescriptor]:
    """The RPCs that must have a policy: the identity services and whatever else is served.

    A service that is in the contract but not served yet (work in progress) answers
    UNIMPLEMENTED and needs no policy until the server registers it."""
    return {
        path: m
        for path, m in ALL_METHODS.items()
        if m.containing_service.full_name in served | IDENTITY_SERVICES | {s.full_name for s in INFRA_SERVICES}
    }


def test_the_contract_is_walked() -> None:
    names = {s.full_name for s in PAYSIM_SERVICES}
    assert names >= IDENTITY_SERVICES
    assert len([p for p in PAYSIM_METHODS if p.split("/")[1] in IDENTITY_SERVICES]) >= 20


def test_every_served_service_is_walked(served: set[str]) -> None:
    """Nothing the server announces escapes this module's walk (and so the policy guard)."""
    walked = {s.full_name for s in (*PAYSIM_SERVICES, *INFRA_SERVICES)}
    assert served <= walked, f"served but not in the walked contract: {sorted(served - walked)}"
    assert served >= IDENTITY_SERVICES | {s.full_name for s in INFRA_SERVICES}


def test_every_rpc_has_a_policy(served: set[str]) -> None:
    """Deny by default is only safe if nothing is forgotten: every RPC names its policy."""
    missing = sorted(set(_guarded(served)) - set(POLICIES))
    assert not missing, f"RPCs without an access policy in paysim.app.policy.POLICIES: {missing}"


def test_the_policy_table_has_no_stale_entries() -> None:
    stale = sorted(set(POLICIES) - set(ALL_METHODS))
    assert not stale, f"policies for RPCs that no longer exist: {stale}"


def test_an_rpc_without_a_policy_is_refused(
    server: ServerHandle, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deny by default at run time: even an admin cannot call an RPC whose policy is missing."""
    path = "/paysim.v1.AuthService/GetCurrentUser"
    monkeypatch.delitem(policy_module.POLICIES, path)
    outcome = _invoke(server.channel(), ALL_METHODS[path], admin_token)
    assert outcome is not None
    assert (outcome.code, outcome.reason, outcome.domain) == (grpc.StatusCode.PERMISSION_DENIED, "NO_POLICY", DOMAIN)


# --- roles and what the table says they may do -------------------------------------------------

ROLE_PRINCIPALS: dict[str, Principal | None] = {
    "anonymous": None,
    "customer_user": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.CUSTOMER),
    "merchant_user": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.MERCHANT),
    "merchant_api_key": Principal(kind=CredentialKind.API_KEY, role=Role.MERCHANT),
    "admin": Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.ADMIN),
}


def may_call(principal: Principal | None, policy: Policy) -> bool:
    """The table's verdict for one caller: public, else authenticated, admin-only, permission."""
    if policy.public:
        return True
    if principal is None:
        return False
    if policy.admin_only and not principal.is_admin:
        return False
    return policy.permission is None or principal.can(policy.permission)


def test_derived_expectations_are_sane() -> None:
    """Guard the derivation itself against a change that would make the matrix vacuous."""
    for path, policy in POLICIES.items():
        verdict = {role: may_call(p, policy) for role, p in ROLE_PRINCIPALS.items()}
        assert verdict["admin"], f"admins may call everything, but not {path}"
        assert verdict["anonymous"] == policy.public
        if verdict["merchant_api_key"]:
            assert verdict["merchant_user"], f"an API key may do more than its merchant's user on {path}"
    denied = {role for role, p in ROLE_PRINCIPALS.items() for pol in POLICIES.values() if not may_call(p, pol)}
    assert denied == {"anonymous", "customer_user", "merchant_user", "merchant_api_key"}


@dataclass
class Callers:
    credentials: dict[str, str | None]
    # Per role, ids of objects the caller may act on ("own ids" requests).
    own_ids: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def callers(server: ServerHandle, admin_token: str) -> Callers:
    stubs = server.stubs()
    merchant = register_merchant(stubs)
    customer = register_customer_user(stubs)
    target = register_merchant(stubs)  # what the admin acts on
    admin_ids = {
        "merchant_id": target.merchant_id,
        "gateway": "simulator",
        "customer_id": create_customer(stubs, target.api_key, name="target's").id,
        "api_key_id": _spare_key(stubs, target.access_token),
    }
    merchant_ids = {
        "merchant_id": merchant.merchant_id,
        "gateway": "simulator",
        "customer_id": create_customer(stubs, merchant.api_key, name="own").id,
        "api_key_id": _spare_key(stubs, merchant.access_token),
    }
    linked = create_customer(stubs, target.api_key, email=customer.email)
    assert linked.user_id == customer.user_id
    return Callers(
        credentials={
            "anonymous": None,
            "customer_user": customer.access_token,
            "merchant_user": merchant.access_token,
            "merchant_api_key": merchant.api_key,
            "admin": admin_token,
        },
        own_ids={
            "anonymous": {},
            "customer_user": {"customer_id": linked.id},
            "merchant_user": merchant_ids,
            "merchant_api_key": merchant_ids,
            "admin": admin_ids,
        },
    )


def _spare_key(stubs: Stubs, token: str) -> str:
    reply = stubs.as_(token).merchants.CreateApiKey(merchant_pb2.CreateApiKeyRequest(name=unique("spare")))
    key_id: str = reply.api_key.id
    return key_id


# --- calling any method generically ------------------------------------------------------------


def _message_class(descriptor: Any) -> Any:
    return message_factory.GetMessageClass(descriptor)


def _invoke(
    channel: grpc.Channel, method: MethodDescriptor, credential: str | None, ids: dict[str, str] | None = None
) -> RichError | None:
    """Call ``method`` with a default request whose id fields named in ``ids`` are filled in;
    None on success, else the decoded error."""
    request_cls, response_cls = _message_class(method.input_type), _message_class(method.output_type)
    fields = {f.name: ids[f.name] for f in method.input_type.fields if ids and f.name in ids}
    path = _path(method)
    metadata = [] if credential is None else [("authorization", f"Bearer {credential}")]
    kw: dict[str, Any] = {"request_serializer": request_cls.SerializeToString}
    kw["response_deserializer"] = response_cls.FromString
    try:
        if not method.client_streaming and not method.server_streaming:
            channel.unary_unary(path, **kw)(request_cls(**fields), metadata=metadata, timeout=30)
        elif not method.client_streaming:
            # Server streaming (health Watch): the first message is the answer; then hang up.
            stream = channel.unary_stream(path, **kw)(request_cls(**fields), metadata=metadata, timeout=30)
            next(iter(stream))
            stream.cancel()
        elif method.server_streaming:
            stream = channel.stream_stream(path, **kw)(iter([request_cls(**fields)]), metadata=metadata, timeout=30)
            list(stream)
        else:
            channel.stream_unary(path, **kw)(iter([request_cls(**fields)]), metadata=metadata, timeout=30)
    except grpc.RpcError as error:
        return rich_error(error)
    return None


def _cells() -> Iterator[Any]:
    for path in sorted(ALL_METHODS):
        for role in ROLE_PRINCIPALS:
            for request in ("default", "own_ids"):
                yield pytest.param(role, path, request, id=f"{role}-{path.strip('/').replace('/', '.')}-{request}")


NEVER_WHEN_ALLOWED = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
}


@pytest.mark.parametrize(("role", "path", "request_kind"), list(_cells()))
def test_role_rpc_matrix(
    server: ServerHandle, served: set[str], callers: Callers, role: str, path: str, request_kind: str
) -> None:
    """One cell: ``role`` calls ``path`` with a default request ("default") or one whose id fields
    point at objects the caller may act on ("own_ids")."""
    if path not in _guarded(served):
        pytest.skip(f"{path.split('/')[1]} is in the contract but this server does not serve it yet")
    policy = POLICIES.get(path)
    assert policy is not None, f"{path} has no policy"
    allowed = may_call(ROLE_PRINCIPALS[role], policy)
    ids = callers.own_ids[role] if request_kind == "own_ids" else None
    outcome = _invoke(server.channel(), ALL_METHODS[path], callers.credentials[role], ids)
    if allowed:
        if outcome is not None:
            assert outcome.code not in NEVER_WHEN_ALLOWED, (outcome.code, outcome.reason, outcome.message)
            assert outcome.domain == DOMAIN, outcome
        return
    assert outcome is not None, f"{role} may not call {path}, but the call succeeded"
    assert outcome.domain == DOMAIN
    assert outcome.request_id
    if ROLE_PRINCIPALS[role] is None:
        assert (outcome.code, outcome.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_MISSING")
    else:
        assert outcome.code == grpc.StatusCode.PERMISSION_DENIED, (outcome.code, outcome.reason, outcome.message)
        assert outcome.reason in {"ADMIN_ONLY", "PERMISSION_MISSING"}, outcome.reason


def test_health_list_reports_every_service_without_credentials(server: ServerHandle, served: set[str]) -> None:
    """grpc.health.v1 Health/List is public like Check and Watch, and answers rather than failing."""
    reply = health_pb2_grpc.HealthStub(server.channel()).List(health_pb2.HealthListRequest(), timeout=10)
    assert {"", *(s for s in served if s.startswith("paysim."))} <= set(reply.statuses)
    assert all(s.status != health_pb2.HealthCheckResponse.UNKNOWN for s in reply.statuses.values())
