"""Regenerate everything derived from the contract in proto/.

    python proto/scripts/gen_protos.py           # regenerate
    python proto/scripts/gen_protos.py --check   # exit 1 if anything is stale

Three outputs, each rewritten whole, never edited by hand:

- ``proto/google/…``: the few googleapis files the contract imports (``VENDORED``), copied from
  the installed googleapis-common-protos, whose ``*_pb2`` modules the generated code imports.
- ``proto/python/src/paysim_proto/v1`` (the paysim-proto distribution, which the server and the
  client both depend on): protoc's messages, gRPC stubs and type stubs. protoc writes them under
  ``paysim/v1`` with absolute ``paysim.v1`` imports; they are moved into ``paysim_proto`` and those
  imports rewritten.
- ``clients/python/src/paysim_client/_generated``: what the client derives from the contract's options
  (``proto/paysim/v1/options.proto``): the table of RPCs with the retry safety of each
  (``rpcs.py``), and one exception class per value of the ``ErrorReason`` enum (``reasons.py``).
- ``clients/typescript/src/gen`` and ``src/derived``: the TypeScript client's rendering of the
  contract (``buf generate`` with ``buf.gen.yaml``) and its reason classes (``gen_typescript.py``).

The contract's rules are checked first: an RPC of paysim.v1 without an access policy or without an
idempotency classification, or an error reason without a status code, is refused, and nothing is
generated.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

ROOT = Path(__file__).resolve().parents[2]


def _sibling(name: str) -> ModuleType:
    """A module beside this script, loaded by path: the script is also loaded by path (tests)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ts = _sibling("gen_typescript")  # the TypeScript outputs
freshness = _sibling("freshness")
PROTO_ROOT = ROOT / "proto"
# The contract's Python rendering, its own small distribution (paysim-proto) that both the server
# and the client depend on; what only the client derives from the contract stays in the client.
STUBS = PROTO_ROOT / "python" / "src" / "paysim_proto" / "v1"
DERIVED = ROOT / "clients" / "python" / "src" / "paysim_client" / "_generated"
CONTRACT_PACKAGE = "paysim.v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
IMPORT_RE = re.compile(r"^(from|import) paysim\.v1\b", re.MULTILINE)
STUBS_INIT = '"""Generated protobuf messages and gRPC stubs of the paysim.v1 contract."""\n'
# The googleapis protos the contract imports, vendored from the installed googleapis-common-protos
# (buf's registry is out of reach here; buf.yaml leaves them out of lint and breaking).
# status.proto and error_details.proto are for the TypeScript client, which decodes the details.
VENDORED = (
    "google/api/field_behavior.proto",
    "google/rpc/code.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
)

# --- the Python face of the error reasons ------------------------------------------------------
# A reason's class is the CamelCase of the reason (PAYMENT_BUSY -> PaymentBusy), subclassing the
# class of its status code. Words spelled otherwise in class names:
CLASS_NAME_WORDS = {"DS": "DS"}  # THREE_DS_CHALLENGE_EXPIRED -> ThreeDSChallengeExpired
# Reasons whose class subclasses a refinement of its status code's class instead: a hand-written
# one of paysim_client._status_errors that groups reasons or reads their metadata, or the class
# of another reason it is a case of. A reason named after its status code (INVALID_ARGUMENT) is
# that code's class itself.
CLASS_BASES = {
    "PAYMENT_NOT_CAPTURABLE": "status.PaymentStateError",
    "PAYMENT_NOT_VOIDABLE": "status.PaymentStateError",
    "PAYMENT_NOT_REFUNDABLE": "status.PaymentStateError",
    "AMOUNT_EXCEEDS_AUTHORIZED": "status.FailedPrecondition, status.WithAuthorizedAmount",
    "AMOUNT_EXCEEDS_REFUNDABLE": "status.FailedPrecondition, status.WithRefundableAmount",
    "SUBSCRIBER_TOO_SLOW": "status.ResourceExhausted, status.WithLastSeq",
    "SERVER_SHUTTING_DOWN": "status.Unavailable, status.WithLastSeq",
    "CIRCUIT_OPEN": "GatewayUnavailable",
}

