"""Payment use cases: create, capture, void, refund, read; in atomic phases around the gateway.

Every mutation runs as: transaction 1 (claim the idempotency key, check the rules, append the
"requested" event) → the gateway call, outside any transaction → transaction 2 (the outcome
events, the projection and the stored idempotent result, in one commit). A crash in between
leaves a payment the recovery sweep can finish.

3-D Secure (services/threeds.py) runs between a create's transaction 1 and its gateway call. A
payment that waits for its customer (``requires_action``) has no gateway call outstanding, so the
recovery sweep leaves it alone; ``resume`` carries it on once the customer has answered.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from paysim.domain import cards, ids
from paysim.domain import payment as agg
from paysim.domain.declines import DECLINES
from paysim.domain.errors import Aborted, FailedPrecondition, NotFound, PreconditionViolation, Unavailable
from paysim.domain.gateway_settings import DEFAULT_GATEWAY
from paysim.domain.models import Merchant
from paysim.domain.overrides import Override
from paysim.domain.payment_methods import MethodType, check_payer_email, check_vpa
from paysim.domain.principal import Principal
from paysim.domain.roles import Role
from paysim.domain.validation import Violations, check_currency, check_id, check_metadata, check_text
from paysim.gateways.base import AuthorizationRequest, GatewayResult, Outcome
from paysim.gateways.engine import CatalogueCards
from paysim.gateways.flavoured import PayPalWallet, Upi
from paysim.services.clock import Clock
from paysim.services.idempotency import (
    FAILED_PRECONDITION_CODE,
    OK_CODE,
    IdempotencyKey,
    encode_error,
    encode_result,
    refuse_or_replay,
)
from paysim.services.routing import SKIPPED, Call, GatewayRouter, Routed
from paysim.services.scope import merchant_scope
from paysim.services.ttl_cache import TtlCache
from paysim.store.pg_batch import KeyAlreadyClaimed
from paysim.store.ports import PaymentStore
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION, PaymentFilter, StoredEvent
from paysim.store.repositories.routing_state import RoutingState
from paysim.store.unit_of_work import TRANSACTION_CONFLICT, UnitOfWorkFactory

MAX_AMOUNT = 10**12
NO_GATEWAY_AVAILABLE = "no_gateway_available"
_FINISH_ATTEMPTS = 5
_RETRYABLE_CONFLICTS = frozenset({CONCURRENT_MODIFICATION, TRANSACTION_CONFLICT})
MAX_DESCRIPTION_CHARS = 1000
MAX_REFUND_REASON_CHARS = 500
PAYMENT = "pay"
REFUND = "re"


@dataclass(frozen=True, slots=True)
class CardInput:
    number: str
    exp_month: int
    exp_year: int
    cvc: str
    holder_name: str

    def __repr__(self) -> str:  # never let a PAN or CVC reach a log line or a traceback
        return f"CardInput(number={cards.mask(self.number)!r}, exp={self.exp_month}/{self.exp_year})"


@dataclass(frozen=True, slots=True)
class CreatePayment:
    merchant_id: str
    amount: int
    currency: str
    card: CardInput
    customer_id: str
    description: str
    metadata: dict[str, str]
    capture_method: agg.CaptureMethod
    override: Override | None = None
    # Without a card: the method and its account (a UPI address, a PayPal payer's email).
    method_type: MethodType = MethodType.CARD
    method_account: str = ""


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment: agg.PaymentState
    refund_id: str = ""
    replayed: bool = False

    @property
    def refund(self) -> agg.RefundState | None:
        return self.payment.refund(self.refund_id) if self.refund_id else None


def _result_payload(result: PaymentResult) -> dict[str, Any]:
    return {"payment": agg.to_dict(result.payment), "refund_id": result.refund_id}


def _replayed(stored: dict[str, Any]) -> PaymentResult:
    return PaymentResult(agg.from_dict(stored["payment"]), stored.get("refund_id", ""), replayed=True)


def _attempt(gateway: str, operation: str, result: GatewayResult, at: datetime) -> agg.Attempt:
    detail = result.decline_code or (result.message if result.outcome is Outcome.ERROR else "")
    return agg.Attempt(gateway, operation, result.outcome.value, result.reference, result.latency_ms, at, detail)


def _call_attempt(call: Call, operation: str) -> agg.Attempt:
    if call.skipped:
        return agg.Attempt(call.gateway, operation, SKIPPED, "", 0, call.at, call.result.message)
    return _attempt(call.gateway, operation, call.result, call.at)


def _failed_attempts(routed: Routed, operation: str) -> list[agg.Event]:
    """An event per attempt that gave no answer (all of them when none did)."""
    answered = 0 if routed.failed else 1
    calls = routed.calls[: len(routed.calls) - answered]
    return [agg.attempt_event(agg.EventType.ATTEMPT_FAILED, _call_attempt(c, operation)) for c in calls]


def _decline_info(code: str) -> agg.DeclineInfo:
    d = DECLINES.get(code) or DECLINES["generic_decline"]
    return agg.DeclineInfo(code=d.code, error_code=d.error_code, message=d.message, retryable=d.retryable)


class _StaleClaim(Exception):
    """An in-flight key whose request has been silent too long: recover its payment, then retry."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(payment_id)
        self.payment_id = payment_id


