"""The in-process message bus: after a commit, each message goes to the handlers of its type.

Handlers are plain functions that must not fail or block (they set an event, clear a cache,
schedule a read); one that raises is logged and the others still run, because the transaction
they follow has committed and cannot be undone. Which handler reacts to what is decided in one
place, the composition root (app/wiring.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from paysim.domain.messages import Message

log = logging.getLogger("paysim.messages")

M = TypeVar("M", bound=Message)


class MessageBus:
    def __init__(self) -> None:
        self._handlers: defaultdict[type[Any], list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, kind: type[M], handler: Callable[[M], None]) -> None:
        self._handlers[kind].append(handler)

    def publish(self, messages: Iterable[Message]) -> None:
        for message in messages:
            for handler in self._handlers.get(type(message), ()):
                try:
                    handler(message)
                except Exception:
                    log.exception("a message handler failed", extra={"fields": {"message": type(message).__name__}})
