"""What every request must satisfy before any handler sees it, whatever its method.

Protobuf decodes messages that its own runtime then refuses to use: a ``Timestamp`` outside years
0001–9999 or with nanos outside 0–999,999,999 cannot become a datetime, a ``Duration`` beyond
±10,000 years cannot become a timedelta, and proto3 keeps an enum number it does not know as a
plain int, which code reading the field takes for some default. Such a request is the caller's
malformed input, so it is refused here with a field violation naming the path of the bad value
(``created_after.nanos``, ``outcomes[2].kind``), driven by the message descriptors so that a new
field or RPC is covered with no edit. Business limits (an outage lasts at most 24 hours) stay
with the services.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from paysim.domain.errors import MAX_REPORTED_VIOLATIONS, FieldViolation

TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"

# The ranges google/protobuf/timestamp.proto and duration.proto define as valid.
MIN_TIMESTAMP_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
MAX_TIMESTAMP_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
MAX_DURATION_SECONDS = 315_576_000_000  # 10,000 years
MAX_NANOS = 999_999_999


@dataclass(frozen=True, slots=True)
class _Check:
    """One field of a message that holds (or may contain) something to check."""

    field: FieldDescriptor
    kind: str  # "enum", "timestamp", "duration" or "message"
    is_map: bool
    # The descriptor of each value: the field itself, or a map's value field.
    value_field: FieldDescriptor


def _message_type(field: FieldDescriptor) -> Descriptor:
    descriptor = field.message_type
    if descriptor is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return descriptor


def _enum_type(field: FieldDescriptor) -> EnumDescriptor:
    descriptor = field.enum_type
    if descriptor is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return descriptor


def _kind(field: FieldDescriptor) -> str | None:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return "enum"
    if field.type != FieldDescriptor.TYPE_MESSAGE:
        return None
    name = _message_type(field).full_name
    if name == TIMESTAMP:
        return "timestamp"
    if name == DURATION:
        return "duration"
    return "message"


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and bool(_message_type(field).GetOptions().map_entry)


def _value_field(field: FieldDescriptor) -> FieldDescriptor:
    return _message_type(field).fields_by_name["value"] if _is_map(field) else field


def _holds_checkable(descriptor: Descriptor) -> bool:
    """Whether any message type reachable from ``descriptor`` (itself included) has an enum,
    Timestamp or Duration field."""
    seen = {descriptor.full_name}
    pending = [descriptor]
    while pending:
        for field in pending.pop().fields:
            value = _value_field(field)
            kind = _kind(value)
            if kind in ("enum", "timestamp", "duration"):
                return True
            if kind == "message" and _message_type(value).full_name not in seen:
                seen.add(_message_type(value).full_name)
                pending.append(_message_type(value))
    return False


_PLANS: dict[str, tuple[_Check, ...]] = {}


def _plan(descriptor: Descriptor) -> tuple[_Check, ...]:
    """The fields of ``descriptor`` worth looking at, computed once per message type: most
    requests hold nothing to check and cost one dict lookup."""
    plan = _PLANS.get(descriptor.full_name)
    if plan is None:
        checks = []
        for field in descriptor.fields:
            value = _value_field(field)
            kind = _kind(value)
            if kind is None or (kind == "message" and not _holds_checkable(_message_type(value))):
                continue
            checks.append(_Check(field, kind, _is_map(field), value))
        plan = _PLANS[descriptor.full_name] = tuple(checks)
    return plan


def request_violations(message: Message) -> list[FieldViolation]:
    """The values of ``message`` that no handler can use, as field violations: the first
    ``MAX_REPORTED_VIOLATIONS`` found (an answer lists no more), or none."""
    found: list[FieldViolation] = []
    _visit(message, "", found)
    return found[:MAX_REPORTED_VIOLATIONS]


def _visit(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    for check in _plan(cast(Descriptor, message.DESCRIPTOR)):
        for path, value in _values(message, check, prefix):
            if len(found) >= MAX_REPORTED_VIOLATIONS:  # a huge repeated field is not walked to its end
                return
            if check.kind == "enum":
                _check_enum(check.value_field, path, value, found)
            elif check.kind == "timestamp":
                _check_timestamp(path, value, found)
            elif check.kind == "duration":
                _check_duration(path, value, found)
            else:
                _visit(value, path + ".", found)


def _values(message: Message, check: _Check, prefix: str) -> Iterator[tuple[str, Any]]:
    name = check.field.name
    path = prefix + name
    if check.is_map:
        for key, item in getattr(message, name).items():
            shown = key[:40] if isinstance(key, str) else key
            yield f"{path}[{shown!r}]", item
    elif check.field.is_repeated:
        for index, item in enumerate(getattr(message, name)):
            yield f"{path}[{index}]", item
    elif check.kind == "enum" or message.HasField(name):
        yield path, getattr(message, name)


def _check_enum(field: FieldDescriptor, path: str, value: int, found: list[FieldViolation]) -> None:
    enum = _enum_type(field)
    if value not in enum.values_by_number:
        found.append(FieldViolation(path, f"{value} is not a value of {enum.full_name}", "UNKNOWN_ENUM_VALUE"))


def _check_timestamp(path: str, value: Any, found: list[FieldViolation]) -> None:
    if not MIN_TIMESTAMP_SECONDS <= value.seconds <= MAX_TIMESTAMP_SECONDS:
        found.append(FieldViolation(f"{path}.seconds", "must be within years 0001 to 9999", "TIMESTAMP_OUT_OF_RANGE"))
    if not 0 <= value.nanos <= MAX_NANOS:
        found.append(FieldViolation(f"{path}.nanos", "must be 0 to 999,999,999", "TIMESTAMP_OUT_OF_RANGE"))


def _check_duration(path: str, value: Any, found: list[FieldViolation]) -> None:
    seconds, nanos = value.seconds, value.nanos
    if not -MAX_DURATION_SECONDS <= seconds <= MAX_DURATION_SECONDS:
        found.append(FieldViolation(f"{path}.seconds", "must be within ±10,000 years", "DURATION_OUT_OF_RANGE"))
    if not -MAX_NANOS <= nanos <= MAX_NANOS:
        found.append(FieldViolation(f"{path}.nanos", "must be -999,999,999 to 999,999,999", "DURATION_OUT_OF_RANGE"))
    elif (seconds > 0 and nanos < 0) or (seconds < 0 and nanos > 0):
        found.append(FieldViolation(f"{path}.nanos", "must have the sign of seconds", "DURATION_OUT_OF_RANGE"))
