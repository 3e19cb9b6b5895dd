"""The idempotency keys of payment requests, in the transactions of the payment use cases.

A key is claimed in transaction 1 with what it works on (its payment and recovery point), completed
with the result in transaction 2, completed with a refusal when the payment's rules refused the
request, and released when no gateway carried the request out (the retry asks again). A claim
whose request has been silent longer than the recovery delay is stale: its payment is recovered
first, then the request runs again.

A key used for a request about a payment on a test clock lives on that clock: it expires when the
clock's time passes its first use plus the TTL (``on_clock``), never with real time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from paysim.domain.errors import FailedPrecondition
from paysim.domain.principal import Principal
from paysim.services.clock import Clock
from paysim.services.idempotency import (
    FAILED_PRECONDITION_CODE,
    OK_CODE,
    IdempotencyKey,
    encode_error,
    encode_result,
    refuse_or_replay,
)
from paysim.services.payment_commands import PaymentResult, replayed_result, result_payload
from paysim.store.pg_batch import KeyAlreadyClaimed
from paysim.store.ports import PaymentStore
from paysim.store.unit_of_work import UnitOfWorkFactory


class StaleClaim(Exception):
    """An in-flight key whose request has been silent too long: recover its payment, then retry."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(payment_id)
        self.payment_id = payment_id


def key_owner(principal: Principal) -> str:
    """Whose key it is: the merchant, or the administrator (``adm:<user id>``)."""
    return principal.merchant_id or f"adm:{principal.user_id or principal.subject}"


class PaymentKeys:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ttl: timedelta, recover_after: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._ttl = ttl
        self._recover_after = recover_after

    async def claim(
        self,
        uow: PaymentStore,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        recovery_point: str = "",
        *,
        optimistic: bool = False,
    ) -> PaymentResult | None:
        """Claim the key, recording what it works on (the recovery point) in the same INSERT; the
        stored result to replay when the key was seen before.

        ``optimistic`` reserves it with the transaction's commit instead; a key that exists then
        raises ``KeyAlreadyClaimed`` from the commit and the caller runs again without it."""
        if idem is None:
            return None
        now = self._clock()
        if optimistic:
            return await self._reserve(uow, principal, idem, payment_id, now)
        existing = await uow.idempotency.claim(
            key_owner(principal),
            idem.key,
            idem.method,
            idem.fingerprint,
            now,
            now + self._ttl,
            payment_id=payment_id,
            recovery_point=recovery_point,
        )
        if existing is None:
            return None
        if (
            existing.state != "completed"
            and existing.payment_id
            and existing.fingerprint == idem.fingerprint
            and existing.updated_at < now - self._recover_after
        ):
            raise StaleClaim(existing.payment_id)
        return replayed_result(refuse_or_replay(existing, idem))

    async def _reserve(
        self, uow: PaymentStore, principal: Principal, idem: IdempotencyKey, payment_id: str, now: datetime
    ) -> PaymentResult | None:
        existing = await uow.idempotency.reserve(
            key_owner(principal),
            idem.key,
            idem.method,
            idem.fingerprint,
            now,
            now + self._ttl,
            payment_id=payment_id,
        )
        if existing is None:
            return None
        # A unit of work that claims at once found the key: the ordinary path decides.
        raise KeyAlreadyClaimed

    async def on_clock(
        self, uow: PaymentStore, principal: Principal, idem: IdempotencyKey | None, test_clock_id: str, at: datetime
    ) -> None:
        """The key just claimed is about a payment on a test clock whose time is ``at``: it lives
        on that clock, and expires when the clock passes ``at`` + the TTL (real time passing
        changes nothing for it)."""
        if idem is not None:
            await uow.idempotency.on_clock(key_owner(principal), idem.key, test_clock_id, at + self._ttl)

    async def complete(
        self, uow: PaymentStore, principal: Principal, idem: IdempotencyKey | None, result: PaymentResult
    ) -> None:
        if idem is not None:
            blob = encode_result(result_payload(result))
            await uow.idempotency.complete(key_owner(principal), idem.key, OK_CODE, blob, self._clock())

    async def store_refusal(
        self, uow: PaymentStore, principal: Principal, idem: IdempotencyKey | None, error: FailedPrecondition
    ) -> None:
        """A request that executed and was refused by the payment's rules replays that refusal."""
        if idem is not None:
            await uow.idempotency.complete(
                key_owner(principal), idem.key, FAILED_PRECONDITION_CODE, encode_error(error), self._clock()
            )
            await uow.commit()

    async def release(self, principal: Principal, idem: IdempotencyKey | None) -> None:
        if idem is not None:
            async with self._uow() as uow:
                await uow.idempotency.release(key_owner(principal), idem.key)
                await uow.commit()

    async def prune(self) -> int:
        async with self._uow() as uow:
            removed = await uow.idempotency.prune(self._clock())
            await uow.commit()
        return removed
