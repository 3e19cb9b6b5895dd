"""A real HTTP webhook receiver on 127.0.0.1 (port 0 the first time), in a background thread.

It records every request (headers and exact body bytes) and answers from a script: a status code
per request, ``HANG`` to hold the request open without answering (until ``release()``), then
``default_status``. It can be taken down (connections refused) and brought back on the same port.
Tests wait on what it received with a deadline; nothing sleeps.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = -1


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered; HANG if it never did

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def event_id(self) -> str:
        return self.headers.get("paysim-event-id", "")

    @property
    def signature(self) -> str:
        return self.headers.get("paysim-signature", "")


class WebhookReceiver:
    def __init__(self, *, default_status: int = 200, delay_seconds: float = 0.0) -> None:
        self.default_status = default_status
        self.delay_seconds = delay_seconds  # before every answer: keeps requests in flight
        self.in_flight = 0
        self.peak_in_flight = 0
        self.received: list[Received] = []
        self._script: list[int] = []
        self._changed = threading.Condition()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def script(self, statuses: Iterable[int]) -> None:
        """Answer the next requests with these statuses (or HANG), in order."""
        with self._changed:
            self._script.extend(statuses)

    def release(self) -> None:
        """Let hanging requests go (they are answered with the default status)."""
        self._release.set()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._changed:
                    status = receiver._script.pop(0) if receiver._script else receiver.default_status
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(self.path, headers, body, status))
                    receiver.in_flight += 1
                    receiver.peak_in_flight = max(receiver.peak_in_flight, receiver.in_flight)
                    receiver._changed.notify_all()
                if status == HANG:
                    receiver._release.wait(60)
                    status = receiver.default_status
                elif receiver.delay_seconds:
                    receiver._release.wait(receiver.delay_seconds)
                with receiver._changed:
                    receiver.in_flight -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._release.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Down: the port refuses connections until ``start()``."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 20.0) -> list[Received]:
        """Wait until ``condition(received)`` holds; fail with what arrived if the deadline passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    summary = [(r.event_id, r.json.get("type"), r.status) for r in self.received]
                    raise AssertionError(f"webhook receiver: condition not met in {timeout}s; received {summary}")
                self._changed.wait(remaining)
            return list(self.received)

    def wait_count(self, count: int, timeout: float = 20.0) -> list[Received]:
        return self.wait_for(lambda got: len(got) >= count, timeout)

    def of_event(self, event_id: str) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.event_id == event_id]
