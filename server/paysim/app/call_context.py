"""Per-call state shared between interceptors and servicers through context variables."""

from __future__ import annotations

from contextvars import ContextVar

from paysim.domain.errors import Unauthenticated
from paysim.domain.principal import Principal

request_id: ContextVar[str] = ContextVar("paysim_request_id", default="")
principal: ContextVar[Principal | None] = ContextVar("paysim_principal", default=None)


def require_principal() -> Principal:
    """The authenticated caller; the security interceptor guarantees one for non-public RPCs."""
    current = principal.get()
    if current is None:
        raise Unauthenticated("credentials are required", reason="CREDENTIALS_MISSING")
    return current
