"""Finishing payments whose gateway outcome is outstanding because the process that called the
gateway died between its two transactions: the gateway is asked what became of each call (by its
downstream key), that is recorded, and the idempotency keys waiting on it are completed."""

from __future__ import annotations

from datetime import timedelta

from paysim.domain import payment, payment_rules
from paysim.domain.gateway_settings import DEFAULT_GATEWAY
from paysim.domain.payment_events import (
    PaymentEvent,
    PaymentFailed,
    PaymentVoided,
    RefundFailed,
    RefundSucceeded,
)
from paysim.gateways.base import Outcome
from paysim.services.clock import Clock
from paysim.services.clock_time import on_its_clock
from paysim.services.dispute_opening import DisputeOpening
from paysim.services.idempotency import OK_CODE, encode_result
from paysim.services.payment_commands import REFUND, PaymentResult, result_payload
from paysim.services.payment_outcomes import attempt_of, authorization_events, interrupted
from paysim.services.routing import GatewayRouter
from paysim.store.unit_of_work import UnitOfWorkFactory


def gateway_of(state: payment.PaymentState) -> str:
    """Where capture, void and refund go: the gateway that authorized the payment."""
    return state.gateway or DEFAULT_GATEWAY


class PaymentRecovery:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        router: GatewayRouter,
        clock: Clock,
        recover_after: timedelta,
        opening: DisputeOpening | None = None,
    ) -> None:
        self._uow = uow
        self._opening = opening
        self._router = router
        self._clock = clock
        self._recover_after = recover_after

    async def recover_stuck(self, limit: int = 100) -> int:
        """Finish payments whose gateway outcome has been outstanding longer than the recovery delay."""
        async with self._uow() as uow:
            stuck = await uow.payments.stuck(self._clock() - self._recover_after, limit)
            # On a test clock, a call counts as outstanding for long once its clock moved past the delay.
            on_clocks = await uow.payments.in_progress_on_clocks(limit)
        stuck += [pid for pid, updated_at, clock_time in on_clocks if updated_at < clock_time - self._recover_after]
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
        events, operation_failed = await self._operation_outcome(state)
        events += await self._refund_outcomes(state)
        async with self._uow() as uow:
            current = await uow.payments.get(payment_id, for_update=True)
            if current is None or current.version != state.version:
                return False  # finished by its own request meanwhile
            events = await on_its_clock(uow, current, events)
            if self._opening is not None:  # a dispute card's capture opens its dispute, from the capture's time
                events = self._opening.with_dispute(current, events)
            after = payment.replay(payment_id, events, start=current)
            await uow.payments.save(current, after, events)
            for owner, key, point in await uow.idempotency.in_flight_for_payment(payment_id):
                stored = await uow.idempotency.get(owner, key)
                if (
                    stored is not None
                    and stored.method.endswith(("CapturePayment", "VoidPayment"))
                    and operation_failed
                ):
                    await uow.idempotency.release(owner, key)  # the request failed: a retry may run it again
                    continue
                payload = result_payload(PaymentResult(after, point if point.startswith(REFUND + "_") else ""))
                await uow.idempotency.complete(owner, key, OK_CODE, encode_result(payload), self._clock())
            await uow.commit()
        return True

    async def _operation_outcome(self, state: payment.PaymentState) -> tuple[list[PaymentEvent], bool]:
        """The events of an outstanding authorization, capture or void, and whether a capture or
        void failed."""
        if state.status is payment.Status.PROCESSING:
            gateway, found = await self._router.status(f"{state.id}:authorize")
            if found is None or found.outcome is Outcome.ERROR:
                return [PaymentFailed(at=self._clock(), reason="processing_interrupted")], False
            capture = state.capture_method is payment.CaptureMethod.AUTOMATIC
            return authorization_events(state, found, capture, gateway, self._clock()), False
        operation = state.pending_operation
        if not operation:
            return [], False
        gateway, found = await self._router.status(f"{state.id}:{operation}", gateway_of(state))
        if found is None or found.outcome is not Outcome.APPROVED:
            return [interrupted(operation, self._clock())], True
        attempt = attempt_of(gateway, operation, found, self._clock())
        if operation == "capture":
            return [payment_rules.captured_event(state, state.pending_capture_amount, attempt, attempt.at)], False
        return [PaymentVoided(at=attempt.at, attempt=attempt)], False

    async def _refund_outcomes(self, state: payment.PaymentState) -> list[PaymentEvent]:
        events: list[PaymentEvent] = []
        for refund in state.refunds:
            if refund.status != "pending":
                continue
            gateway, found = await self._router.status(f"{state.id}:{refund.id}", gateway_of(state))
            if found is not None and found.outcome is Outcome.APPROVED:
                attempt = attempt_of(gateway, "refund", found, self._clock())
                events.append(RefundSucceeded(at=attempt.at, refund_id=refund.id, attempt=attempt))
            else:
                reason = "refund_interrupted" if found is None else (found.message or found.decline_code)
                events.append(RefundFailed(at=self._clock(), refund_id=refund.id, reason=reason))
        return events
