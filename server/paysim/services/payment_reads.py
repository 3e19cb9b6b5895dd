"""Reading payments: one, its refunds, its events, a filtered page; each only as far as the caller
may see it (a merchant its own, a customer the payments of its linked customer records)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from paysim.domain import payment
from paysim.domain.errors import NotFound
from paysim.domain.principal import Principal
from paysim.domain.roles import Role
from paysim.domain.validation import Violations, check_id
from paysim.services.payment_commands import PAYMENT
from paysim.services.scope import merchant_scope
from paysim.store.ports import PaymentStore
from paysim.store.repositories.payments import PaymentFilter, StoredEvent
from paysim.store.unit_of_work import UnitOfWorkFactory


async def visible(
    uow: PaymentStore, principal: Principal, state: payment.PaymentState | None, payment_id: str
) -> payment.PaymentState:
    """``state`` if the caller may see it; NotFound otherwise (never telling that it exists)."""
    if state is None:
        raise NotFound("payment", payment_id)
    if principal.is_admin:
        return state
    if principal.role is Role.CUSTOMER:
        if state.customer_id:
            customer = await uow.customers.get(state.customer_id)
            if customer is not None and customer.user_id and customer.user_id == principal.user_id:
                return state
        raise NotFound("payment", payment_id)
    if principal.merchant_id != state.merchant_id:
        raise NotFound("payment", payment_id)
    return state


def check_payment_id(payment_id: str) -> None:
    v = Violations()
    check_id(v, "payment_id", payment_id, PAYMENT)
    v.raise_if_any()


class PaymentReads:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, principal: Principal, payment_id: str) -> payment.PaymentState:
        check_payment_id(payment_id)
        async with self._uow() as uow:
            return await visible(uow, principal, await uow.payments.get(payment_id), payment_id)

    async def refunds(
        self, principal: Principal, payment_id: str, after: int, limit: int
    ) -> tuple[payment.PaymentState, list[payment.RefundState], bool]:
        """The payment, up to ``limit`` of its refunds after the first ``after``, and whether more follow."""
        state = await self.get(principal, payment_id)
        page = list(state.refunds[after : after + limit])
        return state, page, len(state.refunds) > after + limit

    async def events(
        self, principal: Principal, payment_id: str, after_version: int, limit: int
    ) -> tuple[payment.PaymentState, list[StoredEvent], bool]:
        """The payment, up to ``limit`` of its events after ``after_version``, and whether more follow."""
        async with self._uow() as uow:
            check_payment_id(payment_id)
            state = await visible(uow, principal, await uow.payments.get(payment_id), payment_id)
            rows = await uow.payments.events(payment_id, after_version=after_version, limit=limit + 1)
        return state, rows[:limit], len(rows) > limit

    async def list_page(
        self, principal: Principal, requested_merchant: str, f: PaymentFilter, cursor: Any, limit: int
    ) -> tuple[list[payment.PaymentState], bool]:
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
