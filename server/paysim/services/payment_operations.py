"""Capture, void and refund: operations on an existing payment at the gateway that holds its
authorization.

Each is requested in transaction 1 (claim the key, lock the payment, decide, append), carried out
by the gateway, and its answer recorded in transaction 2; or, where the store takes concurrent
writers and that gateway answers at once, carried out and recorded inside transaction 1 itself
(services/payment_at_once.py). Without an answer the failure is recorded (the payment keeps its
money where it was), the key is released and the caller is told to retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from paysim.domain import ids, payment, payment_rules, refund_settlement
from paysim.domain.errors import FailedPrecondition
from paysim.domain.payment_events import PaymentEvent, PaymentVoided, RefundFailed
from paysim.domain.principal import Principal
from paysim.domain.validation import Violations, check_text
from paysim.gateways.base import Gateway, GatewayResult, Outcome
from paysim.gateways.engine import CatalogueCards
from paysim.services.authorization_expiry import AuthorizationExpiry
from paysim.services.idempotency import IdempotencyKey
from paysim.services.payment_at_once import CarriedOut, CarryOut
from paysim.services.payment_commands import MAX_REFUND_REASON_CHARS, REFUND, PaymentResult, check_amount
from paysim.services.payment_keys import PaymentKeys
from paysim.services.payment_outcomes import call_attempt, no_gateway, operation_failed
from paysim.services.payment_recovery import gateway_of
from paysim.services.routing import GatewayRouter
from paysim.store.repositories.routing_state import RoutingState

GatewayCall = Callable[[Gateway], Awaitable[GatewayResult]]
# What an operation on an existing payment appends first, decided on its state at its time.
Decision = Callable[[payment.PaymentState, datetime], PaymentEvent]


class Transactions(Protocol):
    """The payment service's two transactions, as the operations use them."""

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
    ) -> tuple[payment.PaymentState, PaymentResult | None, RoutingState | None]: ...

    async def finish(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        make_events: Callable[[payment.PaymentState], list[PaymentEvent]],
        refund_id: str = "",
        known: payment.PaymentState | None = None,
    ) -> PaymentResult: ...


class PaymentOperations:
    def __init__(
        self,
        transactions: Transactions,
        router: GatewayRouter,
        keys: PaymentKeys,
        expiry: AuthorizationExpiry,
        test_cards: CatalogueCards,
    ) -> None:
        self._tx = transactions
        self._router = router
        self._keys = keys
        self._expiry = expiry
        self._test_cards = test_cards

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
        """A capture or a void; without an approval the payment stays authorized."""

        async def carry_out(state: payment.PaymentState, routing: RoutingState | None) -> CarriedOut:
            routed = await self._router.call(state.merchant_id, gateway_of(state), gateway_call(state), routing)
            if routed.result is None or routed.result.outcome is not Outcome.APPROVED:
                return [operation_failed(operation, routed)], routed
            return [approved(state, call_attempt(routed.calls[-1], operation))], None

        return await self._operate(principal, idem, payment_id, operation, request, carry_out)

    async def refund(
        self, principal: Principal, payment_id: str, amount: int, reason: str, idem: IdempotencyKey | None
    ) -> PaymentResult:
        check_amount("amount_minor", amount)
        v = Violations()
        check_text(v, "reason", reason, max_chars=MAX_REFUND_REASON_CHARS)
        v.raise_if_any()
        refund_id = ids.new_id(REFUND)

        async def carry_out(state: payment.PaymentState, routing: RoutingState | None) -> CarriedOut:
            refund = state.refund(refund_id)
            routed = await self._router.call(
                state.merchant_id,
                gateway_of(state),
                lambda g: g.refund(f"{payment_id}:{refund_id}", state.gateway_reference, refund.amount),
                routing,
            )
            last = routed.calls[-1]
            attempt = call_attempt(last, "refund")
            if routed.failed:  # no answer: recorded as failed, and the caller told to retry
                failure = RefundFailed(at=attempt.at, refund_id=refund_id, reason=last.result.message, attempt=attempt)
                return [failure], routed
            if last.result.outcome is Outcome.APPROVED:
                # A refund test card makes the refund asynchronous: it settles (or fails) later.
                scenario = self._test_cards.scenario(state.card.fingerprint)
                kind = None if scenario is None else scenario.kind
                return [refund_settlement.accepted(kind, refund_id, refund.created_at, attempt.at, attempt)], None
            reason = last.result.message or last.result.decline_code
            return [RefundFailed(at=attempt.at, refund_id=refund_id, reason=reason, attempt=attempt)], None

        def request(state: payment.PaymentState, now: datetime) -> PaymentEvent:
            return payment_rules.request_refund(state, refund_id, amount, reason, now)

        return await self._operate(principal, idem, payment_id, "refund", request, carry_out, refund_id)

    async def _operate(
        self,
        principal: Principal,
        idem: IdempotencyKey | None,
        payment_id: str,
        operation: str,
        request: Decision,
        carry_out: CarryOut,
        refund_id: str = "",
    ) -> PaymentResult:
        state, done, routing = await self._tx.begin(
            principal, idem, payment_id, request, refund_id, carry_out=carry_out, operation=operation
        )
        if done is not None:  # replayed, or carried out at once
            return done
        answer, failed = await carry_out(state, routing)
        if failed is not None:
            await self._tx.finish(principal, None, payment_id, lambda s: answer)
            await self._keys.release(principal, idem)
            raise no_gateway(operation, failed, payment_id)
        return await self._tx.finish(principal, idem, payment_id, lambda s: answer, refund_id, known=state)
