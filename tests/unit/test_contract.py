"""The contract is the one source of per-RPC facts and of the error reasons.

The server's access policy and the client's RPC table and exception classes are derived from the
options in proto/paysim/v1 (options.proto, error_reason.proto); these tests hold the derivations
to the contract, and the server's raise sites to the ``ErrorReason`` enum.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.rpc import code_pb2
from paysim_client import errors
from paysim_client._generated import reasons, rpcs
from paysim_client._rpc import Safety
from paysim_proto.v1 import error_reason_pb2, options_pb2

from paysim.app import policy as policy_module
from paysim.app.policy import POLICIES, ContractError, contract_services, method_path, policy_from_options
from paysim.domain.roles import Permission
from tests.support.reason_scan import Site, scan

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "ERROR_REASON_"
# Constructions whose reason is not written there, with why that is safe.
DYNAMIC_REASON_SITES = {
    # An idempotent replay re-raises the stored refusal of the first request, whose reason was
    # produced (and checked here) at its own raise site.
    ("paysim.services.idempotency", "refuse_or_replay"),
}


def _contract_reasons() -> dict[str, str]:
    """Wire reason -> status code name, from the enum and its options."""
    return {
        value.name.removeprefix(PREFIX): code_pb2.Code.Name(value.GetOptions().Extensions[options_pb2.status_code])
        for value in error_reason_pb2.ErrorReason.DESCRIPTOR.values
        if value.number != 0
    }


CONTRACT_REASONS = _contract_reasons()


# --- error reasons: server ⊆ enum ⊆ server, and the client maps them all --------------------------


@pytest.fixture(scope="module")
def raised() -> list[tuple[str, str, Site]]:
    result = scan()
    unresolved = [s for s in result.unresolved if (s.module, s.function) not in DYNAMIC_REASON_SITES]
    assert not unresolved, f"error reasons the scan cannot follow back to literals: {[str(s) for s in unresolved]}"
    assert len(result.raised) > 80, "the scan found too few raise sites to be trusted"
    return [(r.reason, r.code, r.site) for r in result.raised]


def test_every_reason_the_server_raises_is_in_the_enum(raised: list[tuple[str, str, Site]]) -> None:
    missing = sorted({f"{reason} ({site})" for reason, _, site in raised if reason not in CONTRACT_REASONS})
    assert not missing, f"add these to ErrorReason in proto/paysim/v1/error_reason.proto: {missing}"


def test_every_reason_is_raised_with_the_code_the_enum_names(raised: list[tuple[str, str, Site]]) -> None:
    wrong = sorted(
        f"{reason} as {code} at {site}, the enum says {CONTRACT_REASONS[reason]}"
        for reason, code, site in raised
        if reason in CONTRACT_REASONS and CONTRACT_REASONS[reason] != code
    )
    assert not wrong


def test_every_reason_of_the_enum_is_raised_by_the_server(raised: list[tuple[str, str, Site]]) -> None:
    stale = sorted(set(CONTRACT_REASONS) - {reason for reason, _, _ in raised})
    assert not stale, f"ErrorReason values the server never raises: {stale}"


def test_the_scan_follows_reasons_through_parameters_and_constants(raised: list[tuple[str, str, Site]]) -> None:
    """Guards the scan: reasons passed through a helper's parameter, a module constant, a
    conditional, and NotFound's kind, all arrive."""
    reasons_found = {reason for reason, _, _ in raised}
    assert {"PAYMENT_NOT_CAPTURABLE", "THREE_DS_CHALLENGE_EXPIRED"} <= reasons_found  # parameters
    assert {"CONCURRENT_MODIFICATION", "TRANSACTION_CONFLICT"} <= reasons_found  # constants
    assert {"CIRCUIT_OPEN", "GATEWAY_UNAVAILABLE"} <= reasons_found  # a conditional
    assert {"WEBHOOK_DELIVERY_NOT_FOUND", "API_KEY_NOT_FOUND"} <= reasons_found  # NotFound(kind) via a helper
    assert "INVALID_ARGUMENT" in reasons_found  # a class default


def test_the_scan_reports_a_reason_it_cannot_follow(tmp_path: Path) -> None:
    package = tmp_path / "paysim"
    (package / "domain").mkdir(parents=True)
    shutil.copy(ROOT / "server" / "paysim" / "domain" / "errors.py", package / "domain" / "errors.py")
    (package / "use.py").write_text(
        "from paysim.domain.errors import Aborted\n\n"
        "def refuse(why: str) -> Aborted:\n"
        "    return Aborted('no', reason=why.upper())\n"
    )
    result = scan(package, server_root=tmp_path)
    assert [(s.module, s.function) for s in result.unresolved] == [("paysim.use", "refuse")]


