"""Payment use cases: create, 3-D Secure resume, capture, void, refund; in atomic phases around
the gateway. Reads (services/payment_reads.py) and recovery (services/payment_recovery.py) are
jobs of their own that this service fronts.

Every mutation runs as: transaction 1 (claim the idempotency key, check the rules, append the
"requested" event) → the gateway call, outside any transaction → transaction 2 (the outcome
events, the projection and the stored idempotent result, in one commit). A crash in between
leaves a payment the recovery sweep can finish. The keys' part is services/payment_keys.py.

3-D Secure (services/threeds.py) runs between a create's transaction 1 and its gateway call. A
payment that waits for its customer (``requires_action``) has no gateway call outstanding, so the
recovery sweep leaves it alone; ``resume`` carries it on once the customer has answered.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from paysim.domain import cards, ids, payment, payment_rules, refund_settlement
from paysim.domain.errors import Aborted, FailedPrecondition, NotFound, PreconditionViolation
from paysim.domain.models import Merchant
from paysim.domain.overrides import Override
from paysim.domain.payment_events import PaymentEvent, PaymentFailed, PaymentVoided, RefundFailed
from paysim.domain.payment_methods import MethodType
from paysim.domain.principal import Principal
from paysim.domain.validation import Violations, check_text
from paysim.gateways.base import AuthorizationRequest, Gateway, GatewayResult, Outcome
from paysim.gateways.engine import CatalogueCards
from paysim.services.authorization_expiry import AuthorizationExpiry
from paysim.services.clock import Clock
from paysim.services.clock_time import on_its_clock, time_for_new_work_on
from paysim.services.dispute_opening import DisputeOpening
from paysim.services.idempotency import IdempotencyKey
from paysim.services.payment_at_once import CardAuthentication, CreateAtOnce
from paysim.services.payment_commands import (
    MAX_REFUND_REASON_CHARS,
    PAYMENT,
    REFUND,
    CreatePayment,
    PaymentResult,
    check_amount,
)
from paysim.services.payment_creation import clock_of, first_authorization, fraud_block, new_payment, validate_create
from paysim.services.payment_keys import PaymentKeys, StaleClaim
from paysim.services.payment_outcomes import (
    NO_GATEWAY_AVAILABLE,
    authorization_events,
    call_attempt,
    failed_attempts,
    no_gateway,
    operation_failed,
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

GatewayCall = Callable[[Gateway], Awaitable[GatewayResult]]
# What an operation on an existing payment appends first, decided on its state at its time.
Decision = Callable[[payment.PaymentState, datetime], PaymentEvent]


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

    def request_fingerprint(self, method: str, request_bytes: bytes) -> str:
        """Keyed, so a stored fingerprint reveals nothing of the card in the request."""
        return hmac.new(self._request_key, method.encode() + b"\0" + request_bytes, "sha256").hexdigest()

    # --- transaction 2 -----------------------------------------------------------------------

    async def _finish(
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
        try:
            # First try: the key (if any) is reserved with the commit of transaction 1, one round
            # trip for a first-time key; a key seen before sends the request down the ordinary path.
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
            return await self._finish(principal, idem, payment_id, lambda s: authentication, known=state)
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
            await self._finish(principal, None, state.id, lambda s: ended, known=state)
            await self._keys.release(principal, idem)
            raise no_gateway("authorize", routed, state.id)
        answer, gateway = routed.result, routed.gateway
        return await self._finish(
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
        state, replayed, routing = await self._begin(principal, idem, payment_id, answer)
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

    async def _begin(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        decide: Decision,
        recovery_point: str = "",
    ) -> tuple[payment.PaymentState, PaymentResult | None, RoutingState | None]:
        """Transaction 1 of an operation on an existing payment: claim, lock, decide, append; and
        read what routing needs to know (None for a replay)."""
        check_payment_id(payment_id)
        try:
            return await self._begin_once(principal, idem, payment_id, decide, recovery_point)
        except StaleClaim as stale:
            await self.recover(stale.payment_id)
            return await self._begin_once(principal, idem, payment_id, decide, recovery_point)

    async def _begin_once(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        decide: Decision,
        recovery_point: str,
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
            await uow.payments.save(state, after, [event])
            if not after.in_progress:  # nothing left for a gateway: the request ends with this commit
                await self._keys.complete(uow, principal, idem, PaymentResult(after))
            routing = await uow.routing.load(state.merchant_id) if after.in_progress else None
            await uow.commit()
        return after, None, routing

    # --- capture / void / refund ------------------------------------------------------------

    async def capture(
        self, principal: Principal, payment_id: str, amount: int, idem: IdempotencyKey | None
    ) -> PaymentResult:
        check_amount("amount_minor", amount)
        try:
            return await self._settle(
                principal,
                idem,
                payment_id,
                "capture",
                lambda s, now: payment_rules.request_capture(s, amount, now),
                lambda s: lambda g: g.capture(f"{payment_id}:capture", s.gateway_reference, s.pending_capture_amount),
                lambda s, attempt: payment_rules.captured_event(s, s.pending_capture_amount, attempt, attempt.at),
            )
        except FailedPrecondition as refusal:
            if refusal.reason == payment_rules.AUTHORIZATION_EXPIRED:  # past its time but not swept yet: expire it now
                await self._expiry.expire(payment_id)
            raise

    async def void(self, principal: Principal, payment_id: str, idem: IdempotencyKey | None) -> PaymentResult:
        return await self._settle(
            principal,
            idem,
            payment_id,
            "void",
            lambda s, now: payment_rules.request_void(s, now),
            lambda s: lambda g: g.void(f"{payment_id}:void", s.gateway_reference),
            lambda s, attempt: PaymentVoided(at=attempt.at, attempt=attempt),
        )

    async def _settle(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        operation: str,
        request: Decision,
        gateway_call: Callable[[payment.PaymentState], GatewayCall],
        approved: Callable[[payment.PaymentState, payment.Attempt], PaymentEvent],
    ) -> PaymentResult:
        """A capture or a void: requested in transaction 1, carried out by the gateway that holds the
        authorization, its answer recorded in transaction 2. Without an approval the operation is
        recorded as failed (the payment stays authorized) and the caller is told to retry."""
        state, replayed, routing = await self._begin(principal, idem, payment_id, request)
        if replayed is not None:
            return replayed
        routed = await self._router.call(state.merchant_id, gateway_of(state), gateway_call(state), routing)
        if routed.result is None or routed.result.outcome is not Outcome.APPROVED:
            failure = operation_failed(operation, routed)
            await self._finish(principal, None, payment_id, lambda s: [failure])
            await self._keys.release(principal, idem)
            raise no_gateway(operation, routed, payment_id)
        answer = approved(state, call_attempt(routed.calls[-1], operation))
        return await self._finish(principal, idem, payment_id, lambda s: [answer], known=state)

    async def refund(
        self, principal: Principal, payment_id: str, amount: int, reason: str, idem: IdempotencyKey | None
    ) -> PaymentResult:
        check_amount("amount_minor", amount)
        v = Violations()
        check_text(v, "reason", reason, max_chars=MAX_REFUND_REASON_CHARS)
        v.raise_if_any()
        refund_id = ids.new_id(REFUND)
        state, replayed, routing = await self._begin(
            principal,
            idem,
            payment_id,
            lambda s, now: payment_rules.request_refund(s, refund_id, amount, reason, now),
            refund_id,
        )
        if replayed is not None:
            return replayed
        refund = state.refund(refund_id)
        routed = await self._router.call(
            state.merchant_id,
            gateway_of(state),
            lambda g: g.refund(f"{payment_id}:{refund_id}", state.gateway_reference, refund.amount),
            routing,
        )
        last = routed.calls[-1]
        attempt = call_attempt(last, "refund")
        if routed.failed:
            # The gateway gave no answer: the refund is recorded as failed, and the caller is told
            # to retry (the key is released, so the retry asks again).
            failure = RefundFailed(at=attempt.at, refund_id=refund_id, reason=last.result.message, attempt=attempt)
            await self._finish(principal, None, payment_id, lambda s: [failure])
            await self._keys.release(principal, idem)
            raise no_gateway("refund", routed, payment_id)
        answer: PaymentEvent
        if last.result.outcome is Outcome.APPROVED:
            # A refund test card makes the refund asynchronous: it settles (or fails) later.
            scenario = self._test_cards.scenario(state.card.fingerprint)
            kind = None if scenario is None else scenario.kind
            answer = refund_settlement.accepted(kind, refund_id, refund.created_at, attempt.at, attempt)
        else:
            reason = last.result.message or last.result.decline_code
            answer = RefundFailed(at=attempt.at, refund_id=refund_id, reason=reason, attempt=attempt)
        return await self._finish(principal, idem, payment_id, lambda s: [answer], refund_id, known=state)

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