# protoc's numbers for paths into FileDescriptorProto (for the comments in source_code_info).
_ENUM_TYPE, _ENUM_VALUE, _SERVICE, _METHOD = 5, 2, 6, 2


class ContractError(Exception):
    """The contract breaks a rule of options.proto: nothing is generated."""


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


# --- vendored googleapis files -----------------------------------------------------------------


def _installed_copy(relative: str) -> Path:
    """The .proto that googleapis-common-protos installs beside its ``*_pb2`` module."""
    module = relative.removesuffix(".proto").replace("/", ".") + "_pb2"
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ContractError(f"{module} is not installed: install googleapis-common-protos")
    path = Path(spec.origin).with_name(Path(relative).name)
    if not path.exists():
        raise ContractError(f"googleapis-common-protos has no {relative}")
    return path


def vendor(proto_root: Path) -> None:
    for relative in VENDORED:
        target = proto_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_installed_copy(relative), target)


def stale_vendored(proto_root: Path) -> list[str]:
    return [
        relative
        for relative in VENDORED
        if not (proto_root / relative).exists()
        or (proto_root / relative).read_bytes() != _installed_copy(relative).read_bytes()
    ]


# --- the contract, read from protoc's descriptor set -------------------------------------------


@dataclass(frozen=True, slots=True)
class Method:
    service: str  # AuthService
    name: str  # Login
    module: str  # auth_pb2
    request: str  # LoginRequest (a message of ``module`` or another contract module: module.Name)
    response: str
    safety: str  # a Safety member name
    anonymous: bool
    streaming: bool

    @property
    def path(self) -> str:
        return f"/{CONTRACT_PACKAGE}.{self.service}/{self.name}"

    @property
    def constant(self) -> str:
        return _upper_snake(self.name)


@dataclass(frozen=True, slots=True)
class Reason:
    name: str  # PAYMENT_BUSY: the wire value
    code: str  # ABORTED: the google.rpc.Code name
    doc: str


@dataclass(frozen=True, slots=True)
class Contract:
    methods: tuple[Method, ...]
    reasons: tuple[Reason, ...]


def _upper_snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", camel).upper()


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    return {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}


def _module_of(proto_file: str) -> str:
    return Path(proto_file).stem + "_pb2"


class _Options:
    """Reads the custom options with message classes of the descriptor set's own pool."""

    def __init__(self, files: Sequence[descriptor_pb2.FileDescriptorProto]) -> None:
        self.pool = descriptor_pool.DescriptorPool()
        for file in files:
            self.pool.Add(file)
        self._method_options = self._class("google.protobuf.MethodOptions")
        self._value_options = self._class("google.protobuf.EnumValueOptions")
        self.access = self.pool.FindExtensionByName(f"{CONTRACT_PACKAGE}.access")
        self.keyed = self.pool.FindExtensionByName(f"{CONTRACT_PACKAGE}.deduplicated_by_idempotency_key")
        self.status_code = self.pool.FindExtensionByName(f"{CONTRACT_PACKAGE}.status_code")
        self.code_names = {v.number: v.name for v in self.pool.FindEnumTypeByName("google.rpc.Code").values}

    def _class(self, name: str) -> type[Message]:
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(name))

    def method(self, proto: descriptor_pb2.MethodDescriptorProto) -> Message:
        return self._method_options.FromString(proto.options.SerializeToString())

    def value(self, proto: descriptor_pb2.EnumValueDescriptorProto) -> Message:
        return self._value_options.FromString(proto.options.SerializeToString())


