"""paysim.v1.CustomerService."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_proto.v1 import customer_pb2, customer_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.api.pages import next_token, read_page_request
from paysim.contract import identity_messages
from paysim.services.customers import CustomerService

Context = grpc.aio.ServicerContext[Any, Any]


class CustomerServicer(customer_pb2_grpc.CustomerServiceServicer):
    def __init__(self, customers: CustomerService) -> None:
        self._customers = customers

    async def CreateCustomer(
        self, request: customer_pb2.CreateCustomerRequest, context: Context
    ) -> customer_pb2.CreateCustomerResponse:
        customer = await self._customers.create(
            require_principal(),
            merchant_id=request.merchant_id,
            email=request.email,
            name=request.name,
            phone=request.phone,
            metadata=dict(request.metadata),
            test_clock_id=request.test_clock_id,
        )
        return customer_pb2.CreateCustomerResponse(customer=identity_messages.customer(customer))

    async def GetCustomer(
        self, request: customer_pb2.GetCustomerRequest, context: Context
    ) -> customer_pb2.GetCustomerResponse:
        customer = await self._customers.get(require_principal(), request.customer_id)
        return customer_pb2.GetCustomerResponse(customer=identity_messages.customer(customer))

    async def ListCustomers(
        self, request: customer_pb2.ListCustomersRequest, context: Context
    ) -> customer_pb2.ListCustomersResponse:
        principal = require_principal()
        query, filters = "customers", (request.merchant_id, request.email.strip().lower())
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._customers.list_page(
            principal, merchant_id=request.merchant_id, email=request.email, cursor=cursor, limit=limit
        )
        return customer_pb2.ListCustomersResponse(
            customers=[identity_messages.customer(c) for c in rows],
            next_page_token=next_token(query, filters, rows, more),
        )

    async def UpdateCustomer(
        self, request: customer_pb2.UpdateCustomerRequest, context: Context
    ) -> customer_pb2.UpdateCustomerResponse:
        customer = await self._customers.update(
            require_principal(),
            request.customer_id,
            email=request.email if request.HasField("email") else None,
            name=request.name if request.HasField("name") else None,
            phone=request.phone if request.HasField("phone") else None,
            metadata=dict(request.metadata) if request.replace_metadata else None,
        )
        return customer_pb2.UpdateCustomerResponse(customer=identity_messages.customer(customer))

    async def DeleteCustomer(
        self, request: customer_pb2.DeleteCustomerRequest, context: Context
    ) -> customer_pb2.DeleteCustomerResponse:
        await self._customers.delete(require_principal(), request.customer_id)
        return customer_pb2.DeleteCustomerResponse()
