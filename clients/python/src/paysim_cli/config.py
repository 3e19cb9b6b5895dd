"""The command line's memory: which server it talks to and the credentials it logged in with.

One JSON file, ``$PAYSIM_CLI_CONFIG`` or ``$XDG_CONFIG_HOME/paysim/cli.json`` (by default
``~/.config/paysim/cli.json``), readable by its owner only (0600, in a 0700 directory), since it
holds refresh tokens and API keys. It remembers one login per target and which target was used
last::

    {"current_target": "localhost:50051",
     "targets": {"localhost:50051": {"email": "…", "tokens": {…TokenPair…}}}}

An entry holds either ``tokens`` (a login session) or ``api_key``. Every change rewrites the
file atomically (a temporary file renamed over it) under an exclusive lock on a sibling
``.lock`` file, which :class:`FileTokenStore` also holds around each token refresh: commands
running at the same time never spend the same refresh token twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from paysim_client.types import TokenPair

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the file is still written atomically
    fcntl = None  # type: ignore[assignment]

CONFIG_ENV = "PAYSIM_CLI_CONFIG"
Entry = dict[str, Any]


class ConfigError(Exception):
    """The configuration file cannot be read or written."""


def default_path(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """Where the configuration lives: ``$PAYSIM_CLI_CONFIG``, else under the XDG config directory."""
    explicit = environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "paysim" / "cli.json"


class ConfigFile:
    """Reads and rewrites the configuration file; ``lock()`` is re-entrant within a process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._depth = 0
        self._lock_fd: int | None = None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive access across processes (nested uses in one process share the lock)."""
        if self._depth == 0:
            self._ensure_dir()
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as error:
                raise ConfigError(f"cannot open {self._lock_path}: {error.strerror}") from None
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._lock_fd is not None:
                os.close(self._lock_fd)  # closing releases the flock
                self._lock_fd = None

    def read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise ConfigError(f"cannot read {self.path}: {error.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{self.path} is not valid JSON ({error.msg}): fix or delete it") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path} does not hold a JSON object: fix or delete it")
        return data

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read, apply ``change`` in place, and write back, all under the lock."""
        with self.lock():
            data = self.read()
            change(data)
            self._write(data)
            return data

    def entry(self, target: str) -> Entry:
        """The saved login for ``target`` (empty when there is none)."""
        targets = self.read().get("targets")
        found = targets.get(target) if isinstance(targets, dict) else None
        return dict(found) if isinstance(found, dict) else {}

    def current_target(self) -> str | None:
        value = self.read().get("current_target")
        return value if isinstance(value, str) and value else None

    def _ensure_dir(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot create {self.path.parent}: {error.strerror}") from None

    def _write(self, data: dict[str, Any]) -> None:
        self._ensure_dir()
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        try:
            # mkstemp creates the file 0600; the rename makes the change all-or-nothing.
            fd, temporary = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as error:
            raise ConfigError(f"cannot write {self.path}: {error.strerror}") from None


def set_entry(data: dict[str, Any], target: str, entry: Entry | None) -> None:
    """Replace (or with None remove) ``target``'s entry in the configuration ``data``."""
    targets = data.get("targets")
    if not isinstance(targets, dict):
        targets = data["targets"] = {}
    if entry is None:
        targets.pop(target, None)
        if data.get("current_target") == target:
            data.pop("current_target")
    else:
        targets[target] = entry


def tokens_to_json(tokens: TokenPair) -> dict[str, Any]:
    return json_format.MessageToDict(tokens, preserving_proto_field_name=True)


def tokens_from_json(value: object) -> TokenPair | None:
    if not isinstance(value, dict):
        return None
    try:
        return json_format.ParseDict(value, TokenPair(), ignore_unknown_fields=True)
    except json_format.ParseError:
        return None


class FileTokenStore:
    """The SDK's :class:`~paysim_client.TokenStore` over one target's entry in the file.

    Saving a session replaces an API key the entry may have held: one credential per target.
    """

    def __init__(self, config: ConfigFile, target: str) -> None:
        self._config = config
        self._target = target

    def load(self) -> TokenPair | None:
        return tokens_from_json(self._config.entry(self._target).get("tokens"))

    def save(self, tokens: TokenPair | None) -> None:
        def change(data: dict[str, Any]) -> None:
            entry = {k: v for k, v in self._entry_in(data).items() if k not in {"tokens", "api_key"}}
            if tokens is not None:
                entry["tokens"] = tokens_to_json(tokens)
            set_entry(data, self._target, entry)

        self._config.update(change)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return self._config.lock()

    def _entry_in(self, data: dict[str, Any]) -> Entry:
        targets = data.get("targets")
        found = targets.get(self._target) if isinstance(targets, dict) else None
        return dict(found) if isinstance(found, dict) else {}