def _safety(name: str, options: Message, reader: _Options) -> str:
    """The ``Safety`` member the RPC's idempotency options make it."""
    levels = descriptor_pb2.MethodOptions.IdempotencyLevel
    keyed = options.Extensions[reader.keyed]
    level_set = options.HasField("idempotency_level")
    level = options.idempotency_level
    if keyed:
        if level_set and level != levels.IDEMPOTENCY_UNKNOWN:
            raise ContractError(f"{name}: deduplicated_by_idempotency_key contradicts idempotency_level")
        return "KEYED"
    if not level_set:
        raise ContractError(
            f"{name} has no idempotency classification: set idempotency_level (NO_SIDE_EFFECTS, IDEMPOTENT, or "
            "IDEMPOTENCY_UNKNOWN when a repeat may act twice) or (paysim.v1.deduplicated_by_idempotency_key)"
        )
    return {levels.NO_SIDE_EFFECTS: "READ", levels.IDEMPOTENT: "IDEMPOTENT"}.get(level, "UNSAFE")


def _public(name: str, options: Message, reader: _Options) -> bool:
    """Check the RPC's access policy against the rules of options.proto; whether it is public."""
    if not options.HasExtension(reader.access):
        raise ContractError(f"{name} has no access policy: add option (paysim.v1.access)")
    access = options.Extensions[reader.access]
    caller = access.WhichOneof("caller")
    if caller is None:
        raise ContractError(
            f"{name}: the access policy names no caller (public, authenticated, permission, admin_only)"
        )
    if caller == "permission" and access.permission == 0:
        raise ContractError(f"{name}: the access policy's permission is PERMISSION_UNSPECIFIED")
    if access.tenant_scoped and caller in ("public", "admin_only"):
        raise ContractError(f"{name}: a {caller} RPC is not tenant_scoped")
    if access.ignores_credentials and caller != "public":
        raise ContractError(f"{name}: only a public RPC may ignore credentials")
    return caller == "public"


def _message_ref(type_name: str, modules: dict[str, str]) -> str:
    full = type_name.lstrip(".")
    if not full.startswith(CONTRACT_PACKAGE + "."):
        raise ContractError(f"{full}: an RPC of the contract takes and returns messages of the contract")
    return f"{modules[full]}.{full.removeprefix(CONTRACT_PACKAGE + '.')}"


def read_contract(files: Sequence[descriptor_pb2.FileDescriptorProto]) -> Contract:
    reader = _Options(files)
    contract_files = [f for f in files if f.package == CONTRACT_PACKAGE]
    modules = {
        f"{CONTRACT_PACKAGE}.{message.name}": _module_of(f.name) for f in contract_files for message in f.message_type
    }
    methods: list[Method] = []
    reasons: list[Reason] = []
    problems: list[str] = []
    for file in contract_files:
        comments = _comments(file)
        for service in file.service:
            for method in service.method:
                name = f"{CONTRACT_PACKAGE}.{service.name}.{method.name}"
                options = reader.method(method)
                try:
                    anonymous = _public(name, options, reader)
                    safety = _safety(name, options, reader)
                    if method.client_streaming:
                        raise ContractError(f"{name}: the client has no transport for a client stream")
                    methods.append(
                        Method(
                            service=service.name,
                            name=method.name,
                            module=_module_of(file.name),
                            request=_message_ref(method.input_type, modules),
                            response=_message_ref(method.output_type, modules),
                            safety=safety,
                            anonymous=anonymous,
                            streaming=method.server_streaming,
                        )
                    )
                except ContractError as error:
                    problems.append(str(error))
        for e_index, enum in enumerate(file.enum_type):
            if enum.name != "ErrorReason":
                continue
            for v_index, value in enumerate(enum.value):
                if value.number == 0:
                    continue
                options = reader.value(value)
                if not options.HasExtension(reader.status_code):
                    problems.append(f"{value.name} has no (paysim.v1.status_code)")
                    continue
                code = reader.code_names[options.Extensions[reader.status_code]]
                if code == "OK":
                    problems.append(f"{value.name}: an error reason's status code is not OK")
                    continue
                doc = comments.get((_ENUM_TYPE, e_index, _ENUM_VALUE, v_index), "")
                reasons.append(Reason(value.name.removeprefix("ERROR_REASON_"), code, doc))
    constants = [m.constant for m in methods]
    problems += [
        f"two RPCs are named {c} in the client's table" for c in sorted(set(constants)) if constants.count(c) > 1
    ]
    names = {r.name for r in reasons}
    problems += [
        f"gen_protos.py names a class base for {r}, which is not a reason" for r in CLASS_BASES if r not in names
    ]
    if problems:
        raise ContractError("the contract breaks the rules of options.proto:\n  " + "\n  ".join(problems))
    return Contract(tuple(methods), tuple(reasons))


