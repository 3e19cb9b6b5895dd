"""Dispute use cases: read and list disputes, submit evidence, accept; and the passing of time
(evidence deadlines, reviews) on real time (the housekeeping round) and on test clocks
(``run_due``, a ``ClockTransitions`` source of services/test_clocks.py).

A dispute is part of its payment (domain/disputes.py): every change locks the payment's row,
appends the dispute's events to the payment's history and writes both projections in one commit,
so subscribers and webhooks see them like any payment event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from paysim.domain import dispute_rules, ids, payment
from paysim.domain.disputes import (
    EVIDENCE_FIELDS,
    MAX_EVIDENCE_FIELD_CHARS,
    MAX_EVIDENCE_TOTAL_CHARS,
    DisputeStatus,
)
from paysim.domain.errors import Aborted, NotFound
from paysim.domain.payment_events import PaymentEvent
from paysim.domain.principal import Principal
from paysim.domain.roles import Role
from paysim.domain.test_clocks import TestClock
from paysim.domain.validation import Violations, check_id
from paysim.services.clock import Clock
from paysim.services.payment_commands import PAYMENT
from paysim.services.payment_reads import visible
from paysim.services.tenancy import target_merchant
from paysim.store.repositories.disputes import DisputeFilter
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from paysim.store.unit_of_work import TRANSACTION_CONFLICT, UnitOfWorkFactory

_ATTEMPTS = 5
_BATCH = 100

Decide = Callable[[payment.PaymentState], list[PaymentEvent]]
Answer = Callable[[payment.PaymentState, datetime], list[PaymentEvent]]


def check_dispute_id(dispute_id: str) -> None:
    v = Violations()
    check_id(v, "dispute_id", dispute_id, ids.DISPUTE)
    v.raise_if_any()


def check_evidence(v: Violations, evidence: Mapping[str, str]) -> dict[str, str]:
    """The evidence's non-empty text fields; each bad field added to ``v``."""
    total = 0
    for name in EVIDENCE_FIELDS:
        value = evidence.get(name, "")
        total += len(value)
        if len(value) > MAX_EVIDENCE_FIELD_CHARS:
            v.add(f"evidence.{name}", f"must be at most {MAX_EVIDENCE_FIELD_CHARS} characters", "TOO_LONG")
        # Line breaks and tabs are text; other control characters (a NUL above all) are not.
        if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
            v.add(f"evidence.{name}", "must not contain control characters", "INVALID_CHARACTERS")
    if total > MAX_EVIDENCE_TOTAL_CHARS:
        v.add("evidence", f"must be at most {MAX_EVIDENCE_TOTAL_CHARS} characters in all", "TOO_LONG")
    elif total == 0 or not any(evidence.get(n, "").strip() for n in EVIDENCE_FIELDS):
        v.add("evidence", "must have at least one field with text", "REQUIRED")
    return {n: evidence[n] for n in EVIDENCE_FIELDS if evidence.get(n)}


def _check_statuses(v: Violations, statuses: tuple[str, ...]) -> None:
    known = {s.value for s in DisputeStatus}
    for i, status in enumerate(statuses):
        if status not in known:
            v.add(f"statuses[{i}]", "must be a dispute status", "INVALID_ENUM")


def _due_on_real_time(state: payment.PaymentState, now: datetime) -> list[PaymentEvent]:
    """What fell due by ``now`` on a dispute that lives on real time (a test clock decides its own)."""
    if state.dispute is None or state.dispute.test_clock_id is not None:
        return []
    return dispute_rules.due_events(state, now, at=now)


