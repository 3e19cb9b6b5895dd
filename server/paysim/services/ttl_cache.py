"""A small in-process cache whose entries expire after a fixed time (monotonic clock)."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Entries live ``ttl`` seconds at most (never past ``not_after``); ``ttl`` 0 disables it."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[V, float]] = {}

    def get(self, key: str) -> V | None:
        if self._ttl <= 0:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if time.monotonic() >= expires:
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: str, value: V, not_after: float | None = None) -> None:
        if self._ttl <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        expires = time.monotonic() + self._ttl
        self._entries[key] = (value, expires if not_after is None else min(expires, not_after))

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
