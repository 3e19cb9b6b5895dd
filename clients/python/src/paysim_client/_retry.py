"""Pure retry decisions: whether a failed attempt may be repeated, and after how long."""

from __future__ import annotations

from collections.abc import Callable

from paysim_client._rpc import Safety
from paysim_client.config import RetryPolicy
from paysim_client.errors import Aborted, RpcError, Unavailable


def may_retry(error: RpcError, safety: Safety, policy: RetryPolicy) -> bool:
    """True when repeating the call cannot act twice and may succeed."""
    if isinstance(error, Unavailable):
        return safety.retry_unavailable
    if isinstance(error, Aborted):
        return error.reason in policy.aborted_reasons
    return False


def backoff(policy: RetryPolicy, attempt: int, random: Callable[[], float]) -> float:
    """The wait after failed attempt number ``attempt`` (1-based), with jitter applied."""
    base = min(policy.max_backoff, policy.initial_backoff * policy.multiplier ** (attempt - 1))
    return base * (1.0 - policy.jitter * random())


def retry_delay(
    error: RpcError,
    safety: Safety,
    policy: RetryPolicy,
    attempt: int,
    remaining: float | None,
    random: Callable[[], float],
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up and raise ``error``.

    ``remaining`` is the time left before the call's overall deadline (None: no deadline). The
    server's ``RetryInfo`` is a floor: retrying earlier would only be refused again.
    """
    if attempt >= policy.max_attempts or not may_retry(error, safety, policy):
        return None
    delay = max(backoff(policy, attempt, random), error.retry_delay or 0.0)
    if remaining is not None and delay >= remaining:
        return None
    return delay
