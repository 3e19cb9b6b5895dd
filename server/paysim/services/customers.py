"""A merchant's customers, and what a customer account may see of them."""

from __future__ import annotations

from dataclasses import replace

from paysim.domain import ids
from paysim.domain.errors import NotFound
from paysim.domain.models import Customer
from paysim.domain.paging import Cursor
from paysim.domain.principal import Principal
from paysim.domain.roles import Role
from paysim.domain.test_clocks import time_for_new_work
from paysim.domain.validation import (
    MAX_NAME_CHARS,
    MAX_PHONE_CHARS,
    Violations,
    check_email,
    check_id,
    check_metadata,
    check_text,
    normalize_email,
)
from paysim.services.clock import Clock
from paysim.services.tenancy import target_merchant
from paysim.store.unit_of_work import UnitOfWork, UnitOfWorkFactory


def _can_see(principal: Principal, customer: Customer) -> bool:
    if principal.is_admin:
        return True
    if principal.role is Role.CUSTOMER:
        return principal.user_id is not None and customer.user_id == principal.user_id
    return principal.merchant_id == customer.merchant_id


class CustomerService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def create(
        self,
        principal: Principal,
        *,
        merchant_id: str,
        email: str,
        name: str,
        phone: str,
        metadata: dict[str, str],
        test_clock_id: str = "",
    ) -> Customer:
        email = normalize_email(email)
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        check_email(v, "email", email, required=False)
        check_text(v, "name", name, max_chars=MAX_NAME_CHARS)
        check_text(v, "phone", phone, max_chars=MAX_PHONE_CHARS)
        check_metadata(v, "metadata", metadata)
        check_id(v, "test_clock_id", test_clock_id, ids.TEST_CLOCK, required=False)
        v.raise_if_any()
        target = target_merchant(principal, merchant_id)
        now = self._clock()
        async with self._uow() as uow:
            if await uow.merchants.get(target) is None:
                raise NotFound("merchant", target)
            if test_clock_id:
                clock = await uow.test_clocks.get(test_clock_id, for_share=True)
                now = time_for_new_work(clock, test_clock_id, target)
            customer = Customer(
                id=ids.new_id(ids.CUSTOMER),
                merchant_id=target,
                email=email,
                name=name.strip(),
                phone=phone.strip(),
                metadata=dict(metadata),
                user_id=await self._linked_user(uow, email),
                created_at=now,
                updated_at=now,
                test_clock_id=test_clock_id,
            )
            await uow.customers.add(customer)
            await uow.commit()
        return customer

    async def _linked_user(self, uow: UnitOfWork, email: str) -> str | None:
        """A record is linked to the customer account with the same email, if there is one."""
        if not email:
            return None
        user = await uow.users.get_by_email(email)
        return user.id if user is not None and user.role is Role.CUSTOMER else None

    async def get(self, principal: Principal, customer_id: str) -> Customer:
        v = Violations()
        check_id(v, "customer_id", customer_id, ids.CUSTOMER)
        v.raise_if_any()
        async with self._uow() as uow:
            customer = await uow.customers.get(customer_id)
        if customer is None or not _can_see(principal, customer):
            raise NotFound("customer", customer_id)
        return customer

    async def list_page(
        self, principal: Principal, *, merchant_id: str, email: str, cursor: Cursor | None, limit: int
    ) -> tuple[list[Customer], bool]:
        email = normalize_email(email)
        v = Violations()
        check_id(v, "merchant_id", merchant_id, ids.MERCHANT, required=False)
        check_email(v, "email", email, required=False)
        v.raise_if_any()
        only_merchant: str | None
        only_user: str | None = None
        if principal.is_admin:
            only_merchant = merchant_id or None
        elif principal.role is Role.CUSTOMER:
            if merchant_id:
                raise NotFound("merchant", merchant_id)
            only_merchant, only_user = None, principal.user_id or "-"
        else:
            only_merchant = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            return await uow.customers.list_page(
                merchant_id=only_merchant,
                user_id=only_user,
                email=email or None,
                cursor=cursor,
                limit=limit,
            )

    async def update(
        self,
        principal: Principal,
        customer_id: str,
        *,
        email: str | None,
        name: str | None,
        phone: str | None,
        metadata: dict[str, str] | None,
    ) -> Customer:
        v = Violations()
        check_id(v, "customer_id", customer_id, ids.CUSTOMER)
        if email is not None:
            email = normalize_email(email)
            check_email(v, "email", email, required=False)
        if name is not None:
            check_text(v, "name", name, max_chars=MAX_NAME_CHARS)
        if phone is not None:
            check_text(v, "phone", phone, max_chars=MAX_PHONE_CHARS)
        if metadata is not None:
            check_metadata(v, "metadata", metadata)
        v.raise_if_any()
        async with self._uow() as uow:
            current = await uow.customers.get(customer_id)
            if current is None or not _can_see(principal, current):
                raise NotFound("customer", customer_id)
            updated = replace(
                current,
                email=email if email is not None else current.email,
                name=name.strip() if name is not None else current.name,
                phone=phone.strip() if phone is not None else current.phone,
                metadata=dict(metadata) if metadata is not None else current.metadata,
                updated_at=self._clock(),
            )
            if email is not None and email != current.email:
                updated = replace(updated, user_id=await self._linked_user(uow, email))
            await uow.customers.update(updated)
            await uow.commit()
        return updated

    async def delete(self, principal: Principal, customer_id: str) -> None:
        v = Violations()
        check_id(v, "customer_id", customer_id, ids.CUSTOMER)
        v.raise_if_any()
        async with self._uow() as uow:
            current = await uow.customers.get(customer_id)
            if current is None or not _can_see(principal, current):
                raise NotFound("customer", customer_id)
            await uow.customers.delete(customer_id)
            await uow.commit()