class DisputeService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # --- reads -------------------------------------------------------------------------------

    async def get(self, principal: Principal, dispute_id: str) -> payment.PaymentState:
        """The disputed payment (its ``dispute`` is the one asked for)."""
        check_dispute_id(dispute_id)
        async with self._uow() as uow:
            found = await uow.disputes.locate(dispute_id)
            if found is None:
                raise NotFound("dispute", dispute_id)
            payment_id = found[0]
            state = await self._visible(uow, principal, await uow.payments.get(payment_id), payment_id, dispute_id)
        dispute_rules.dispute_of(state, dispute_id)
        return state

    async def list_page(
        self, principal: Principal, requested_merchant: str, f: DisputeFilter, cursor: Any, limit: int
    ) -> tuple[list[payment.PaymentState], bool]:
        v = Violations()
        check_id(v, "merchant_id", requested_merchant, ids.MERCHANT, required=False)
        check_id(v, "payment_id", f.payment_id, PAYMENT, required=False)
        _check_statuses(v, f.statuses)
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
                if not linked:
                    return [], False
                f = replace(f, customer_ids=tuple(sorted(c.id for c in linked)))
            else:
                f = replace(f, merchant_id=target_merchant(principal, requested_merchant))
            return await uow.disputes.list_page(f, cursor, limit)

    async def _visible(
        self, uow: Any, principal: Principal, state: payment.PaymentState | None, payment_id: str, dispute_id: str
    ) -> payment.PaymentState:
        try:
            return await visible(uow, principal, state, payment_id)
        except NotFound:
            raise NotFound("dispute", dispute_id) from None

    # --- the merchant's answers ----------------------------------------------------------------

    async def submit_evidence(
        self, principal: Principal, dispute_id: str, evidence: Mapping[str, str]
    ) -> payment.PaymentState:
        v = Violations()  # every problem of the request at once
        check_id(v, "dispute_id", dispute_id, ids.DISPUTE)
        fields = check_evidence(v, evidence)
        v.raise_if_any()
        return await self._change(
            principal, dispute_id, lambda s, now: dispute_rules.submit_evidence(s, dispute_id, fields, now)
        )

    async def accept(self, principal: Principal, dispute_id: str) -> payment.PaymentState:
        check_dispute_id(dispute_id)
        return await self._change(principal, dispute_id, lambda s, now: dispute_rules.accept(s, dispute_id, now))

    async def _change(self, principal: Principal, dispute_id: str, answer: Answer) -> payment.PaymentState:
        """The merchant's answer, at the time of the dispute's clock: a test clock's frozen time, or
        real time (also when its test clock was deleted)."""
        async with self._uow() as uow:
            found = await uow.disputes.locate(dispute_id)
            if found is None:
                raise NotFound("dispute", dispute_id)
            payment_id, clock_id = found
            clock = None if clock_id is None else await uow.test_clocks.get(clock_id)
        now = self._clock() if clock is None else clock.frozen_time
        # A deadline or review that fell due on real time and was not swept yet is decided first,
        # in a commit of its own: an answer that comes too late finds the dispute closed.
        await self._append(payment_id, lambda s: _due_on_real_time(s, now), principal=principal, dispute_id=dispute_id)
        state, _ = await self._append(payment_id, lambda s: answer(s, now), principal=principal, dispute_id=dispute_id)
        return state

    async def _append(
        self, payment_id: str, decide: Decide, *, principal: Principal | None = None, dispute_id: str = ""
    ) -> tuple[payment.PaymentState, bool]:
        """Lock the payment, decide, append: retried when another writer got there first. The
        payment as it stands, and whether anything was appended."""
        for attempt in range(_ATTEMPTS):
            try:
                async with self._uow() as uow:
                    state = await uow.payments.get(payment_id, for_update=True)
                    if principal is not None:
                        state = await self._visible(uow, principal, state, payment_id, dispute_id)
                    if state is None:
                        raise NotFound("payment", payment_id)
                    appended = decide(state)
                    if not appended:
                        return state, False
                    after = payment.replay(payment_id, appended, start=state)
                    await uow.payments.save(state, after, appended)
                    await uow.commit()
                return after, True
            except Aborted as conflict:
                if conflict.reason not in (CONCURRENT_MODIFICATION, TRANSACTION_CONFLICT) or attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # --- time ------------------------------------------------------------------------------------

    async def sweep(self, limit: int = _BATCH) -> int:
        """The housekeeping round: what fell due on real time (disputes on no test clock), stamped now."""
        now = self._clock()
        async with self._uow() as uow:
            due = await uow.disputes.due(None, now, limit)
        ran = 0
        for payment_id in due:
            _, changed = await self._append(payment_id, lambda s: dispute_rules.due_events(s, now, at=now))
            ran += changed
        return ran

    async def next_due(self, clock: TestClock, up_to: datetime) -> datetime | None:
        """``ClockTransitions``: when the soonest dispute on ``clock`` falls due, if by ``up_to``."""
        async with self._uow() as uow:
            return await uow.disputes.earliest_due(clock.id, up_to)

    async def run_due(self, clock: TestClock, up_to: datetime) -> int:
        """``ClockTransitions``: in time order, what falls due on ``clock`` up to ``up_to``, each
        stamped with the time it fell due. An escalated inquiry may fall due again within the
        same advance, so this loops until nothing is left."""
        ran = 0
        while True:
            async with self._uow() as uow:
                due = await uow.disputes.due(clock.id, up_to, 1)
            if not due:
                return ran
            _, changed = await self._append(due[0], lambda s: dispute_rules.due_events(s, up_to))
            if not changed:  # the projection says due, the payment does not: nothing to run
                return ran
            ran += 1
