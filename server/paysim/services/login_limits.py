"""How many logins one email and one client address may attempt per minute.

Checked before anything else a login does: a refused attempt costs neither a password compare
nor a write to the email's failure count.
"""

from __future__ import annotations

from typing import Protocol

from paysim.domain.errors import ResourceExhausted


class Counter(Protocol):
    async def hit(self, key: str) -> float | None:
        """Count one attempt; the seconds to wait if the key is over its limit, else None."""


class LoginLimits:
    def __init__(self, per_address: Counter, per_email: Counter) -> None:
        self._per_address = per_address
        self._per_email = per_email

    async def admit(self, address: str, email_key: str) -> None:
        """Count the attempt, or refuse it (RESOURCE_EXHAUSTED, ``RATE_LIMITED``)."""
        wait = await self._per_address.hit(f"address:{address}")
        if wait is not None:
            raise _limited("login:address", wait)
        wait = await self._per_email.hit(f"email:{email_key}")
        if wait is not None:
            raise _limited("login:email", wait)


def _limited(subject: str, wait: float) -> ResourceExhausted:
    return ResourceExhausted(
        "too many login attempts; slow down",
        reason="RATE_LIMITED",
        retry_after_seconds=wait,
        quota_subject=subject,
    )
