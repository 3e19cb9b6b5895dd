"""A progress bar for commands that loop, drawn on stderr only when a person is watching.

It draws when both stdout and stderr are terminals; piped or redirected (a script, a CI log,
``--json``), it draws nothing at all, so the output holds no control characters.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.1


def interactive() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


class Progress:
    """``with Progress(total, "payments") as bar: … bar.advance()``."""

    def __init__(self, total: int, label: str, *, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.total = max(total, 0)
        self.label = label
        self.done = 0
        self.enabled = interactive() if enabled is None else enabled
        self._stream = stream or sys.stderr
        self._drawn_at = 0.0
        self._shown = ""

    def advance(self, step: int = 1) -> None:
        self.done = min(self.done + step, self.total)
        now = time.monotonic()
        if self.enabled and (self.done == self.total or now - self._drawn_at >= REDRAW_SECONDS):
            self._drawn_at = now
            self._draw()

    def render(self) -> str:
        fraction = self.done / self.total if self.total else 1.0
        filled = round(WIDTH * fraction)
        bar = "#" * filled + "." * (WIDTH - filled)
        return f"{self.label} [{bar}] {self.done}/{self.total} {fraction:4.0%}"

    def _draw(self) -> None:
        text = self.render()
        if text != self._shown:
            self._shown = text
            self._stream.write("\r" + text)
            self._stream.flush()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._draw()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.enabled:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
