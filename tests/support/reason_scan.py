"""Every error reason the server can raise, read from its source.

A reason leaves the server in ``google.rpc.ErrorInfo.reason`` of a domain error
(``paysim.domain.errors``). This reads every construction of a domain error class in
``server/paysim`` and works out which reasons it can carry:

- ``reason="LITERAL"``, a conditional between literals, or a name bound to a literal at module
  level (here or imported from another paysim module);
- a parameter of the enclosing function: whatever every call of that function passes for it;
- no ``reason``: the class's ``default_reason``; ``NotFound(kind, …)``: ``<KIND>_NOT_FOUND``.

Anything else is reported as unresolved, so a reason computed in a way this cannot follow fails
the test that uses it instead of escaping it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SERVER_ROOT = Path(__file__).resolve().parents[2] / "server"
ERRORS_MODULE = "paysim.domain.errors"
BASE_ERROR = "DomainError"


@dataclass(frozen=True, slots=True)
class Site:
    """Where an error is constructed."""

    module: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} ({self.function or 'module level'})"


@dataclass(frozen=True, slots=True)
class Raised:
    """One reason a construction can carry, with the gRPC code of the class constructed."""

    reason: str
    code: str
    site: Site


@dataclass(frozen=True, slots=True)
class ErrorClass:
    name: str
    code: str
    default_reason: str


@dataclass
class ScanResult:
    raised: list[Raised] = field(default_factory=list)
    # Constructions whose reason could not be followed back to literals.
    unresolved: list[Site] = field(default_factory=list)

    def reasons(self) -> set[str]:
        return {r.reason for r in self.raised}


def _module_name(path: Path, server_root: Path) -> str:
    parts = list(path.relative_to(server_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _terminal_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _string_assignments(tree: ast.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = stmt.value.value
        elif (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            found[stmt.target.id] = stmt.value.value
    return found


def _imports(tree: ast.Module) -> dict[str, tuple[str, str]]:
    """Local name -> (module, name) for ``from paysim.x import name``."""
    found: dict[str, tuple[str, str]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.module.startswith("paysim"):
            for alias in stmt.names:
                found[alias.asname or alias.name] = (stmt.module, alias.name)
    return found


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _parameter_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


class _Source:
    """The parsed server package and what the resolution needs to look things up."""

    def __init__(self, root: Path, server_root: Path) -> None:
        self.trees = {
            _module_name(p, server_root): ast.parse(p.read_text(), str(p)) for p in sorted(root.rglob("*.py"))
        }
        self.constants = {name: _string_assignments(tree) for name, tree in self.trees.items()}
        self.imports = {name: _imports(tree) for name, tree in self.trees.items()}
        # Function name -> every call of it anywhere, with the module it is in.
        self.calls: dict[str, list[tuple[str, ast.Call]]] = {}
        # (module, node) -> the innermost function that contains it.
        self.enclosing: dict[tuple[str, int], ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for module, tree in self.trees.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    self.calls.setdefault(_terminal_name(node.func), []).append((module, node))
            for function in _functions(tree):
                for node in ast.walk(function):
                    key = (module, id(node))
                    current = self.enclosing.get(key)
                    if current is None or current.lineno <= function.lineno:
                        self.enclosing[key] = function

    def error_classes(self) -> dict[str, ErrorClass]:
        """The domain error classes by name, their gRPC code and default reason (inherited)."""
        classes: dict[str, ErrorClass] = {}
        pending = True
        while pending:
            pending = False
            for tree in self.trees.values():
                for node in ast.walk(tree):
                    if not isinstance(node, ast.ClassDef) or node.name in classes:
                        continue
                    bases = [_terminal_name(b) for b in node.bases]
                    parent = next((classes[b] for b in bases if b in classes), None)
                    if parent is None and not (node.name == BASE_ERROR and bases == ["Exception"]):
                        continue
                    own = _string_assignments(ast.Module(body=node.body, type_ignores=[]))
                    classes[node.name] = ErrorClass(
                        node.name,
                        own.get("code_name", parent.code if parent else ""),
                        own.get("default_reason", parent.default_reason if parent else ""),
                    )
                    pending = True
        return classes

    def resolve(self, module: str, node: ast.expr, seen: frozenset[str] = frozenset()) -> set[str] | None:
        """The strings ``node`` (an expression in ``module``) can be; None when unknown."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            body, orelse = self.resolve(module, node.body, seen), self.resolve(module, node.orelse, seen)
            return None if body is None or orelse is None else body | orelse
        if not isinstance(node, ast.Name):
            return None
        function = self.enclosing.get((module, id(node)))
        if function is not None and node.id in _parameter_names(function):
            return self._argument_values(function, node.id, seen)
        return self._constant(module, node.id)

    def _constant(self, module: str, name: str) -> set[str] | None:
        if name in self.constants.get(module, {}):
            return {self.constants[module][name]}
        imported = self.imports.get(module, {}).get(name)
        if imported is not None and imported[0] in self.trees:
            return self._constant(*imported)
        return None

    def _argument_values(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str, seen: frozenset[str]
    ) -> set[str] | None:
        """Everything the calls of ``function`` pass for ``parameter``."""
        key = f"{function.name}.{parameter}"
        if key in seen:
            return None
        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        offset = 1 if positional[:1] in (["self"], ["cls"]) else 0
        values: set[str] = set()
        calls = self.calls.get(function.name, [])
        if not calls:
            return None
        for module, call in calls:
            argument: ast.expr | None = next((k.value for k in call.keywords if k.arg == parameter), None)
            if argument is None and parameter in positional:
                index = positional.index(parameter) - offset
                argument = call.args[index] if 0 <= index < len(call.args) else None
            if argument is None:
                return None
            resolved = self.resolve(module, argument, seen | {key})
            if resolved is None:
                return None
            values |= resolved
        return values


def scan(root: Path = SERVER_ROOT / "paysim", *, server_root: Path = SERVER_ROOT) -> ScanResult:
    """``root``: the package to read; ``server_root``: the directory its module names start from."""
    source = _Source(root, server_root)
    classes = source.error_classes()
    result = ScanResult()
    for module, tree in source.trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            cls = classes.get(_terminal_name(node.func))
            if cls is None:
                continue
            function = source.enclosing.get((module, id(node)))
            site = Site(module, node.lineno, function.name if function else "")
            if module == ERRORS_MODULE:
                continue  # the classes passing their own arguments on to their base
            reasons: set[str] | None
            if cls.name == "NotFound":
                kinds = source.resolve(module, node.args[0]) if node.args else None
                reasons = None if kinds is None else {f"{kind.upper()}_NOT_FOUND" for kind in kinds}
            else:
                given = next((k.value for k in node.keywords if k.arg == "reason"), None)
                reasons = {cls.default_reason} if given is None else source.resolve(module, given)
            if reasons is None:
                result.unresolved.append(site)
                continue
            result.raised.extend(Raised(reason, cls.code, site) for reason in sorted(reasons))
    return result
