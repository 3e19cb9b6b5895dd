"""Where a webhook may be sent: the URL's host resolved now, every address checked against the
rules (README, "Where deliveries may go (SSRF)"). Run when an endpoint is created or changed, and again before every
attempt, since what a name resolves to can change in between."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

from paysim.domain.webhooks import Target, TargetRules

Resolver = Callable[[str, int], Awaitable[list[str]]]

RESOLVE_TIMEOUT_SECONDS = 5.0


class TargetRefused(Exception):
    """The target may not be reached; ``reason`` is UPPER_SNAKE, the message says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    # Keep the resolver's order (it is the order a client would try), without repeats.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class TargetGuard:
    def __init__(self, rules: TargetRules, resolver: Resolver = system_resolver) -> None:
        self.rules = rules
        self._resolve = resolver

    async def addresses(self, target: Target) -> list[str]:
        """The addresses a delivery to ``target`` may connect to (all of them allowed), or
        ``TargetRefused``."""
        literal = _literal(target.host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                    addresses = await self._resolve(target.host, target.port)
            except (OSError, TimeoutError, UnicodeError):
                raise TargetRefused(f"the host {target.host!r} does not resolve", "HOST_UNRESOLVABLE") from None
        refusal = self.rules.refusal(addresses)
        if refusal is not None:
            raise TargetRefused(refusal, "TARGET_NOT_ALLOWED")
        return addresses
