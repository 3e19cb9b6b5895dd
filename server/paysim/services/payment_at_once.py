"""A payment created and authorized in one transaction, when its gateway answers at once.

A create takes two transactions (services/payments.py) for gateways that take time or can fail
apart from this process: the first makes the payment durable before the call, so that a process
that dies during the call leaves a payment the recovery sweep finishes. When the call is this
process's own work, done at once (``GatewayRouter.answers_at_once``: no latency configured or
asked for, no outage, script or chaos in force), a process that dies during it loses the whole
uncommitted transaction and leaves nothing to recover; so the payment, its 3-D Secure result, the
gateway's answer and the idempotent result share one commit: one connection, one round trip of
writes and one COMMIT instead of two.

Only where other transactions can write while this one is open (PostgreSQL): a gateway failure
records its breaker in a transaction of its own, which on SQLite would wait for this one's lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from paysim.domain import payment
from paysim.domain.payment_events import PaymentEvent, PaymentFailed
from paysim.domain.principal import Principal
from paysim.gateways.base import AuthorizationRequest
from paysim.services.clock import Clock
from paysim.services.clock_time import on_its_clock
from paysim.services.idempotency import IdempotencyKey
from paysim.services.payment_commands import PaymentResult
from paysim.services.payment_creation import fraud_block
from paysim.services.payment_keys import PaymentKeys
from paysim.services.payment_outcomes import NO_GATEWAY_AVAILABLE, authorization_events, failed_attempts, no_gateway
from paysim.services.routing import GatewayRouter, Routed
from paysim.store.ports import PaymentStore
from paysim.store.repositories.routing_state import RoutingState


class CardAuthentication(Protocol):
    """What runs between a create's transaction 1 and its gateway call (3-D Secure)."""

    async def before_authorization(self, state: payment.PaymentState, pan: str) -> tuple[list[PaymentEvent], bool]:
        """The events to append first, and whether the payment stops with them (it waits for its
        customer, or authentication failed) instead of going on to the gateway."""
        ...


WithDispute = Callable[[payment.PaymentState, Sequence[PaymentEvent]], list[PaymentEvent]]
# What carrying out an operation on an existing payment appends, and the routing when no gateway
# carried it out (None when one answered).
CarriedOut = tuple[list[PaymentEvent], Routed | None]
CarryOut = Callable[[payment.PaymentState, RoutingState | None], Awaitable[CarriedOut]]


class OperationAtOnce:
    def __init__(self, keys: PaymentKeys, with_dispute: WithDispute) -> None:
        self._keys = keys
        self._with_dispute = with_dispute

    async def __call__(
        self,
        uow: PaymentStore,
        principal: Principal,
        idem: IdempotencyKey | None,
        before: payment.PaymentState,
        requested: PaymentEvent,
        carried: CarriedOut,
        operation: str,
        refund_id: str = "",
    ) -> PaymentResult:
        """Finish in ``uow`` an operation (capture, void, refund) whose transaction 1 locked
        ``before`` and decided ``requested`` (not saved yet): its gateway's answer ``carried`` is
        recorded with it, as a transaction 2 would have (services/payment_operations.py)."""
        after = payment.apply(before, requested)
        answer, failed = carried
        later = self._with_dispute(after, await on_its_clock(uow, after, answer))
        final = payment.replay(before.id, later, start=after)
        await uow.payments.save(before, final, [requested, *later])
        if failed is not None:  # no gateway carried it out: the failure is kept, the key released
            await uow.commit()
            await self._keys.release(principal, idem)
            raise no_gateway(operation, failed, before.id)
        result = PaymentResult(final, refund_id)
        await self._keys.complete(uow, principal, idem, result)
        await uow.commit()
        return result


class CreateAtOnce:
    def __init__(
        self,
        router: GatewayRouter,
        three_ds: CardAuthentication | None,
        with_dispute: WithDispute,
        clock: Clock,
        keys: PaymentKeys,
    ) -> None:
        self._router = router
        self._three_ds = three_ds
        self._with_dispute = with_dispute
        self._clock = clock
        self._keys = keys

    async def __call__(
        self,
        uow: PaymentStore,
        principal: Principal,
        idem: IdempotencyKey | None,
        state: payment.PaymentState,
        created: PaymentEvent,
        pan: str,
        request: AuthorizationRequest,
        routing: RoutingState,
    ) -> PaymentResult:
        """Finish, in ``uow`` (the transaction that created ``state`` with ``created`` but has not
        saved it yet), what the second transaction of a two-phase create would have done."""
        later, routed = await self._after_creation(uow, state, pan, request, routing)
        after = payment.replay(state.id, later, start=state)
        await uow.payments.save(None, after, [created, *later])
        if routed is not None and routed.result is None:  # no gateway answered: failed, and the key released
            await uow.commit()
            await self._keys.release(principal, idem)
            raise no_gateway("authorize", routed, state.id)
        result = PaymentResult(after)
        await self._keys.complete(uow, principal, idem, result)
        await uow.commit()
        return result

    async def _after_creation(
        self,
        uow: PaymentStore,
        state: payment.PaymentState,
        pan: str,
        request: AuthorizationRequest,
        routing: RoutingState,
    ) -> tuple[list[PaymentEvent], Routed | None]:
        """A fraud rule's block, or the 3-D Secure result, the failed attempts and the answer (or the
        failure when no gateway answered); and the routing (None when the payment stopped before any
        gateway call)."""
        first = fraud_block(state.card, state.created_at)  # a fraud rule blocks it
        stop = bool(first)
        if not stop and self._three_ds is not None and request.method is None:
            first, stop = await self._three_ds.before_authorization(state, pan)
        if stop:
            return self._with_dispute(state, await on_its_clock(uow, state, first)), None
        routed = await self._router.authorize(state.merchant_id, request, routing)
        failed = failed_attempts(routed, "authorize")
        if routed.result is None:
            answer: list[PaymentEvent] = [PaymentFailed(at=self._clock(), reason=NO_GATEWAY_AVAILABLE)]
        else:
            answer = authorization_events(state, routed.result, request.capture, routed.gateway, self._clock())
        return self._with_dispute(state, await on_its_clock(uow, state, [*first, *failed, *answer])), routed
