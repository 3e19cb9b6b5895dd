"""Create accounts and objects through the public API, with unique names per call."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from paysim_proto.v1 import auth_pb2, customer_pb2, merchant_pb2

from tests.support.client import Stubs

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def unique_email(prefix: str = "user") -> str:
    return f"{unique(prefix)}@example.test"


@dataclass
class MerchantAccount:
    merchant_id: str
    owner_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str
    api_key: str
    api_key_id: str


def login(stubs: Stubs, email: str, password: str = PASSWORD) -> auth_pb2.LoginResponse:
    reply: auth_pb2.LoginResponse = stubs.as_(None).auth.Login(auth_pb2.LoginRequest(email=email, password=password))
    return reply


def register_merchant(stubs: Stubs, *, name: str | None = None) -> MerchantAccount:
    email = unique_email("owner")
    reply = stubs.as_(None).merchants.RegisterMerchant(
        merchant_pb2.RegisterMerchantRequest(
            name=name or unique("Shop"), owner_email=email, owner_password=PASSWORD, owner_full_name="Owner"
        )
    )
    session = login(stubs, email)
    key = stubs.as_(session.tokens.access_token).merchants.CreateApiKey(
        merchant_pb2.CreateApiKeyRequest(name=unique("key"))
    )
    return MerchantAccount(
        merchant_id=reply.merchant.id,
        owner_id=reply.owner.id,
        email=email,
        password=PASSWORD,
        access_token=session.tokens.access_token,
        refresh_token=session.tokens.refresh_token,
        api_key=key.secret,
        api_key_id=key.api_key.id,
    )


@dataclass
class CustomerAccount:
    user_id: str
    email: str
    access_token: str
    refresh_token: str


def register_customer_user(stubs: Stubs) -> CustomerAccount:
    email = unique_email("customer")
    user = (
        stubs.as_(None)
        .auth.Register(auth_pb2.RegisterRequest(email=email, password=PASSWORD, full_name="Customer"))
        .user
    )
    session = login(stubs, email)
    return CustomerAccount(user.id, email, session.tokens.access_token, session.tokens.refresh_token)


def create_customer(stubs: Stubs, credential: str, **fields: str) -> customer_pb2.Customer:
    reply = stubs.as_(credential).customers.CreateCustomer(customer_pb2.CreateCustomerRequest(**fields))
    customer: customer_pb2.Customer = reply.customer
    return customer