def test_the_client_has_the_class_of_every_reason() -> None:
    for reason, code_name in CONTRACT_REASONS.items():
        code = grpc.StatusCode[code_name]
        cls = errors.error_class(code, reason)
        assert cls.grpc_code is code, reason
        if reason == code_name:  # the generic reason of a code is that code's class
            assert not cls.REASON and cls.__name__.upper() == reason.replace("_", ""), reason
        else:
            assert reason == cls.REASON and cls.__doc__, reason
            assert getattr(errors, cls.__name__) is cls and cls.__name__ in errors.__all__
    assert set(reasons.BY_REASON) == set(CONTRACT_REASONS)


def test_a_reason_class_is_only_used_with_its_code() -> None:
    assert errors.error_class(grpc.StatusCode.NOT_FOUND, "PAYMENT_NOT_FOUND") is errors.PaymentNotFound
    assert errors.error_class(grpc.StatusCode.ABORTED, "PAYMENT_NOT_FOUND") is errors.Aborted
    assert errors.error_class(grpc.StatusCode.ABORTED, "A_REASON_OF_A_LATER_RELEASE") is errors.Aborted


def test_classes_the_sdk_had_keep_their_names_and_bases() -> None:
    assert issubclass(errors.ThreeDSChallengeExpired, errors.FailedPrecondition)
    assert issubclass(errors.PaymentNotCapturable, errors.PaymentStateError)
    assert issubclass(errors.CircuitOpen, errors.GatewayUnavailable)
    assert errors.CircuitOpen.__module__ == "paysim_client.errors"
    error = errors.AmountExceedsRefundable("x", metadata={"refundable_amount_minor": "250"})
    assert error.refundable_amount_minor == 250
    assert errors.SubscriberTooSlow("x", metadata={"last_seq": "9"}).last_seq == 9


# --- access policies ----------------------------------------------------------------------------


def test_the_contracts_permissions_are_the_servers() -> None:
    names = {v.name.removeprefix("PERMISSION_") for v in options_pb2.Permission.DESCRIPTOR.values if v.number}
    assert names == {p.name for p in Permission}


def test_every_rpc_of_the_contract_has_a_policy_and_nothing_else_does() -> None:
    paths = {method_path(m) for s in contract_services() for m in s.methods}
    assert len(paths) >= 52
    assert paths <= set(POLICIES)
    foreign = set(POLICIES) - paths
    assert foreign and all(p.startswith(("/grpc.health.", "/grpc.reflection.")) for p in foreign)
    assert all(POLICIES[p] is policy_module.INFRASTRUCTURE for p in foreign)


def test_tenant_scoped_means_a_merchants_objects_by_id() -> None:
    """An RPC that names a merchant's object (any ``…_id`` field) is subject to tenant isolation,
    unless it is public or for admins only; nothing else is."""
    for service in contract_services():
        for method in service.methods:
            policy = POLICIES[method_path(method)]
            names_an_object = any(f.name.endswith("_id") for f in method.input_type.fields)
            expected = names_an_object and not policy.public and not policy.admin_only
            assert policy.tenant_scoped == expected, method.full_name


def _options(
    access: str | None, level: str | None = "NO_SIDE_EFFECTS", keyed: bool = False
) -> descriptor_pb2.MethodOptions:
    options = descriptor_pb2.MethodOptions()
    if access is not None:
        text = access
        policy = options.Extensions[options_pb2.access]
        if text == "public":
            policy.public = True
        elif text == "authenticated":
            policy.authenticated = True
        elif text == "unspecified":
            policy.permission = options_pb2.PERMISSION_UNSPECIFIED
        elif text == "none":
            policy.tenant_scoped = True
        else:
            policy.permission = options_pb2.Permission.Value(text)
    if level is not None:
        options.idempotency_level = descriptor_pb2.MethodOptions.IdempotencyLevel.Value(level)
    if keyed:
        options.Extensions[options_pb2.deduplicated_by_idempotency_key] = True
    return options


def test_policies_come_from_the_options() -> None:
    public = policy_from_options("x", _options("public"))
    assert public.public and public.permission is None and public.rate_limited and public.reads_credentials
    read = policy_from_options("x", _options("PERMISSION_PAYMENT_READ", keyed=True, level=None))
    assert read.permission is Permission.PAYMENT_READ and not read.public
    anyone = policy_from_options("x", _options("authenticated", level="IDEMPOTENCY_UNKNOWN"))
    assert anyone == policy_module.Policy()


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        (_options(None), "no access policy"),
        (_options("none"), "names no caller"),
        (_options("unspecified"), "PERMISSION_UNSPECIFIED"),
        (_options("public", level=None), "no idempotency classification"),
    ],
    ids=["no access", "no caller", "no permission", "no classification"],
)
def test_an_rpc_that_breaks_the_rules_is_refused(options: descriptor_pb2.MethodOptions, complaint: str) -> None:
    with pytest.raises(ContractError, match=complaint):
        policy_from_options("paysim.v1.X.Y", options)


