"""Who may call what, read from the contract when this module is imported.

Every RPC of paysim.v1 declares its access policy with the ``(paysim.v1.access)`` method option
and its idempotency classification (proto/paysim/v1/options.proto); an RPC without them makes the
import fail, so the server refuses to start. The foreign infrastructure services the server
serves (health, reflection) get theirs by a rule on their package. Deny by default still holds at
run time: a method missing from ``POLICIES`` is refused.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import paysim_proto.v1
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions
from grpc_health.v1 import health_pb2
from paysim_proto.v1 import options_pb2

from paysim.app.reflection import V1_SERVICE, V1ALPHA_SERVICE
from paysim.domain.roles import Permission

CONTRACT_PACKAGE = "paysim.v1"


class ContractError(RuntimeError):
    """An RPC of the contract breaks a rule of options.proto."""


@dataclass(frozen=True, slots=True)
class Policy:
    """``permission`` None with ``public`` False means: any authenticated caller."""

    public: bool = False
    permission: Permission | None = None
    admin_only: bool = False
    # Reaches only its own merchant's objects unless an admin (see options.proto).
    tenant_scoped: bool = False
    rate_limited: bool = True
    reads_credentials: bool = True


# Probes and tooling: never throttled, or a busy client could get its own health checks refused,
# and blind to credentials, so a tool that sends its bearer header on every call (grpcurl does,
# on reflection too) is never refused there for an expired token.
INFRASTRUCTURE = Policy(public=True, rate_limited=False, reads_credentials=False)
INFRASTRUCTURE_PACKAGES = ("grpc.health.", "grpc.reflection.")


def method_path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _permission(value: int) -> Permission:
    name = options_pb2.Permission.Name(value)  # type: ignore[arg-type]
    return Permission[name.removeprefix("PERMISSION_")]


def policy_from_options(name: str, options: MethodOptions) -> Policy:
    """The policy an RPC's options declare; ContractError when they break the rules."""
    if not options.HasExtension(options_pb2.access):
        raise ContractError(f"{name} has no access policy: add option (paysim.v1.access)")
    keyed = options.Extensions[options_pb2.deduplicated_by_idempotency_key]
    if not keyed and not options.HasField("idempotency_level"):
        raise ContractError(f"{name} has no idempotency classification (idempotency_level or a keyed option)")
    access = options.Extensions[options_pb2.access]
    caller = access.WhichOneof("caller")
    if caller is None:
        raise ContractError(f"{name}: its access policy names no caller")
    if caller == "permission" and access.permission == options_pb2.PERMISSION_UNSPECIFIED:
        raise ContractError(f"{name}: its access policy's permission is PERMISSION_UNSPECIFIED")
    if access.ignores_credentials and caller != "public":
        raise ContractError(f"{name}: only a public RPC may ignore credentials")
    if access.tenant_scoped and caller in ("public", "admin_only"):
        raise ContractError(f"{name}: a {caller} RPC is not tenant_scoped")
    return Policy(
        public=caller == "public",
        permission=_permission(access.permission) if caller == "permission" else None,
        admin_only=caller == "admin_only",
        tenant_scoped=access.tenant_scoped,
        rate_limited=not access.rate_limit_exempt,
        reads_credentials=not access.ignores_credentials,
    )


def infrastructure_policy(service: ServiceDescriptor) -> Policy | None:
    """The rule for services that are not paysim's: infrastructure by package, or nothing."""
    return INFRASTRUCTURE if service.full_name.startswith(INFRASTRUCTURE_PACKAGES) else None


def contract_services() -> Iterator[ServiceDescriptor]:
    """Every service of every generated module of the paysim.v1 contract."""
    for info in pkgutil.iter_modules(paysim_proto.v1.__path__):
        if info.name.endswith("_pb2"):
            module: Any = importlib.import_module(f"{paysim_proto.v1.__name__}.{info.name}")
            if module.DESCRIPTOR.package == CONTRACT_PACKAGE:
                yield from module.DESCRIPTOR.services_by_name.values()


def derive_policies(contract: Iterable[ServiceDescriptor], foreign: Iterable[ServiceDescriptor]) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    problems: list[str] = []
    for service in contract:
        for method in service.methods:
            try:
                policies[method_path(method)] = policy_from_options(method.full_name, method.GetOptions())
            except ContractError as error:
                problems.append(str(error))
    for service in foreign:
        policy = infrastructure_policy(service)
        if policy is None:
            problems.append(f"{service.full_name} is neither paysim's nor infrastructure: it has no policy")
            continue
        policies.update((method_path(method), policy) for method in service.methods)
    if problems:
        raise ContractError("the contract's access policies break the rules of options.proto: " + "; ".join(problems))
    return policies


# The infrastructure services the server serves beside the contract's.
FOREIGN_SERVICES = (
    health_pb2.DESCRIPTOR.services_by_name["Health"],
    V1_SERVICE,
    V1ALPHA_SERVICE,
)
POLICIES: dict[str, Policy] = derive_policies(contract_services(), FOREIGN_SERVICES)


def policy_for(method: str) -> Policy | None:
    return POLICIES.get(method)
