"""``client.customers``: a merchant's customers (``cus_…``), whom payments can name."""

from __future__ import annotations

from collections.abc import Mapping

from paysim_proto.v1 import customer_pb2

from paysim_client._blocking import blocking, blocking_pager
from paysim_client._generated import rpcs
from paysim_client.config import RetryPolicy
from paysim_client.pagers import AsyncPager, Page
from paysim_client.resources._base import AsyncResource, BlockingResource


class AsyncCustomers(AsyncResource):
    """Customers of the caller's merchant (an admin names the merchant in ``merchant_id``)."""

    async def create(
        self,
        *,
        email: str = "",
        name: str = "",
        phone: str = "",
        metadata: Mapping[str, str] | None = None,
        merchant_id: str = "",
        test_clock_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> customer_pb2.Customer:
        """Create a customer; with ``test_clock_id``, on that test clock (its payments too)."""
        request = customer_pb2.CreateCustomerRequest(
            merchant_id=merchant_id,
            email=email,
            name=name,
            phone=phone,
            metadata=dict(metadata or {}),
            test_clock_id=test_clock_id,
        )
        reply = await self._transport.call(rpcs.CREATE_CUSTOMER, request, timeout=timeout, retry=retry)
        return reply.customer

    async def get(
        self, customer_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> customer_pb2.Customer:
        """One customer (``NotFound`` for another merchant's)."""
        request = customer_pb2.GetCustomerRequest(customer_id=customer_id)
        reply = await self._transport.call(rpcs.GET_CUSTOMER, request, timeout=timeout, retry=retry)
        return reply.customer

    def list(
        self,
        *,
        email: str = "",
        merchant_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[customer_pb2.Customer]:
        """The merchant's customers (only those with ``email``, if given), page after page."""

        return self._listing(
            rpcs.LIST_CUSTOMERS,
            lambda token: customer_pb2.ListCustomersRequest(
                merchant_id=merchant_id, page_size=page_size, page_token=token, email=email
            ),
            lambda reply: Page(reply.customers, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    async def update(
        self,
        customer_id: str,
        *,
        email: str | None = None,
        name: str | None = None,
        phone: str | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> customer_pb2.Customer:
        """Change the fields given (an empty string clears one); ``metadata``, if given, replaces
        the stored metadata entirely (``{}`` clears it)."""
        request = customer_pb2.UpdateCustomerRequest(
            customer_id=customer_id,
            email=email,
            name=name,
            phone=phone,
            replace_metadata=metadata is not None,
            metadata=dict(metadata or {}),
        )
        reply = await self._transport.call(rpcs.UPDATE_CUSTOMER, request, timeout=timeout, retry=retry)
        return reply.customer

    async def delete(self, customer_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> None:
        """Delete a customer."""
        request = customer_pb2.DeleteCustomerRequest(customer_id=customer_id)
        await self._transport.call(rpcs.DELETE_CUSTOMER, request, timeout=timeout, retry=retry)


class Customers(BlockingResource[AsyncCustomers]):
    """Customers (blocking); see :class:`AsyncCustomers`."""

    create = blocking(AsyncCustomers.create)
    get = blocking(AsyncCustomers.get)
    list = blocking_pager(AsyncCustomers.list)
    update = blocking(AsyncCustomers.update)
    delete = blocking(AsyncCustomers.delete)