def test_the_server_refuses_a_contract_with_an_rpc_without_options() -> None:
    """What importing paysim.app.policy does with the real contract: one RPC without its options
    and the import (so the server's start) fails, naming it."""
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.DescriptorPool()
    file = descriptor_pb2.FileDescriptorProto(name="paysim/v1/late.proto", package="paysim.v1", syntax="proto3")
    file.message_type.add(name="LateRequest")
    file.service.add(name="LateService").method.add(
        name="Late", input_type=".paysim.v1.LateRequest", output_type=".paysim.v1.LateRequest"
    )
    pool.Add(file)
    service = pool.FindServiceByName("paysim.v1.LateService")
    with pytest.raises(ContractError, match=r"paysim\.v1\.LateService\.Late has no access policy"):
        policy_module.derive_policies([service], policy_module.FOREIGN_SERVICES)


def test_a_foreign_service_without_a_rule_is_refused() -> None:
    from paysim_proto.v1 import payment_pb2

    foreign = payment_pb2.DESCRIPTOR.services_by_name["PaymentService"]
    with pytest.raises(ContractError, match="neither paysim's nor infrastructure"):
        policy_module.derive_policies([], [foreign])


# --- the client's RPC table ---------------------------------------------------------------------

SAFETY_BY_LEVEL = {
    descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS: Safety.READ,
    descriptor_pb2.MethodOptions.IDEMPOTENT: Safety.IDEMPOTENT,
    descriptor_pb2.MethodOptions.IDEMPOTENCY_UNKNOWN: Safety.UNSAFE,
}


def test_the_client_table_says_what_the_options_say() -> None:
    by_path = {rpc.path: rpc for rpc in rpcs.ALL}
    for service in contract_services():
        for method in service.methods:
            rpc = by_path[method_path(method)]
            options = method.GetOptions()
            keyed = options.Extensions[options_pb2.deduplicated_by_idempotency_key]
            assert rpc.safety is (Safety.KEYED if keyed else SAFETY_BY_LEVEL[options.idempotency_level])
            assert rpc.anonymous == POLICIES[rpc.path].public
            assert rpc.streaming == method.server_streaming
            assert rpc.request.DESCRIPTOR is method.input_type and rpc.response.DESCRIPTOR is method.output_type


# --- the generator refuses a contract that breaks the rules -------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "proto" / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("remove", "complaint"),
    [
        ("    option (paysim.v1.access) = {\n      permission: PERMISSION_PAYMENT_READ\n", "has no access policy"),
        ("    option idempotency_level = NO_SIDE_EFFECTS;\n", "has no idempotency classification"),
    ],
    ids=["access", "idempotency"],
)
def test_the_generator_refuses_an_rpc_without_its_options(tmp_path: Path, remove: str, complaint: str) -> None:
    generator = _generator()
    proto = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", proto, ignore=shutil.ignore_patterns("releases"))
    payment = proto / "paysim" / "v1" / "payment.proto"
    text = payment.read_text()
    start = text.index("rpc GetPayment(")
    block_end = text.index("  }\n", start)
    block = text[start:block_end]
    assert remove in block
    if "access" in remove:  # the whole option, up to its closing brace
        option_end = block.index("};\n", block.index(remove)) + 3
        block = block[: block.index(remove)] + block[option_end:]
    else:
        block = block.replace(remove, "")
    payment.write_text(text[:start] + block + text[block_end:])
    with pytest.raises(generator.ContractError, match=f"GetPayment {complaint}"):
        generator.generate(proto, tmp_path / "v1", tmp_path / "_generated")
    assert not (tmp_path / "_generated").exists()


# --- closed sets of the payment are enums on the wire -------------------------------------------


def test_the_wire_enums_name_every_word_the_domain_uses() -> None:
    from paysim_proto.v1 import payment_pb2

    from paysim.contract import payment_messages
    from paysim.gateways.base import Outcome
    from paysim.services.routing import SKIPPED

    assert set(payment_messages.OUTCOME_TO_PROTO) == {o.value for o in Outcome} | {SKIPPED}
    for mapping, enum in (
        (payment_messages.OUTCOME_TO_PROTO, payment_pb2.GatewayOutcome),
        (payment_messages.OPERATION_TO_PROTO, payment_pb2.GatewayOperation),
        (payment_messages.REFUND_STATUS_TO_PROTO, payment_pb2.RefundStatus),
    ):
        assert sorted(mapping.values()) == [v for v in enum.values() if v], enum
        for word, value in mapping.items():
            assert enum.Name(value).endswith("_" + word.upper()), (word, enum.Name(value))


def test_every_event_type_has_its_data_message() -> None:
    from paysim_proto.v1 import payment_pb2

    from paysim.contract import event_messages
    from paysim.domain.payment_events import EventType

    oneof = payment_pb2.PaymentEvent.DESCRIPTOR.oneofs_by_name["data"]
    assert {event_messages.data_field(t) for t in EventType} == {f.name for f in oneof.fields}
    for field in oneof.fields:
        kind = field.name.replace("_", ".", 1)
        assert field.message_type.name.lower() == kind.replace(".", "").replace("_", ""), field.name
