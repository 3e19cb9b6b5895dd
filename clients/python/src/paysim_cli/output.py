"""What a command prints: one JSON document with ``--json``, aligned text for people otherwise.

JSON is the contract's messages as ``google.protobuf.json_format`` renders them, with the proto
field names and every field (zeros and empty strings included, so a script never has to guess a
default); 64-bit integers are strings there, as in grpcurl. Human output goes through
:func:`table` and :func:`fields`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any, Protocol, TextIO, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

Renderable = Message | Mapping[str, Any]
V = TypeVar("V", bound=int)


class EnumType(Protocol[V]):
    """A generated enum (``PaymentStatus``…): what its metaclass offers."""

    def Name(self, number: V) -> str: ...
    def Value(self, name: str) -> V: ...
    def keys(self) -> list[str]: ...


def to_json_value(value: object) -> Any:
    """A message in the JSON mapping; mappings and lists with messages inside, recursively."""
    if isinstance(value, Message):
        return json_format.MessageToDict(
            value, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    if isinstance(value, Mapping):
        return {key: to_json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    return value


class Output:
    """Where a command's result goes; ``json`` decides the form."""

    def __init__(self, *, json_mode: bool, stream: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def result(self, value: Renderable, human: Callable[[], Iterable[str]]) -> None:
        """The command's one result: ``value`` as JSON, or the lines ``human()`` makes."""
        if self.json_mode:
            self.stream.write(json.dumps(to_json_value(value), indent=2, ensure_ascii=False) + "\n")
        else:
            for line in human():
                self.line(line)

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A remark for people (hints): on stderr, so stdout stays the result; not with --json."""
        if not self.json_mode:
            self.warn(text)

    def warn(self, text: str) -> None:
        """A remark that matters with --json too (on stderr, so stdout stays parseable)."""
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: Iterable[int] = ()) -> list[str]:
    """Aligned columns two spaces apart; column indexes in ``right`` are right-aligned (amounts)."""
    body = [list(row) for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    right_set = set(right)

    def render(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if index in right_set else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [render(headers), *(render(row) for row in body)]


def fields(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """``label  value`` lines with the values aligned; pairs with an empty value are left out."""
    shown = [(label, value) for label, value in pairs if value]
    width = max((len(label) for label, _ in shown), default=0)
    return [f"{label.ljust(width)}  {value}" for label, value in shown]


def enum_label(enum: EnumType[V], value: V) -> str:
    """``PAYMENT_STATUS_PARTIALLY_REFUNDED`` → ``partially refunded`` (the enum's prefix dropped)."""
    try:
        name = enum.Name(value)
    except ValueError:
        return str(value)
    return name.removeprefix(enum_prefix(enum)).lower().replace("_", " ")


def enum_prefix(enum: EnumType[V]) -> str:
    """The common prefix of an enum's value names, from its zero value (``PAYMENT_STATUS_``)."""
    names = enum.keys()  # the wrapper is not iterable itself
    zero = next(name for name in names if name.endswith("_UNSPECIFIED"))
    return zero.removesuffix("UNSPECIFIED")


def enum_choices(enum: EnumType[V]) -> list[str]:
    """The value names people type: ``partially-refunded`` for ``PAYMENT_STATUS_PARTIALLY_REFUNDED``."""
    prefix = enum_prefix(enum)
    names = enum.keys()
    return [name.removeprefix(prefix).lower().replace("_", "-") for name in names if not name.endswith("_UNSPECIFIED")]


def parse_enum(enum: EnumType[V], text: str) -> V:
    """``partially-refunded``, ``partially_refunded`` or the full name → the enum's value."""
    wanted = text.strip().upper().replace("-", "_").replace(" ", "_")
    prefix = enum_prefix(enum)
    names = set(enum.keys())
    for candidate in (wanted, prefix + wanted):
        if candidate in names and not candidate.endswith("_UNSPECIFIED"):
            return enum.Value(candidate)
    raise ValueError(f"{text!r} is not one of: {', '.join(enum_choices(enum))}")


def when(stamp: Timestamp) -> str:
    """A timestamp as ``2026-11-27 01:02:03Z``; empty when unset."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    return stamp.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
