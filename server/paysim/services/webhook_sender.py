"""One webhook attempt over HTTP: POST the body to the endpoint and report its status.

The connection goes to an address the target guard approved a moment earlier (the URL's host is
replaced by that address; the Host header and TLS server name stay the URL's), so a name that
resolves differently on a second lookup cannot slip a delivery past the check. Redirects are not
followed: a 3xx is a failed attempt, never a way to a second, unchecked target. The response body
is never read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from paysim.domain.validation import Violations
from paysim.domain.webhooks import check_url
from paysim.services.webhook_targets import TargetGuard, TargetRefused


@dataclass(frozen=True, slots=True)
class SendResult:
    http_status: int  # 0: none (see error)
    error: str
    duration_ms: int


class WebhookSender:
    def __init__(self, guard: TargetGuard, timeout_seconds: float) -> None:
        self._guard = guard
        self._timeout = timeout_seconds
        # No keep-alive: a pooled connection is keyed by address, and must never carry a request
        # for another host name (or another TLS server name) that happens to share it.
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            trust_env=False,
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        started = time.monotonic()

        def done(status: int, error: str = "") -> SendResult:
            return SendResult(status, error, int((time.monotonic() - started) * 1000))

        target = check_url(Violations(), "url", url)
        if target is None:
            return done(0, "invalid URL")
        try:
            addresses = await self._guard.addresses(target)
        except TargetRefused as refused:
            return done(0, f"refused: {refused}")
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        all_headers = {**headers, "Host": httpx.URL(url).netloc.decode("ascii")}
        try:
            # One deadline for the whole attempt: httpx's own timeouts are per read, and a
            # receiver trickling bytes could hold an attempt open forever.
            async with asyncio.timeout(self._timeout):
                for index, address in enumerate(addresses):
                    request = self._client.build_request(
                        "POST",
                        httpx.URL(url).copy_with(host=address),
                        content=body,
                        headers=all_headers,
                        extensions=extensions,
                    )
                    try:
                        response = await self._client.send(request, stream=True)
                    except httpx.ConnectError:
                        # Like any client, go on to the host's next address: "localhost" may
                        # resolve to ::1 first for a receiver that listens on 127.0.0.1 only.
                        if index == len(addresses) - 1:
                            raise
                        continue
                    await response.aclose()
                    return done(response.status_code)
        except TimeoutError:
            return done(0, "timeout")
        except httpx.HTTPError as error:
            return done(0, _describe(error))
        return done(0, "no address to connect to")  # not reached: the guard never approves none

    async def close(self) -> None:
        await self._client.aclose()


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                return "connection refused"
            cause = cause.__cause__ or cause.__context__
        return f"connection failed: {str(error)[:120]}"
    return f"{type(error).__name__}: {str(error)[:120]}"
