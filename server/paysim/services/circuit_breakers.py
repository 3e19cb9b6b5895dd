"""Circuit breakers per (scope, gateway), kept in the database so that a restart and every server
process see the same breaker.

Each operation is one short transaction: read the row with a lock, apply the pure function from
``paysim.domain.circuit_breaker``, save over the version read. Never call a gateway inside one of
these: ``admit`` before the call, ``record`` after it. A lost race (two processes creating the row
at once, a conflict reported by the database) runs the transaction again, a few times.

``scope`` is a merchant id, so a merchant's failures trip only its own breakers, or
``PLATFORM_SCOPE`` for platform-wide ones.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable
from dataclasses import dataclass

from paysim.domain import circuit_breaker as cb
from paysim.domain.circuit_breaker import BreakerConfig, BreakerState, BreakerStatus, Decision
from paysim.domain.errors import Aborted
from paysim.observability import metrics
from paysim.services.clock import Clock
from paysim.store.repositories.circuit_breakers import StoredBreaker
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from paysim.store.unit_of_work import TRANSACTION_CONFLICT, UnitOfWorkFactory

PLATFORM_SCOPE = "platform"
ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    # The breaker as admission left it (None: never stored, i.e. CLOSED with no history).
    state: BreakerState | None


def _retryable(error: Aborted) -> bool:
    return error.reason in {CONCURRENT_MODIFICATION, TRANSACTION_CONFLICT}


class CircuitBreakers:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        config: BreakerConfig | None = None,
        *,
        attempts: int = ATTEMPTS,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self.config = config or BreakerConfig()
        self._attempts = max(1, attempts)
        # Successes on healthy breakers not written yet, by (scope, gateway): see ``record_call``.
        self._unwritten: dict[tuple[str, str], int] = {}

    async def _change(
        self,
        scope: str,
        gateway: str,
        change: Callable[[BreakerState | None], tuple[BreakerState, bool]],
    ) -> BreakerState:
        """Read the breaker locked, apply ``change`` (new state, whether to write it) and save.
        ``change`` gets None when the breaker was never stored."""
        for attempt in range(self._attempts):
            try:
                async with self._uow() as uow:
                    stored = await uow.circuit_breakers.get_for_update(scope, gateway)
                    state, write = change(stored.state if stored is not None else None)
                    if write:
                        version = stored.version if stored is not None else 0
                        await uow.circuit_breakers.save(scope, gateway, state, version, now=self._clock())
                        await uow.commit()
                    metrics.breaker_state(gateway, state.status.value)
                    return state
            except Aborted as error:
                if not _retryable(error) or attempt + 1 >= self._attempts:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    def _state(self, stored: BreakerState | None) -> BreakerState:
        return stored if stored is not None else cb.reset(self._clock())

    async def admit(self, scope: str, gateway: str) -> bool:
        """Whether a call to ``gateway`` may go ahead now. A CLOSED breaker costs one plain read;
        a rejection, a half-open transition or a probe is written."""
        return (await self.admit_call(scope, gateway)).allowed

    async def admit_call(self, scope: str, gateway: str) -> Admission:
        """``admit``, also telling what it read, so that ``record_call`` can skip a write."""
        async with self._uow() as uow:
            stored = await uow.circuit_breakers.get(scope, gateway)
        return await self.admit_stored(scope, gateway, stored)

    async def admit_stored(self, scope: str, gateway: str, stored: StoredBreaker | None) -> Admission:
        """``admit_call`` given the row just read (by a caller that reads several at once)."""
        if stored is None:
            return Admission(True, None)
        decision, after = cb.admit(stored.state, self.config, self._clock())
        if after is stored.state:
            return Admission(decision is Decision.ALLOWED, stored.state)
        allowed = False

        def change(current: BreakerState | None) -> tuple[BreakerState, bool]:
            nonlocal allowed
            state = self._state(current)
            decision, after = cb.admit(state, self.config, self._clock())
            allowed = decision is Decision.ALLOWED
            return after, after is not state

        state = await self._change(scope, gateway, change)
        return Admission(allowed, state)

    async def record(self, scope: str, gateway: str, success: bool, reason: str = "") -> BreakerState:
        """Record the outcome of a call that ``admit`` let through. A failure is a gateway error or
        timeout; a card decline is a success as far as the breaker is concerned."""

        def change(current: BreakerState | None) -> tuple[BreakerState, bool]:
            state, now = self._state(current), self._clock()
            if success:
                return cb.record_success(state, self.config, now), True
            return cb.record_failure(state, self.config, now, reason), True

        return await self._change(scope, gateway, change)

    async def record_call(
        self, scope: str, gateway: str, admission: Admission, success: bool, reason: str = ""
    ) -> None:
        """``record`` for a call ``admit_call`` let through. A success on a breaker that was CLOSED
        with no failure in its window changes nothing but the statistics: it is counted here and
        written later by ``flush`` (the maintenance loop, or before this process reads statistics),
        so that a healthy gateway's calls do not all serialise on one row."""
        seen = admission.state
        healthy = seen is None or (seen.status is BreakerStatus.CLOSED and not seen.failures_in_window)
        if success and healthy:
            self._unwritten[(scope, gateway)] = self._unwritten.get((scope, gateway), 0) + 1
            return
        await self.record(scope, gateway, success, reason)

    async def flush(self) -> int:
        """Write the successes counted in this process since the last flush; returns how many."""
        pending, self._unwritten = self._unwritten, {}
        written = 0
        for (scope, gateway), count in pending.items():

            def change(current: BreakerState | None, count: int = count) -> tuple[BreakerState, bool]:
                return cb.record_successes(self._state(current), self._clock(), count), True

            try:
                await self._change(scope, gateway, change)
            except BaseException:
                # Not written: keep the count for the next flush.
                self._unwritten[(scope, gateway)] = self._unwritten.get((scope, gateway), 0) + count
                raise
            written += count
        return written

    async def snapshot(self, scope: str, gateway: str) -> BreakerState:
        """The stored state, or a fresh CLOSED one for a breaker that never saw a call."""
        await self.flush()
        async with self._uow() as uow:
            stored = await uow.circuit_breakers.get(scope, gateway)
        return self._state(stored.state if stored is not None else None)

    async def list(self, scope: str) -> builtins.list[StoredBreaker]:
        """Every stored breaker of ``scope``, by gateway name."""
        await self.flush()
        async with self._uow() as uow:
            return await uow.circuit_breakers.list(scope)

    async def reset(self, scope: str, gateway: str) -> BreakerState:
        """Close the breaker and clear its statistics (an admin's reset)."""
        return await self._change(scope, gateway, lambda _current: (cb.reset(self._clock()), True))

    async def is_available(self, scope: str, gateway: str) -> bool:
        """Whether ``admit`` would let a call through now, without counting anything (for routing
        decisions that skip open breakers)."""
        state = await self.snapshot(scope, gateway)
        return cb.would_admit(state, self.config, self._clock())