# --- rendering ---------------------------------------------------------------------------------

HEADER = "# Generated by proto/scripts/gen_protos.py from proto/paysim/v1: do not edit.\n"


def render_rpcs(contract: Contract) -> str:
    modules = sorted(
        {m.module for m in contract.methods}
        | {r.split(".")[0] for m in contract.methods for r in (m.request, m.response)}
    )
    lines = [
        '"""Every RPC of the paysim.v1 contract, with what the transport must know about it.',
        "",
        "``safety`` comes from the RPC's idempotency options and ``anonymous`` from a public access policy",
        "(proto/paysim/v1/options.proto), ``streaming`` from its signature.",
        '"""',
        "",
        HEADER.rstrip("\n"),
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "from paysim_client._rpc import Rpc, Safety",
        f"from paysim_proto.v1 import {', '.join(modules)}",
        "",
    ]
    service = ""
    for m in contract.methods:
        if m.service != service:
            service = m.service
            lines += ["", f"# {service}"]
        flags = (["anonymous=True"] if m.anonymous else []) + (["streaming=True"] if m.streaming else [])
        lines += [
            f"{m.constant}: Rpc[{m.request}, {m.response}] = Rpc(",
            f'    "{m.path}",',
            f"    {m.request},",
            f"    {m.response},",
            f"    Safety.{m.safety},",
            *(f"    {flag}," for flag in flags),
            ")",
        ]
    lines += ["", "ALL: tuple[Rpc[Any, Any], ...] = (", *(f"    {m.constant}," for m in contract.methods), ")", ""]
    return "\n".join(lines)


def _class_name(reason: str) -> str:
    return "".join(CLASS_NAME_WORDS.get(word, word.capitalize()) for word in reason.split("_"))


def _docstring(doc: str) -> list[str]:
    text = " ".join(line.strip() for line in doc.strip().splitlines()) or "An error reason of the contract."
    wrapped = textwrap.wrap(text.replace('"""', "'''"), width=92, break_on_hyphens=False)
    if len(wrapped) == 1:
        return [f'    """{wrapped[0]}"""']
    return [f'    """{wrapped[0]}', *(f"    {line}" for line in wrapped[1:]), '    """']


def render_reasons(contract: Contract) -> str:
    lines = [
        '"""One exception class per value of the contract\'s ``ErrorReason`` enum',
        "(proto/paysim/v1/error_reason.proto), with its documentation.",
        "",
        "Each subclasses the class of the reason's status code from ``paysim_client._status_errors``",
        "(or a refinement of it, see ``CLASS_BASES`` in the generator); a reason named after its",
        "status code (``INVALID_ARGUMENT``) has no class of its own: it is that code's class.",
        '"""',
        "",
        HEADER.rstrip("\n"),
        "",
        "from __future__ import annotations",
        "",
        "from typing import ClassVar",
        "",
        "from paysim_client import _status_errors as status",
        "",
    ]
    classes: dict[str, str] = {}
    for reason in contract.reasons:
        if reason.name == reason.code:
            classes[reason.name] = f"status.{_class_name(reason.code)}"
            continue
        name = _class_name(reason.name)
        bases = CLASS_BASES.get(reason.name, f"status.{_class_name(reason.code)}")
        undefined = [b for b in bases.split(", ") if not b.startswith("status.") and b not in classes.values()]
        if undefined:
            raise ContractError(f"{name} subclasses {undefined}, which must come earlier in ErrorReason")
        classes[reason.name] = name
        lines += [
            "",
            f"class {name}({bases}):",
            *_docstring(reason.doc),
            "",
            f'    REASON: ClassVar[str] = "{reason.name}"',
            "",
        ]
    lines += [
        "",
        "# The class of every reason of the contract, the generic ones included.",
        "BY_REASON: dict[str, type[status.RpcError]] = {",
        *(f'    "{reason}": {cls},' for reason, cls in classes.items()),
        "}",
        "",
        "__all__ = [",
        *(f'    "{cls}",' for cls in sorted(c for c in classes.values() if not c.startswith("status."))),
        "]",
        "",
    ]
    return "\n".join(lines)


