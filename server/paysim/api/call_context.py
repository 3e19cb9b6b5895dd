"""Per-call state shared between interceptors and servicers through context variables.

It lives with the servicers, which read it; the interceptors of app/ set it and import it from here,
so imports run from app/ down to api/ and never back up."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from paysim.domain.errors import Unauthenticated
from paysim.domain.principal import Principal

request_id: ContextVar[str] = ContextVar("paysim_request_id", default="")
principal: ContextVar[Principal | None] = ContextVar("paysim_principal", default=None)


@dataclass(slots=True)
class ClientWait:
    """Whether the client still waits for the answer of a call the server finishes regardless.

    One object per call, shared by reference between the task gRPC cancels and the work that goes
    on after the cancellation, so what the one records the other can log.
    """

    gave_up: str | None = None  # what the client saw: "CANCELLED" or "DEADLINE_EXCEEDED"
    gave_up_at: float | None = None  # time.perf_counter() when the server learnt it


client_wait: ContextVar[ClientWait | None] = ContextVar("paysim_client_wait", default=None)


def require_principal() -> Principal:
    """The authenticated caller; the security interceptor guarantees one for non-public RPCs."""
    current = principal.get()
    if current is None:
        raise Unauthenticated("credentials are required", reason="CREDENTIALS_MISSING")
    return current
