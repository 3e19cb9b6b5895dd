"""How a declared setting becomes a value: its environment variable, its parsing and checks, its
command-line flag and its row in README's settings table, all derived from its one declaration.

A setting is a field of ``Settings`` declared with :func:`setting`: the field's name gives the
variable (``PAYSIM_`` + the name in capitals), its annotation the type, its default the default.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "PAYSIM_"
_SPEC = "paysim.setting"  # the key of a field's metadata that holds its Spec


class ConfigError(ValueError):
    """A setting has a value paysim cannot use."""


@dataclass(frozen=True, slots=True)
class Flag:
    """The command-line flag that overrides a setting, and what its help says."""

    name: str  # "--listen"
    help: str


@dataclass(frozen=True, slots=True)
class Spec:
    """What a declaration says about a setting beyond its name, type and default."""

    doc: str  # the README table's "meaning" cell
    minimum: float | None = None  # numbers below are refused
    choices: tuple[str, ...] = ()  # strings outside are refused
    case: str = ""  # "lower" or "upper": how a string is normalised before it is checked
    shown: str = ""  # the README's default cell when the bare default says too little
    flag: Flag | None = None


@dataclass(frozen=True, slots=True)
class Declared:
    """One setting as ``Settings`` declares it."""

    name: str
    kind: type
    default: Any
    spec: Spec

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, raw: str | None) -> Any:
        """The value of the variable's text ``raw``; missing or empty: the default."""
        if raw is None or raw == "":
            return self.default
        if self.kind is bool:
            return _bool(self.env, raw)
        if self.kind is int:
            return _int(self.env, raw, int(self.spec.minimum or 0))
        if self.kind is float:
            return _float(self.env, raw, self.spec.minimum or 0.0)
        if self.kind is Path:
            return Path(raw)
        return self._string(raw)

    def _string(self, raw: str) -> str:
        value = raw.lower() if self.spec.case == "lower" else raw.upper() if self.spec.case == "upper" else raw
        if self.spec.choices and value not in self.spec.choices:
            raise ConfigError(f"{self.env} must be {' or '.join(self.spec.choices)}, got {value!r}")
        return value

    def shown_default(self) -> str:
        if self.spec.shown:
            return self.spec.shown
        if self.default == "":
            return "empty"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if isinstance(self.default, float):
            return f"`{self.default:g}`"
        return f"`{self.default}`"


def setting(default: Any, doc: str, **spec: Any) -> Any:
    """Declare a field of ``Settings``: its default and what the README says of it (see Spec)."""
    return dataclasses.field(default=default, metadata={_SPEC: Spec(doc, **spec)})


def declared(cls: type) -> list[Declared]:
    """The settings ``cls`` declares, in declaration order."""
    types = typing.get_type_hints(cls)
    return [
        Declared(f.name, types[f.name], f.default, f.metadata[_SPEC])
        for f in dataclasses.fields(cls)
        if _SPEC in f.metadata
    ]


def values_from_env(cls: type, env: Mapping[str, str]) -> dict[str, Any]:
    """Every declared setting of ``cls`` read from ``env``, by field name."""
    return {d.name: d.parse(env.get(d.env)) for d in declared(cls)}


def settings_table(cls: type) -> str:
    """README's settings table: one row per declared setting, its flag beside its variable."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for d in declared(cls):
        name = f"`{d.env}`" + (f", `{d.spec.flag.name}`" if d.spec.flag else "")
        rows.append(f"| {name} | {d.shown_default()} | {d.spec.doc} |")
    return "\n".join(rows) + "\n"


def _int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, raw: str, minimum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _bool(name: str, raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")
