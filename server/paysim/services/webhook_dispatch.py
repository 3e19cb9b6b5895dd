"""The webhook dispatcher: takes due deliveries from the outbox and sends them.

One asyncio task per server process. It claims due deliveries (a short transaction that counts
the attempt and leases the row), sends each outside any transaction, then records the attempt and
the delivery's next state in a second short transaction. Several processes may run dispatchers
on one PostgreSQL database: a claim skips rows another is claiming (SKIP LOCKED) and a leased row
is not due, so no attempt is sent twice while its lease lasts (the lease outlives the attempt's
timeout). A process that dies mid-attempt leaves the lease to run out: the attempt is then made
again, by any process, with the same event id (at least once).

It is woken by commits of this process that wrote deliveries, and otherwise looks again when the
earliest pending delivery falls due, at least every ``poll_seconds``.

A delivery of an event of a payment on a test clock lives on that clock: it is due when the
clock's time reaches it (its first attempt at the event's time, so at once), its attempts are
recorded at the clock's time, and a failed one is retried on the documented schedule counted on
the clock (never scaled: the clock is what makes a test fast). The dispatcher makes those due by
the clock's current time; the clock's advance makes those that fall due as it moves, in time order
with its other transitions (``send_due_on_clock``, services/clock_transitions.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from paysim.domain import payment
from paysim.domain.errors import Unavailable
from paysim.domain.webhooks import (
    DELIVERY_ID_HEADER,
    ENDPOINT_GONE,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    retry_delay,
    signature_header,
)
from paysim.observability import metrics, tracing
from paysim.security.webhook_secrets import SecretBox
from paysim.services.clock import Clock
from paysim.services.task_stopping import stop_tasks
from paysim.services.webhook_sender import SendResult, WebhookSender
from paysim.store.repositories.webhooks import ClaimedDelivery, SealedSecrets
from paysim.store.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("paysim.webhooks")

USER_AGENT = "paysim-webhooks/1"
ATTEMPT_HEADER = "Paysim-Attempt"
GONE = 410
MIN_WAIT_SECONDS = 0.01

RenderPayment = Callable[[payment.PaymentState], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    lease: timedelta = timedelta(seconds=60)
    backoff_scale: float = 1.0
    max_attempts: int = 8
    poll_seconds: float = 1.0
    concurrency: int = 16


def event_body(delivery: WebhookDelivery, created: datetime, payment: Mapping[str, Any]) -> bytes:
    """The JSON body: the event (its id is the receiver's dedupe key) with the payment as of it."""
    event = {
        "id": delivery.event_id,
        "object": "event",
        "type": delivery.event_type,
        "created": int(created.timestamp()),
        "merchant_id": delivery.merchant_id,
        "sequence": delivery.sequence,
        "data": {"object": dict(payment)},
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


class WebhookDispatcher:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sender: WebhookSender,
        box: SecretBox,
        render: RenderPayment,
        clock: Clock,
        config: DispatchConfig,
        doorbell: asyncio.Event | None = None,
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._box = box
        self._render = render
        self._clock = clock
        self.config = config
        # Set by commits that made deliveries due and by finished attempts (a free slot).
        self._doorbell = doorbell or asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._doorbell.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="paysim-webhook-dispatcher")

    async def stop(self) -> None:
        """Stop claiming and abandon attempts in flight: their leases run out and they are made
        again (by this process after a restart, or by another)."""
        self._stopping = True  # ends the loop even if its cancellation is lost (task_stopping.py)
        await stop_tasks([self._task, *self._in_flight])
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._doorbell.clear()
            wait = self.config.poll_seconds
            try:
                wait = await self._claim_and_send()
            except Unavailable as error:  # the database is away or busy: the next round retries
                log.warning("webhook dispatch round failed", extra={"fields": {"reason": error.reason}})
            except Exception:  # never let the dispatcher die of it
                log.exception("webhook dispatch round failed")
            if wait > 0:
                try:
                    async with asyncio.timeout(wait):
                        await self._doorbell.wait()
                except TimeoutError:
                    pass

    async def _claim_and_send(self) -> float:
        """Claim what is due and fits, start sending it; returns how long to wait for more."""
        free = self.config.concurrency - len(self._in_flight)
        if free <= 0:
            return self.config.poll_seconds  # a finished attempt rings the doorbell
        now = self._clock()
        async with self._uow() as uow:
            claimed = await uow.webhook_deliveries.claim(now, now + self.config.lease, free)
            next_due = await uow.webhook_deliveries.next_due() if len(claimed) < free else None
            if metrics.enabled():  # one count per round, only for the metrics
                metrics.webhook_queue_depth(await uow.webhook_deliveries.pending_count())
            await uow.commit()
        for item in claimed:
            metrics.webhook_attempt_started()
            task = asyncio.create_task(self._attempt(item), name=f"paysim-webhook-{item.delivery.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
        if len(claimed) == free:
            return 0.0 if len(self._in_flight) < self.config.concurrency else self.config.poll_seconds
        if next_due is None:
            return self.config.poll_seconds
        until = (next_due - self._clock()).total_seconds()
        return min(max(until, MIN_WAIT_SECONDS), self.config.poll_seconds)

    async def next_due_on_clock(self, test_clock_id: str) -> datetime | None:
        """The clock time the earliest delivery of a test clock falls due at."""
        async with self._uow() as uow:
            return await uow.webhook_deliveries.next_on_clock(test_clock_id, self._clock())

    async def send_due_on_clock(self, test_clock_id: str, up_to: datetime, limit: int) -> int:
        """Make, one after another in the clock's time order, the attempts of a test clock's
        deliveries due by ``up_to`` on it; returns how many were made."""
        now = self._clock()
        async with self._uow() as uow:
            claimed = await uow.webhook_deliveries.claim_on_clock(
                test_clock_id, up_to, now, now + self.config.lease, limit
            )
            await uow.commit()
        for item in claimed:
            metrics.webhook_attempt_started()
            try:
                await self._attempt(item)
            finally:
                metrics.webhook_attempt_ended()
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        metrics.webhook_attempt_ended()
        self._doorbell.set()

    async def _attempt(self, claimed: ClaimedDelivery) -> None:
        delivery = claimed.delivery
        started = self._clock()
        try:
            body = await self._body(delivery)
            secrets = self._signing_secrets(claimed.secrets, delivery.endpoint_id, started)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: signature_header(secrets, int(started.timestamp()), body),
                EVENT_ID_HEADER: delivery.event_id,
                DELIVERY_ID_HEADER: delivery.id,
                ATTEMPT_HEADER: str(delivery.attempt_count),
            }
            result = await tracing.traced_delivery(delivery.event_id, headers, self._sender.post, claimed.url, body)
        except Exception:
            log.exception("webhook attempt could not be made", extra={"fields": {"delivery_id": delivery.id}})
            result = SendResult(0, "internal error", int((self._clock() - started).total_seconds() * 1000))
        try:
            await self._record(delivery, claimed.clock_time or started, result, on_clock=claimed.clock_time is not None)
        except Exception:  # the lease runs out and the attempt is made again
            log.exception("webhook attempt not recorded", extra={"fields": {"delivery_id": delivery.id}})

    async def _body(self, delivery: WebhookDelivery) -> bytes:
        async with self._uow() as uow:
            events = await uow.payments.events(delivery.payment_id, limit=delivery.event_version)
        state = payment.replay(delivery.payment_id, [e.as_domain() for e in events])
        return event_body(delivery, events[-1].created_at, self._render(state))

    def _signing_secrets(self, sealed: SealedSecrets, endpoint_id: str, now: datetime) -> list[str]:
        secrets = [self._box.open(sealed.current, endpoint_id)]
        if sealed.previous and sealed.previous_expires_at is not None and now < sealed.previous_expires_at:
            secrets.append(self._box.open(sealed.previous, endpoint_id))
        return secrets

    async def _record(
        self, delivery: WebhookDelivery, started: datetime, result: SendResult, *, on_clock: bool
    ) -> None:
        """Record the attempt started at ``started`` (on its test clock's time when ``on_clock``:
        the next one is due from there, on the unscaled schedule) and move the delivery on."""
        number = delivery.attempt_count
        real_now = self._clock()
        now = started if on_clock else real_now
        gone = result.http_status == GONE
        if 200 <= result.http_status < 300:
            state, next_at = DeliveryState.DELIVERED, now
        elif gone:
            state, next_at = DeliveryState.DEAD, now
        else:
            scale = 1.0 if on_clock else self.config.backoff_scale
            delay = retry_delay(number, scale, self.config.max_attempts)
            state, next_at = (DeliveryState.DEAD, now) if delay is None else (DeliveryState.PENDING, now + delay)
        attempt = WebhookAttempt(number, started, result.http_status, result.error, result.duration_ms)
        async with self._uow() as uow:
            moved = await uow.webhook_deliveries.finish_attempt(delivery.id, attempt, state, next_at, now)
            if moved and gone:
                await uow.webhook_endpoints.disable(delivery.endpoint_id, ENDPOINT_GONE, real_now)
            await uow.commit()
        metrics.webhook_attempt_recorded(state.value if moved else "superseded")
        log.info(
            "webhook attempt",
            extra={
                "fields": {
                    "delivery_id": delivery.id,
                    "endpoint_id": delivery.endpoint_id,
                    "event_id": delivery.event_id,
                    "attempt": number,
                    "http_status": result.http_status,
                    "error": result.error,
                    "duration_ms": result.duration_ms,
                    "state": state.value if moved else "superseded",
                }
            },
        )