class CardAuthentication(Protocol):
    """What runs between a create's transaction 1 and its gateway call (3-D Secure)."""

    async def before_authorization(self, state: agg.PaymentState, pan: str) -> tuple[list[agg.Event], bool]:
        """The events to append first, and whether the payment stops with them (it waits for its
        customer, or authentication failed) instead of going on to the gateway."""
        ...


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
        self._idempotency_ttl = idempotency_ttl
        self._recover_after = recover_after

    def request_fingerprint(self, method: str, request_bytes: bytes) -> str:
        """Keyed, so a stored fingerprint reveals nothing of the card in the request."""
        return hmac.new(self._request_key, method.encode() + b"\0" + request_bytes, "sha256").hexdigest()

    # --- shared steps -----------------------------------------------------------------------

    def _key_owner(self, principal: Principal) -> str:
        return principal.merchant_id or f"adm:{principal.user_id or principal.subject}"

    async def _claim(
        self,
        uow: PaymentStore,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        recovery_point: str = "",
        *,
        optimistic: bool = False,
    ) -> PaymentResult | None:
        """Claim the key, recording what it works on (the recovery point) in the same INSERT.

        ``optimistic`` reserves it with the transaction's commit instead; a key that exists then
        raises ``KeyAlreadyClaimed`` from the commit and the caller runs again without it."""
        if idem is None:
            return None
        now = self._clock()
        if optimistic:
            return await self._reserved(uow, principal, idem, payment_id, now)
        existing = await uow.idempotency.claim(
            self._key_owner(principal),
            idem.key,
            idem.method,
            idem.fingerprint,
            now,
            now + self._idempotency_ttl,
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
            raise _StaleClaim(existing.payment_id)
        return _replayed(refuse_or_replay(existing, idem))

    async def _reserved(
        self, uow: PaymentStore, principal: Principal, idem: IdempotencyKey, payment_id: str, now: datetime
    ) -> PaymentResult | None:
        existing = await uow.idempotency.reserve(
            self._key_owner(principal),
            idem.key,
            idem.method,
            idem.fingerprint,
            now,
            now + self._idempotency_ttl,
            payment_id=payment_id,
        )
        if existing is None:
            return None
        # A unit of work that claims at once found the key: the ordinary path decides.
        raise KeyAlreadyClaimed

    async def _complete(
        self, uow: PaymentStore, principal: Principal, idem: IdempotencyKey | None, result: PaymentResult
    ) -> None:
        if idem is not None:
            blob = encode_result(_result_payload(result))
            await uow.idempotency.complete(self._key_owner(principal), idem.key, OK_CODE, blob, self._clock())

    async def _store_refusal(
        self, uow: PaymentStore, principal: Principal, idem: IdempotencyKey | None, error: FailedPrecondition
    ) -> None:
        """A request that executed and was refused by the payment's rules replays that refusal."""
        if idem is not None:
            await uow.idempotency.complete(
                self._key_owner(principal), idem.key, FAILED_PRECONDITION_CODE, encode_error(error), self._clock()
            )
            await uow.commit()

    async def _visible(
        self, uow: PaymentStore, principal: Principal, state: agg.PaymentState | None, pid: str
    ) -> agg.PaymentState:
        if state is None:
            raise NotFound("payment", pid)
        if principal.is_admin:
            return state
        if principal.role is Role.CUSTOMER:
            if state.customer_id:
                customer = await uow.customers.get(state.customer_id)
                if customer is not None and customer.user_id and customer.user_id == principal.user_id:
                    return state
            raise NotFound("payment", pid)
        if principal.merchant_id != state.merchant_id:
            raise NotFound("payment", pid)
        return state

    async def _finish(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        make_events: Callable[[agg.PaymentState], list[agg.Event]],
        refund_id: str = "",
        known: agg.PaymentState | None = None,
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
                    events = make_events(current)
                    after = agg.replay(payment_id, events, start=current)
                    await uow.payments.save(current, after, events)
                    result = PaymentResult(after, refund_id)
                    await self._complete(uow, principal, idem, result)
                    await uow.commit()
                return result
            except Aborted as conflict:
                if conflict.reason not in _RETRYABLE_CONFLICTS or attempt == _FINISH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # --- create -----------------------------------------------------------------------------

    def _validate_create(self, principal: Principal, cmd: CreatePayment) -> tuple[str, cards.CardSummary | None, str]:
        v = Violations()
        check_id(v, "merchant_id", cmd.merchant_id, "mer", required=False)
        if not 1 <= cmd.amount <= MAX_AMOUNT:
            v.add("amount_minor", f"must be between 1 and {MAX_AMOUNT} minor units", "AMOUNT_OUT_OF_RANGE")
        if cmd.currency:
            check_currency(v, "currency_code", cmd.currency)
        pan = ""
        if cmd.method_type is MethodType.CARD:
            pan = cards.normalize_pan(cmd.card.number)
            cards.check_card(
                v,
                prefix="card",
                number=pan,
                exp_month=cmd.card.exp_month,
                exp_year=cmd.card.exp_year,
                cvc=cmd.card.cvc,
                today=self._clock().date(),
            )
            check_text(v, "card.holder_name", cmd.card.holder_name, max_chars=200)
        elif cmd.method_type is MethodType.UPI:
            check_vpa(v, "upi.vpa", cmd.method_account)
        else:
            check_payer_email(v, "paypal_wallet.email", cmd.method_account)
        check_id(v, "customer_id", cmd.customer_id, "cus", required=False)
        check_text(v, "description", cmd.description, max_chars=MAX_DESCRIPTION_CHARS)
        check_metadata(v, "metadata", cmd.metadata)
        v.raise_if_any()
        merchant_id = merchant_scope(principal, cmd.merchant_id)
        if cmd.method_type is not MethodType.CARD:
            return merchant_id, None, pan
        summary = cards.summarize(pan, cmd.card.exp_month, cmd.card.exp_year, self._card_key)
        return merchant_id, summary, pan

    async def create(self, principal: Principal, cmd: CreatePayment, idem: IdempotencyKey | None) -> PaymentResult:
        merchant_id, summary, pan = self._validate_create(principal, cmd)
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
        except _StaleClaim as stale:
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
        now = self._clock()
        payment_id = ids.new_id(PAYMENT)
        async with self._payment_uow() as uow:
            if (replayed := await self._claim(uow, principal, idem, payment_id, optimistic=optimistic)) is not None:
                return replayed
            merchant = await self._merchant(uow, merchant_id)
            if cmd.customer_id:
                customer = await uow.customers.get(cmd.customer_id)
                if customer is None or customer.merchant_id != merchant_id:
                    raise NotFound("customer", cmd.customer_id)
            new = agg.NewPayment(
                merchant_id=merchant_id,
                amount=cmd.amount,
                currency=cmd.currency or merchant.default_currency,
                pan=pan,
                card=agg.NO_CARD
                if summary is None
                else agg.Card(
                    summary.brand.value,
                    summary.bin,
                    summary.last4,
                    summary.exp_month,
                    summary.exp_year,
                    summary.fingerprint,
                    cmd.card.holder_name.strip(),
                ),
                customer_id=cmd.customer_id,
                description=cmd.description,
                metadata=cmd.metadata,
                capture_method=cmd.capture_method,
                method_type=cmd.method_type.value,
                method_account=cmd.method_account,
            )
            created = agg.created_event(new, merchant.fee_percent_bps, merchant.fee_fixed, now)
            state = agg.create(created, payment_id)
            await uow.payments.save(None, state, [created])
            routing = await uow.routing.load(merchant_id)
            await uow.commit()

        capture = new.capture_method is agg.CaptureMethod.AUTOMATIC
        authentication: list[agg.Event] = []
        if cmd.method_type is not MethodType.CARD:
            method = Upi(cmd.method_account) if cmd.method_type is MethodType.UPI else PayPalWallet(cmd.method_account)
            request = AuthorizationRequest(
                downstream_key=f"{payment_id}:authorize",
                amount=new.amount,
                currency=new.currency,
                pan="",
                capture=capture,
                override=cmd.override,
            )
            return await self._authorize(principal, idem, state, request, method=method, routing=routing)
        if self._three_ds is not None:
            authentication, stop = await self._three_ds.before_authorization(state, pan)
            if stop:  # a challenge for the customer, or a failed authentication: no gateway call
                return await self._finish(principal, idem, payment_id, lambda s: authentication, known=state)
        request = AuthorizationRequest(
            downstream_key=f"{payment_id}:authorize",
            amount=new.amount,
            currency=new.currency,
            pan=pan,
            exp_month=cmd.card.exp_month,
            exp_year=cmd.card.exp_year,
            holder_name=new.card.holder_name,
            capture=capture,
            override=cmd.override,
        )
        return await self._authorize(principal, idem, state, request, authentication, routing=routing)

    async def _authorize(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        state: agg.PaymentState,
        request: AuthorizationRequest,
        first: Sequence[agg.Event] = (),
        *,
        method: Upi | PayPalWallet | None = None,
        routing: RoutingState | None = None,
    ) -> PaymentResult:
        """The routed gateway call of a processing payment, then transaction 2 (after ``first``).
        ``method``: a payment method other than the request's card."""
        routed = await self._router.authorize(state.merchant_id, request, method, routing)
        failed = _failed_attempts(routed, "authorize")
        if routed.result is None:
            # No gateway answered: the payment fails for good, the key is released so that a retry
            # (with the same key) starts a new payment once a gateway is back.
            at = self._clock()
            ended = [*first, *failed, agg.Event(agg.EventType.FAILED, {"reason": NO_GATEWAY_AVAILABLE}, at)]
            await self._finish(principal, None, state.id, lambda s: ended, known=state)
            raise await self._no_gateway(principal, idem, "authorize", routed, state.id)
        answer, gateway = routed.result, routed.gateway
        return await self._finish(
            principal,
            idem,
            state.id,
            lambda s: [*first, *failed, *self._authorization_events(s, answer, request.capture, gateway)],
            known=state,
        )

    async def resume(
        self,
        principal: Principal,
        payment_id: str,
        answer: Callable[[agg.PaymentState], agg.Event],
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
            capture=state.capture_method is agg.CaptureMethod.AUTOMATIC,
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

    def merchants_changed(self) -> None:
        """A merchant's settings changed in this process: forget the cached ones now."""
        self._merchants.clear()

    def _authorization_events(
        self, state: agg.PaymentState, result: GatewayResult, capture: bool, gateway: str
    ) -> list[agg.Event]:
        attempt = _attempt(gateway, "authorize", result, self._clock())
        if result.outcome is Outcome.APPROVED:
            events = [
                agg.attempt_event(agg.EventType.AUTHORIZED, attempt, amount=state.amount, reference=result.reference)
            ]
            if capture:
                fee = agg.fee_for(state.amount, state.fee_percent_bps, state.fee_fixed)
                events.append(agg.Event(agg.EventType.CAPTURED, {"amount": state.amount, "fee": fee}, attempt.at))
            return events
        if result.outcome is Outcome.DECLINED:
            info = _decline_info(result.decline_code)
            decline = {
                "code": info.code,
                "error_code": info.error_code,
                "message": info.message,
                "retryable": info.retryable,
            }
            return [agg.attempt_event(agg.EventType.DECLINED, attempt, decline=decline)]
        return [agg.attempt_event(agg.EventType.FAILED, attempt, reason=result.message or "gateway_error")]

    # --- capture / void / refund --------------------------------------------------------------

    async def _begin(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        decide: Callable[[agg.PaymentState], agg.Event],
        recovery_point: str = "",
    ) -> tuple[agg.PaymentState, PaymentResult | None, RoutingState | None]:
        """Transaction 1 of an operation on an existing payment: claim, lock, decide, append; and
        read what routing needs to know (None for a replay)."""
        v = Violations()
        check_id(v, "payment_id", payment_id, PAYMENT)
        v.raise_if_any()
        try:
            return await self._begin_once(principal, idem, payment_id, decide, recovery_point)
        except _StaleClaim as stale:
            await self.recover(stale.payment_id)
            return await self._begin_once(principal, idem, payment_id, decide, recovery_point)

    async def _begin_once(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        decide: Callable[[agg.PaymentState], agg.Event],
        recovery_point: str,
    ) -> tuple[agg.PaymentState, PaymentResult | None, RoutingState | None]:
        async with self._payment_uow() as uow:
            if (replayed := await self._claim(uow, principal, idem, payment_id, recovery_point)) is not None:
                return replayed.payment, replayed, None
            state = await self._visible(uow, principal, await uow.payments.get(payment_id, for_update=True), payment_id)
            try:
                event = decide(state)
            except FailedPrecondition as refusal:
                await self._store_refusal(uow, principal, idem, refusal)
                raise
            after = agg.apply(state, event)
            await uow.payments.save(state, after, [event])
            if not after.in_progress:  # nothing left for a gateway: the request ends with this commit
                await self._complete(uow, principal, idem, PaymentResult(after))
            routing = await uow.routing.load(state.merchant_id) if after.in_progress else None
            await uow.commit()
        return after, None, routing

    async def _release(self, principal: Principal, idem: IdempotencyKey | None) -> None:
        if idem is not None:
            async with self._uow() as uow:
                await uow.idempotency.release(self._key_owner(principal), idem.key)
                await uow.commit()

    async def _no_gateway(
        self, principal: Principal, idem: IdempotencyKey | None, operation: str, routed: Routed, payment_id: str
    ) -> Unavailable:
        """The error for an operation no gateway carried out; the key is released for the retry."""
        await self._release(principal, idem)
        skipped_only = bool(routed.calls) and all(c.skipped for c in routed.calls)
        return Unavailable(
            f"no gateway could {operation} the payment; retry later",
            reason="CIRCUIT_OPEN" if skipped_only else "GATEWAY_UNAVAILABLE",
            retry_after_seconds=routed.retry_after_seconds,
            metadata={
                "payment_id": payment_id,
                "operation": operation,
                "gateways": ",".join(c.gateway for c in routed.calls),
            },
        )

    def _gateway_of(self, state: agg.PaymentState) -> str:
        return state.gateway or DEFAULT_GATEWAY

    async def capture(
        self, principal: Principal, payment_id: str, amount: int, idem: IdempotencyKey | None
    ) -> PaymentResult:
        self._check_amount("amount_minor", amount)
        now = self._clock()
        state, replayed, routing = await self._begin(
            principal, idem, payment_id, lambda s: agg.request_capture(s, amount, now)
        )
        if replayed is not None:
            return replayed
        capture_amount = state.pending_capture_amount
        routed = await self._router.call(
            state.merchant_id,
            self._gateway_of(state),
            lambda g: g.capture(f"{payment_id}:capture", state.gateway_reference, capture_amount),
            routing,
        )
        attempt = _call_attempt(routed.calls[-1], "capture")
        if routed.result is None or routed.result.outcome is not Outcome.APPROVED:
            reason = routed.calls[-1].result.message or routed.calls[-1].result.decline_code
            await self._finish(
                principal,
                None,
                payment_id,
                lambda s: [agg.attempt_event(agg.EventType.CAPTURE_FAILED, attempt, reason=reason)],
            )
            raise await self._no_gateway(principal, idem, "capture", routed, payment_id)
        return await self._finish(
            principal, idem, payment_id, lambda s: [agg.captured_event(s, capture_amount, attempt)], known=state
        )

    async def void(self, principal: Principal, payment_id: str, idem: IdempotencyKey | None) -> PaymentResult:
        now = self._clock()
        state, replayed, routing = await self._begin(principal, idem, payment_id, lambda s: agg.request_void(s, now))
        if replayed is not None:
            return replayed
        routed = await self._router.call(
            state.merchant_id,
            self._gateway_of(state),
            lambda g: g.void(f"{payment_id}:void", state.gateway_reference),
            routing,
        )
        attempt = _call_attempt(routed.calls[-1], "void")
        if routed.result is None or routed.result.outcome is not Outcome.APPROVED:
            reason = routed.calls[-1].result.message or routed.calls[-1].result.decline_code
            await self._finish(
                principal,
                None,
                payment_id,
                lambda s: [agg.attempt_event(agg.EventType.VOID_FAILED, attempt, reason=reason)],
            )
            raise await self._no_gateway(principal, idem, "void", routed, payment_id)
        return await self._finish(
            principal, idem, payment_id, lambda s: [agg.attempt_event(agg.EventType.VOIDED, attempt)], known=state
        )

    async def refund(
        self, principal: Principal, payment_id: str, amount: int, reason: str, idem: IdempotencyKey | None
    ) -> PaymentResult:
        self._check_amount("amount_minor", amount)
        v = Violations()
        check_text(v, "reason", reason, max_chars=MAX_REFUND_REASON_CHARS)
        v.raise_if_any()
        now = self._clock()
        refund_id = ids.new_id(REFUND)
        state, replayed, routing = await self._begin(
            principal, idem, payment_id, lambda s: agg.request_refund(s, refund_id, amount, reason, now), refund_id
        )
        if replayed is not None:
            return replayed
        refund = state.refund(refund_id)
        routed = await self._router.call(
            state.merchant_id,
            self._gateway_of(state),
            lambda g: g.refund(f"{payment_id}:{refund_id}", state.gateway_reference, refund.amount),
            routing,
        )
        last = routed.calls[-1]
        attempt = _call_attempt(last, "refund")
        if routed.failed:
            # The gateway gave no answer: the refund is recorded as failed, and the caller is told
            # to retry (the key is released, so the retry asks again).
            failure = {"refund_id": refund_id, "reason": last.result.message}
            await self._finish(
                principal,
                None,
                payment_id,
                lambda s: [agg.attempt_event(agg.EventType.REFUND_FAILED, attempt, **failure)],
            )
            raise await self._no_gateway(principal, idem, "refund", routed, payment_id)
        if last.result.outcome is Outcome.APPROVED:
            kind, data = agg.EventType.REFUND_SUCCEEDED, {"refund_id": refund_id}
        else:
            kind, data = (
                agg.EventType.REFUND_FAILED,
                {"refund_id": refund_id, "reason": last.result.message or last.result.decline_code},
            )
        return await self._finish(
            principal, idem, payment_id, lambda s: [agg.attempt_event(kind, attempt, **data)], refund_id, known=state
        )

    # --- recovery ---------------------------------------------------------------------------

    async def recover_stuck(self, limit: int = 100) -> int:
        """Finish payments whose gateway outcome has been outstanding longer than the recovery
        delay (the process that called the gateway died between its two transactions)."""
        async with self._uow() as uow:
            stuck = await uow.payments.stuck(self._clock() - self._recover_after, limit)
        recovered = 0
        for payment_id in stuck:
            if await self.recover(payment_id):
                recovered += 1
        return recovered

    async def recover(self, payment_id: str) -> bool:
        """Ask the gateway what became of each outstanding call and record it; complete the keys
        that were waiting on it. True if anything was recorded."""
        async with self._uow() as uow:
            state = await uow.payments.get(payment_id)
        if state is None or not state.in_progress:
            return False
        events: list[agg.Event] = []
        failed_ops: set[str] = set()
        if state.status is agg.Status.PROCESSING:
            gateway, found = await self._router.status(f"{payment_id}:authorize")
            capture = state.capture_method is agg.CaptureMethod.AUTOMATIC
            if found is None or found.outcome is Outcome.ERROR:
                at = self._clock()
                events = [agg.Event(agg.EventType.FAILED, {"reason": "processing_interrupted"}, at)]
            else:
                events = self._authorization_events(state, found, capture, gateway)
        elif state.pending_operation:
            op = state.pending_operation
            gateway, found = await self._router.status(f"{payment_id}:{op}", self._gateway_of(state))
            if found is not None and found.outcome is Outcome.APPROVED:
                attempt = _attempt(gateway, op, found, self._clock())
                events = [
                    agg.captured_event(state, state.pending_capture_amount, attempt)
                    if op == "capture"
                    else agg.attempt_event(agg.EventType.VOIDED, attempt)
                ]
            else:
                failed_ops.add(op)
                kind = agg.EventType.CAPTURE_FAILED if op == "capture" else agg.EventType.VOID_FAILED
                events = [agg.Event(kind, {"reason": f"{op}_interrupted"}, self._clock())]
        for refund in state.refunds:
            if refund.status != "pending":
                continue
            gateway, found = await self._router.status(f"{payment_id}:{refund.id}", self._gateway_of(state))
            if found is not None and found.outcome is Outcome.APPROVED:
                attempt = _attempt(gateway, "refund", found, self._clock())
                events.append(agg.attempt_event(agg.EventType.REFUND_SUCCEEDED, attempt, refund_id=refund.id))
            else:
                reason = "refund_interrupted" if found is None else (found.message or found.decline_code)
                events.append(
                    agg.Event(agg.EventType.REFUND_FAILED, {"refund_id": refund.id, "reason": reason}, self._clock())
                )
        async with self._uow() as uow:
            current = await uow.payments.get(payment_id, for_update=True)
            if current is None or current.version != state.version:
                return False  # finished by its own request meanwhile
            after = agg.replay(payment_id, events, start=current)
            await uow.payments.save(current, after, events)
            for owner, key, point in await uow.idempotency.in_flight_for_payment(payment_id):
                stored = await uow.idempotency.get(owner, key)
                if stored is not None and stored.method.endswith(("CapturePayment", "VoidPayment")) and failed_ops:
                    await uow.idempotency.release(owner, key)  # the request failed: a retry may run it again
                    continue
                payload = _result_payload(PaymentResult(after, point if point.startswith(REFUND + "_") else ""))
                await uow.idempotency.complete(owner, key, OK_CODE, encode_result(payload), self._clock())
            await uow.commit()
        return True

    async def flush_gateway_statistics(self) -> None:
        await self._router.flush_statistics()

    async def prune_idempotency_keys(self) -> int:
        async with self._uow() as uow:
            removed = await uow.idempotency.prune(self._clock())
            await uow.commit()
        return removed

    def _check_amount(self, field: str, amount: int) -> None:
        if not 0 <= amount <= MAX_AMOUNT:
            v = Violations()
            v.add(field, f"must be between 0 (everything) and {MAX_AMOUNT} minor units", "AMOUNT_OUT_OF_RANGE")
            v.raise_if_any()

    # --- reads ------------------------------------------------------------------------------

    async def get(self, principal: Principal, payment_id: str) -> agg.PaymentState:
        v = Violations()
        check_id(v, "payment_id", payment_id, PAYMENT)
        v.raise_if_any()
        async with self._uow() as uow:
            return await self._visible(uow, principal, await uow.payments.get(payment_id), payment_id)

    async def refunds(
        self, principal: Principal, payment_id: str, after: int, limit: int
    ) -> tuple[agg.PaymentState, list[agg.RefundState], bool]:
        """The payment, up to ``limit`` of its refunds after the first ``after``, and whether more follow."""
        state = await self.get(principal, payment_id)
        page = list(state.refunds[after : after + limit])
        return state, page, len(state.refunds) > after + limit

    async def events(
        self, principal: Principal, payment_id: str, after_version: int, limit: int
    ) -> tuple[agg.PaymentState, list[StoredEvent], bool]:
        """The payment, up to ``limit`` of its events after ``after_version``, and whether more follow."""
        async with self._uow() as uow:
            v = Violations()
            check_id(v, "payment_id", payment_id, PAYMENT)
            v.raise_if_any()
            state = await self._visible(uow, principal, await uow.payments.get(payment_id), payment_id)
            rows = await uow.payments.events(payment_id, after_version=after_version, limit=limit + 1)
        return state, rows[:limit], len(rows) > limit

    async def list_page(
        self, principal: Principal, requested_merchant: str, f: PaymentFilter, cursor: Any, limit: int
    ) -> tuple[list[agg.PaymentState], bool]:
        v = Violations()
        check_id(v, "merchant_id", requested_merchant, "mer", required=False)
        check_id(v, "customer_id", f.customer_id or "", "cus", required=False)
        v.raise_if_any()
        async with self._uow() as uow:
            if principal.is_admin:
                f = replace(f, merchant_id=requested_merchant or None)
            elif principal.role is Role.CUSTOMER:
                if requested_merchant:
                    raise NotFound("merchant", requested_merchant)
                linked, _ = await uow.customers.list_page(
                    merchant_id=None, user_id=principal.user_id or "-", email=None, cursor=None, limit=500
                )
                allowed = {c.id for c in linked}
                if f.customer_id and f.customer_id not in allowed:
                    return [], False
                if not allowed:
                    return [], False
                if not f.customer_id:
                    # A customer account is linked to few records; list each one's payments.
                    f = replace(f, customer_ids=tuple(sorted(allowed)))
            else:
                f = replace(f, merchant_id=merchant_scope(principal, requested_merchant))
            return await uow.payments.list_page(f, cursor, limit)
