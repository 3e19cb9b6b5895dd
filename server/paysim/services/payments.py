"""Payment use cases: create, 3-D Secure resume, capture, void, refund; in atomic phases around
the gateway. Reads (services/payment_reads.py) and recovery (services/payment_recovery.py) are
jobs of their own that this service fronts.

Every mutation runs as: transaction 1 (claim the idempotency key, check the rules, append the
"requested" event) → the gateway call, outside any transaction → transaction 2 (the outcome
events, the projection and the stored idempotent result, in one commit). A crash in between
leaves a payment the recovery sweep can finish. The keys' part is services/payment_keys.py.
Where the store takes concurrent writers and the gateway answers at once, the call and
transaction 2's writes happen inside transaction 1 (services/payment_at_once.py).

3-D Secure (services/threeds.py) runs between a create's transaction 1 and its gateway call. A
payment that waits for its customer (``requires_action``) has no gateway call outstanding, so the
recovery sweep leaves it alone; ``resume`` carries it on once the customer has answered.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from paysim.domain import cards, ids, payment, payment_rules
from paysim.domain.errors import Aborted, FailedPrecondition, NotFound, PreconditionViolation
from paysim.domain.models import Merchant
from paysim.domain.overrides import Override
from paysim.domain.payment_events import PaymentEvent, PaymentFailed
from paysim.domain.payment_methods import MethodType
from paysim.domain.principal import Principal
from paysim.gateways.base import AuthorizationRequest
from paysim.gateways.engine import CatalogueCards
from paysim.services.authorization_expiry import AuthorizationExpiry
from paysim.services.clock import Clock
from paysim.services.clock_time import on_its_clock, time_for_new_work_on
from paysim.services.dispute_opening import DisputeOpening
from paysim.services.idempotency import IdempotencyKey
from paysim.services.payment_at_once import CardAuthentication, CarryOut, CreateAtOnce, OperationAtOnce
from paysim.services.payment_commands import (
    PAYMENT,
    CreatePayment,
    PaymentResult,
)
from paysim.services.payment_creation import clock_of, first_authorization, fraud_block, new_payment, validate_create
from paysim.services.payment_keys import PaymentKeys, StaleClaim
from paysim.services.payment_operations import Decision, PaymentOperations
from paysim.services.payment_outcomes import (
    NO_GATEWAY_AVAILABLE,
    authorization_events,
    failed_attempts,
    no_gateway,
)
from paysim.services.payment_reads import PaymentReads, check_payment_id, visible
from paysim.services.payment_recovery import PaymentRecovery, gateway_of
from paysim.services.refund_settlement import RefundSettlement
from paysim.services.routing import GatewayRouter
from paysim.services.ttl_cache import TtlCache
from paysim.store.pg_batch import KeyAlreadyClaimed
from paysim.store.ports import PaymentStore
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION, PaymentFilter, StoredEvent
from paysim.store.repositories.routing_state import RoutingState
from paysim.store.unit_of_work import TRANSACTION_CONFLICT, UnitOfWorkFactory

_FINISH_ATTEMPTS = 5
_RETRYABLE_CONFLICTS = frozenset({CONCURRENT_MODIFICATION, TRANSACTION_CONFLICT})


class PaymentService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        router: GatewayRouter,
        fingerprint_key: bytes,
        clock: Clock,
        *,
        idempotency_ttl: timedelta = timedelta(hours=24),
        recover_after: timedelta = timedelta(seconds=30),
        payment_uow: Callable[[], PaymentStore] | None = None,
        merchant_cache_seconds: float = 5.0,
        three_ds: CardAuthentication | None = None,
        concurrent_writers: bool = False,
    ) -> None:
        self._uow = uow
        # The transactions of create/capture/void/refund; on PostgreSQL a leaner unit of work.
        self._payment_uow: Callable[[], PaymentStore] = payment_uow or uow
        self._merchants: TtlCache[Merchant] = TtlCache(merchant_cache_seconds)
        self._router = router
        self._card_key = hmac.new(fingerprint_key, b"card-fingerprint", "sha256").digest()
        # The number is gone when a payment resumes after 3-D Secure: its fingerprint names the test card.
        self._test_cards = CatalogueCards(self._card_key)
        self._three_ds = three_ds
        self._request_key = hmac.new(fingerprint_key, b"idempotency-fingerprint", "sha256").digest()
        self._clock = clock
        self._keys = PaymentKeys(uow, clock, idempotency_ttl, recover_after)
        self._opening = DisputeOpening(self._test_cards)
        self._recovery = PaymentRecovery(uow, router, clock, recover_after, self._opening)
        self._expiry = AuthorizationExpiry(uow, clock)
        self._settlement = RefundSettlement(uow, clock)
        self._reads = PaymentReads(uow)
        # Where other transactions can write meanwhile, a create whose gateway answers at once is one transaction.
        self._at_once = concurrent_writers
        self._create_at_once = CreateAtOnce(router, three_ds, self._opening.with_dispute, clock, self._keys)
        self._operation_at_once = OperationAtOnce(self._keys, self._opening.with_dispute)
        self._operations = PaymentOperations(self, router, self._keys, self._expiry, self._test_cards)

    def request_fingerprint(self, method: str, request_bytes: bytes) -> str:
        """Keyed, so a stored fingerprint reveals nothing of the card in the request."""
        return hmac.new(self._request_key, method.encode() + b"\0" + request_bytes, "sha256").hexdigest()

    # --- transaction 2 -----------------------------------------------------------------------

    async def finish(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        make_events: Callable[[payment.PaymentState], list[PaymentEvent]],
        refund_id: str = "",
        known: payment.PaymentState | None = None,
    ) -> PaymentResult:
        """Transaction 2: outcome events on the current state, projection, stored result.

        With ``known`` (the state transaction 1 left) the write is optimistic: the version guard
        catches anyone who appended in between, and then it runs again on the locked current row.
        """
        for attempt in range(_FINISH_ATTEMPTS):
            try:
                async with self._payment_uow() as uow:
                    current = known if known is not None and attempt == 0 else None
                    if current is None:
                        current = await uow.payments.get(payment_id, for_update=True)
                    assert current is not None
                    events = await on_its_clock(uow, current, make_events(current))
                    # After the clock's time: a dispute's deadline counts from its capture's time.
                    events = self._opening.with_dispute(current, events)
                    after = payment.replay(payment_id, events, start=current)
                    await uow.payments.save(current, after, events)
                    result = PaymentResult(after, refund_id)
                    await self._keys.complete(uow, principal, idem, result)
                    await uow.commit()
                return result
            except Aborted as conflict:
                if conflict.reason not in _RETRYABLE_CONFLICTS or attempt == _FINISH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # --- create ----------------------------------------------------------------------------

    async def create(self, principal: Principal, cmd: CreatePayment, idem: IdempotencyKey | None) -> PaymentResult:
        merchant_id, summary, pan = validate_create(principal, cmd, self._clock().date(), self._card_key)
        if cmd.method_type is not MethodType.CARD and not await self._router.takes(merchant_id, cmd.method_type):
            raise FailedPrecondition(
                f"none of the merchant's enabled gateways takes {cmd.method_type.value} payments",
                reason="PAYMENT_METHOD_NOT_AVAILABLE",
                metadata={"merchant_id": merchant_id, "method_type": cmd.method_type.value},
                violations=[
                    PreconditionViolation(
                        "GATEWAY_CONFIG", merchant_id, f"configure a gateway that takes {cmd.method_type.value}"
                    )
                ],
            )
        # First try: the key (if any) is reserved with the commit of transaction 1, one round trip
        # for a first-time key; a key seen before sends the request down the ordinary path. Not
        # where a create may be carried out at once: its gateway call would come before the commit
        # that finds the key seen, and a replay must never call the gateway.
        if not self._at_once:
            try:
                return await self._create(principal, cmd, idem, merchant_id, summary, pan, optimistic=True)
            except KeyAlreadyClaimed:
                pass
        try:
            return await self._create(principal, cmd, idem, merchant_id, summary, pan)
        except StaleClaim as stale:
            await self.recover(stale.payment_id)
            return await self._create(principal, cmd, idem, merchant_id, summary, pan)

    async def _create(
        self,
        principal: Principal,
        cmd: CreatePayment,
        idem: IdempotencyKey | None,
        merchant_id: str,
        summary: cards.CardSummary | None,
        pan: str,
        *,
        optimistic: bool = False,
    ) -> PaymentResult:
        payment_id = ids.new_id(PAYMENT)
        async with self._payment_uow() as uow:
            if (
                replayed := await self._keys.claim(uow, principal, idem, payment_id, optimistic=optimistic)
            ) is not None:
                return replayed
            merchant = await self._merchant(uow, merchant_id)
            clock_id = cmd.test_clock_id
            if cmd.customer_id:
                customer = await uow.customers.get(cmd.customer_id)
                if customer is None or customer.merchant_id != merchant_id:
                    raise NotFound("customer", cmd.customer_id)
                clock_id = clock_of(cmd.test_clock_id, customer.test_clock_id)
            now = self._clock()
            if clock_id:  # a payment on real time reads no clock
                now = await time_for_new_work_on(uow, clock_id, merchant_id)
                await self._keys.on_clock(uow, principal, idem, clock_id, now)
            new = new_payment(cmd, merchant, summary, pan, clock_id)
            created = payment_rules.created_event(new, merchant.fee_percent_bps, merchant.fee_fixed, now)
            state = payment.create(created, payment_id)
            routing = await uow.routing.load(merchant_id)
            request = first_authorization(payment_id, new, cmd)
            if self._at_once and await self._router.answers_at_once(merchant_id, request, routing):
                return await self._create_at_once(uow, principal, idem, state, created, pan, request, routing)
            await uow.payments.save(None, state, [created])
            await uow.commit()

        stop = bool(authentication := fraud_block(new.card, now))  # a fraud rule blocks it
        if not stop and self._three_ds is not None and request.method is None:
            authentication, stop = await self._three_ds.before_authorization(state, pan)
        if stop:  # blocked, a challenge for the customer, or a failed authentication: no gateway call
            return await self.finish(principal, idem, payment_id, lambda s: authentication, known=state)
        return await self._authorize(principal, idem, state, request, authentication, routing=routing)

    async def _authorize(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        state: payment.PaymentState,
        request: AuthorizationRequest,
        first: Sequence[PaymentEvent] = (),
        *,
        routing: RoutingState | None = None,
    ) -> PaymentResult:
        """The routed gateway call of a processing payment, then transaction 2 (after ``first``)."""
        routed = await self._router.authorize(state.merchant_id, request, routing)
        failed = failed_attempts(routed, "authorize")
        if routed.result is None:
            # No gateway answered: the payment fails for good, the key is released so that a retry
            # (with the same key) starts a new payment once a gateway is back.
            at = self._clock()
            ended = [*first, *failed, PaymentFailed(at=at, reason=NO_GATEWAY_AVAILABLE)]
            await self.finish(principal, None, state.id, lambda s: ended, known=state)
            await self._keys.release(principal, idem)
            raise no_gateway("authorize", routed, state.id)
        answer, gateway = routed.result, routed.gateway
        return await self.finish(
            principal,
            idem,
            state.id,
            lambda s: [*first, *failed, *authorization_events(s, answer, request.capture, gateway, self._clock())],
            known=state,
        )

    async def resume(
        self,
        principal: Principal,
        payment_id: str,
        answer: Decision,
        idem: IdempotencyKey | None,
        override: Override | None = None,
    ) -> PaymentResult:
        """Carry on a payment that waited for its customer (3-D Secure). Transaction 1 appends the
        event ``answer`` makes of the customer's answer (or raises a domain error); a payment that
        this leaves processing is then authorized as create would have done, its test card told
        by its fingerprint (the number was never kept)."""
        state, replayed, routing = await self.begin(principal, idem, payment_id, answer)
        if replayed is not None:
            return replayed
        if not state.in_progress:  # the answer ended the payment; transaction 1 stored the result
            return PaymentResult(state)
        request = AuthorizationRequest(
            downstream_key=f"{payment_id}:authorize",
            amount=state.amount,
            currency=state.currency,
            pan="",
            exp_month=state.card.exp_month,
            exp_year=state.card.exp_year,
            holder_name=state.card.holder_name,
            capture=state.capture_method is payment.CaptureMethod.AUTOMATIC,
            override=override,
            test_card=self._test_cards.scenario(state.card.fingerprint),
        )
        return await self._authorize(principal, idem, state, request, routing=routing)

    async def _merchant(self, uow: PaymentStore, merchant_id: str) -> Merchant:
        """The merchant's payment settings, briefly cached: read on every payment otherwise."""
        merchant = self._merchants.get(merchant_id)
        if merchant is None:
            merchant = await uow.merchants.get(merchant_id)
            if merchant is None:
                raise NotFound("merchant", merchant_id)
            self._merchants.put(merchant_id, merchant)
        return merchant

    @property
    def creates_at_once(self) -> bool:
        return self._at_once

    def merchants_changed(self) -> None:
        """A merchant's settings changed in this process: forget the cached ones now."""
        self._merchants.clear()

    async def begin(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        decide: Decision,
        recovery_point: str = "",
        *,
        carry_out: CarryOut | None = None,
        operation: str = "",
    ) -> tuple[payment.PaymentState, PaymentResult | None, RoutingState | None]:
        """Transaction 1 of an operation on an existing payment: claim, lock, decide, append; and
        read what routing needs to know. The result is given when the request is over: a replay,
        or ``operation`` carried out at once (``carry_out`` inside this transaction)."""
        check_payment_id(payment_id)
        try:
            return await self._begin_once(principal, idem, payment_id, decide, recovery_point, carry_out, operation)
        except StaleClaim as stale:
            await self.recover(stale.payment_id)
            return await self._begin_once(principal, idem, payment_id, decide, recovery_point, carry_out, operation)

    async def _begin_once(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        decide: Decision,
        recovery_point: str,
        carry_out: CarryOut | None,
        operation: str,
    ) -> tuple[payment.PaymentState, PaymentResult | None, RoutingState | None]:
        async with self._payment_uow() as uow:
            if (replayed := await self._keys.claim(uow, principal, idem, payment_id, recovery_point)) is not None:
                return replayed.payment, replayed, None
            state = await visible(uow, principal, await uow.payments.get(payment_id, for_update=True), payment_id)
            now = self._clock()
            if state.test_clock_id:  # a payment on real time reads no clock
                now = await time_for_new_work_on(uow, state.test_clock_id, state.merchant_id)
                await self._keys.on_clock(uow, principal, idem, state.test_clock_id, now)
            try:
                event = decide(state, now)
            except FailedPrecondition as refusal:
                await self._keys.store_refusal(uow, principal, idem, refusal)
                raise
            after = payment.apply(state, event)
            routing = await uow.routing.load(state.merchant_id) if after.in_progress else None
            if (
                carry_out is not None
                and routing is not None
                and self._at_once
                and await self._router.operates_at_once(state.merchant_id, gateway_of(after), routing)
            ):  # the gateway answers at once: carried out and recorded in this transaction
                carried = await carry_out(after, routing)
                done = await self._operation_at_once(
                    uow, principal, idem, state, event, carried, operation, recovery_point
                )
                return done.payment, done, None
            await uow.payments.save(state, after, [event])
            if not after.in_progress:  # nothing left for a gateway: the request ends with this commit
                await self._keys.complete(uow, principal, idem, PaymentResult(after))
            await uow.commit()
        return after, None, routing

    # --- capture / void / refund (services/payment_operations.py) ------------------------------

    async def capture(
        self, principal: Principal, payment_id: str, amount: int, idem: IdempotencyKey | None
    ) -> PaymentResult:
        return await self._operations.capture(principal, payment_id, amount, idem)

    async def void(self, principal: Principal, payment_id: str, idem: IdempotencyKey | None) -> PaymentResult:
        return await self._operations.void(principal, payment_id, idem)

    async def refund(
        self, principal: Principal, payment_id: str, amount: int, reason: str, idem: IdempotencyKey | None
    ) -> PaymentResult:
        return await self._operations.refund(principal, payment_id, amount, reason, idem)

    # --- what other jobs do, fronted here ------------------------------------------------------

    async def recover_stuck(self, limit: int = 100) -> int:
        return await self._recovery.recover_stuck(limit)

    async def recover(self, payment_id: str) -> bool:
        return await self._recovery.recover(payment_id)

    async def expire_authorizations(self, limit: int = 100) -> int:
        return await self._expiry.expire_due(limit)

    async def settle_refunds(self, limit: int = 100) -> int:
        """Settle the asynchronous refunds due on real time (the housekeeping round)."""
        return await self._settlement.settle_due(limit)

    async def flush_gateway_statistics(self) -> None:
        await self._router.flush_statistics()

    async def prune_idempotency_keys(self) -> int:
        return await self._keys.prune()

    async def get(self, principal: Principal, payment_id: str) -> payment.PaymentState:
        return await self._reads.get(principal, payment_id)

    async def refunds(
        self, principal: Principal, payment_id: str, after: int, limit: int
    ) -> tuple[payment.PaymentState, list[payment.RefundState], bool]:
        return await self._reads.refunds(principal, payment_id, after, limit)

    async def events(
        self, principal: Principal, payment_id: str, after_version: int, limit: int
    ) -> tuple[payment.PaymentState, list[StoredEvent], bool]:
        return await self._reads.events(principal, payment_id, after_version, limit)

    async def list_page(
        self, principal: Principal, requested_merchant: str, f: PaymentFilter, cursor: Any, limit: int
    ) -> tuple[list[payment.PaymentState], bool]:
        return await self._reads.list_page(principal, requested_merchant, f, cursor, limit)