# --- generating --------------------------------------------------------------------------------


def _contract_protos(proto_root: Path) -> list[str]:
    return sorted(p.relative_to(proto_root).as_posix() for p in (proto_root / "paysim").rglob("*.proto"))


def generate(proto_root: Path, stubs_dir: Path, derived_dir: Path, ts_dir: Path | None = None) -> None:
    """Every output into scratch directories: the Python stubs and derived code, and with ``ts_dir``
    the TypeScript code (``buf generate`` reads the repository's proto/, not ``proto_root``)."""
    with tempfile.TemporaryDirectory() as raw:
        descriptor_set = Path(raw) / "contract.binpb"
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{proto_root}",
            f"--plugin=protoc-gen-mypy={_bin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_bin('protoc-gen-mypy_grpc')}",
            f"--python_out={raw}",
            f"--grpc_python_out={raw}",
            f"--mypy_out={raw}",
            f"--mypy_grpc_out={raw}",
            f"--descriptor_set_out={descriptor_set}",
            "--include_imports",
            "--include_source_info",
            *_contract_protos(proto_root),
        ]
        subprocess.run(cmd, check=True)  # noqa: S603 - fixed argv, no shell
        files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file
        contract = read_contract(files)
        stubs_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted((Path(raw) / "paysim" / "v1").iterdir()):
            if not path.name.endswith(GENERATED_SUFFIXES):
                continue
            text = IMPORT_RE.sub(lambda m: f"{m.group(1)} paysim_proto.v1", path.read_text())
            (stubs_dir / path.name).write_text(text)
        (stubs_dir / "__init__.py").write_text(STUBS_INIT)
        (stubs_dir / "py.typed").write_text("")
    derived_dir.mkdir(parents=True, exist_ok=True)
    (derived_dir / "__init__.py").write_text(
        '"""What the client derives from the contract\'s options: the RPC table and the reason classes."""\n\n' + HEADER
    )
    (derived_dir / "rpcs.py").write_text(render_rpcs(contract))
    (derived_dir / "reasons.py").write_text(render_reasons(contract))
    if ts_dir is None:
        return
    reasons = [(r.name, r.code, r.doc) for r in contract.reasons]
    ts.generate(_bin("buf"), ts_dir / "gen", ts_dir / "derived", ts.render_reasons(reasons, _class_name))


def _outputs(scratch: Path) -> list[tuple[Path, Path]]:
    """(where ``generate`` wrote it under ``scratch``, where it is checked in) for every output."""
    return [
        (scratch / "v1", STUBS),
        (scratch / "_generated", DERIVED),
        *ts.outputs(scratch / "ts"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in code is stale")
    args = parser.parse_args()
    try:
        if not args.check:
            vendor(PROTO_ROOT)
            with tempfile.TemporaryDirectory() as tmp:
                # Into a scratch directory first: a contract that breaks the rules changes nothing.
                generate(PROTO_ROOT, Path(tmp) / "v1", Path(tmp) / "_generated", Path(tmp) / "ts")
                for fresh, target in _outputs(Path(tmp)):
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(fresh, target)
            print("generated", ", ".join(str(target.relative_to(ROOT)) for _, target in _outputs(ROOT)))
            return 0
        stale = [f"proto/{relative}" for relative in stale_vendored(PROTO_ROOT)]
        with tempfile.TemporaryDirectory() as tmp:
            generate(PROTO_ROOT, Path(tmp) / "v1", Path(tmp) / "_generated", Path(tmp) / "ts")
            for fresh, target in _outputs(Path(tmp)):
                stale += freshness.differences(fresh, target, ROOT)
    except (ContractError, ts.PluginMissing) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if stale:
        print("generated code is stale, run proto/scripts/gen_protos.py:", *stale)
        return 1
    print("generated code is fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())
