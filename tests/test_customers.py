"""CustomerService through a real server: CRUD, pagination, filters, customer-account links."""

from __future__ import annotations

import grpc
from paysim_proto.v1 import customer_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import create_customer, register_customer_user, register_merchant, unique_email


def test_customer_crud(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    created = create_customer(
        stubs, account.api_key, email="Jane@Example.test", name="Jane", phone="+1 555", metadata={"tier": "gold"}
    )
    assert created.id.startswith("cus_") and created.merchant_id == account.merchant_id
    assert created.email == "jane@example.test" and created.metadata["tier"] == "gold"
    got = api.customers.GetCustomer(customer_pb2.GetCustomerRequest(customer_id=created.id)).customer
    assert got == created
    updated = api.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(customer_id=created.id, name="Jane Doe", phone="")
    ).customer
    assert (updated.name, updated.phone, updated.email) == ("Jane Doe", "", "jane@example.test")
    assert updated.metadata == created.metadata  # untouched unless replace_metadata
    replaced = api.customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(customer_id=created.id, replace_metadata=True, metadata={"a": "1"})
    ).customer
    assert dict(replaced.metadata) == {"a": "1"}
    api.customers.DeleteCustomer(customer_pb2.DeleteCustomerRequest(customer_id=created.id))
    err = expect_error(api.customers.GetCustomer, customer_pb2.GetCustomerRequest(customer_id=created.id))
    assert err.code == grpc.StatusCode.NOT_FOUND and err.reason == "CUSTOMER_NOT_FOUND"


def test_customer_validation_reports_fields(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    err = expect_error(
        stubs.as_(account.api_key).customers.CreateCustomer,
        customer_pb2.CreateCustomerRequest(
            email="nope", name="n" * 201, phone="p" * 41, metadata={f"k{i}": "v" for i in range(51)}
        ),
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {"email", "name", "phone", "metadata"} <= set(err.field_violations)
    err = expect_error(
        stubs.as_(account.api_key).customers.GetCustomer, customer_pb2.GetCustomerRequest(customer_id="pay_123")
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "customer_id" in err.field_violations


def test_pagination_walks_every_customer_once_in_order(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    ids = [create_customer(stubs, account.api_key, name=f"c{i}").id for i in range(11)]
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = api.customers.ListCustomers(customer_pb2.ListCustomersRequest(page_size=4, page_token=token))
        pages += 1
        seen.extend(c.id for c in page.customers)
        token = page.next_page_token
        if not token:
            break
    assert seen == ids and pages == 3


def test_page_tokens_are_validated(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    for i in range(3):
        create_customer(stubs, account.api_key, name=f"c{i}", email=f"c{i}@x.test")
    token = api.customers.ListCustomers(customer_pb2.ListCustomersRequest(page_size=1)).next_page_token
    assert token
    for bad in ("garbage!", "eyJxIjoiYWJjIn0"):
        err = expect_error(api.customers.ListCustomers, customer_pb2.ListCustomersRequest(page_token=bad))
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in err.field_violations
    # A token from one query cannot be replayed against another filter.
    err = expect_error(
        api.customers.ListCustomers, customer_pb2.ListCustomersRequest(page_token=token, email="c0@x.test")
    )
    assert "page_token" in err.field_violations
    err = expect_error(api.customers.ListCustomers, customer_pb2.ListCustomersRequest(page_size=-1))
    assert "page_size" in err.field_violations
    # Oversized pages are capped, not refused.
    api.customers.ListCustomers(customer_pb2.ListCustomersRequest(page_size=10_000))


def test_email_filter(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    target = create_customer(stubs, account.api_key, email="find.me@x.test")
    create_customer(stubs, account.api_key, email="other@x.test")
    page = api.customers.ListCustomers(customer_pb2.ListCustomersRequest(email="FIND.ME@x.test"))
    assert [c.id for c in page.customers] == [target.id]


def test_customer_account_sees_only_linked_records(stubs: Stubs) -> None:
    person = register_customer_user(stubs)
    shop = register_merchant(stubs)
    linked = create_customer(stubs, shop.api_key, email=person.email)
    unlinked = create_customer(stubs, shop.api_key, email=unique_email())
    assert linked.user_id == person.user_id and unlinked.user_id == ""
    me = stubs.as_(person.access_token)
    page = me.customers.ListCustomers(customer_pb2.ListCustomersRequest())
    assert [c.id for c in page.customers] == [linked.id]
    assert me.customers.GetCustomer(customer_pb2.GetCustomerRequest(customer_id=linked.id)).customer.id == linked.id
    err = expect_error(me.customers.GetCustomer, customer_pb2.GetCustomerRequest(customer_id=unlinked.id))
    assert err.code == grpc.StatusCode.NOT_FOUND
    err = expect_error(me.customers.CreateCustomer, customer_pb2.CreateCustomerRequest(name="me"))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED


def test_admin_must_name_the_merchant(stubs: Stubs, admin_token: str) -> None:
    shop = register_merchant(stubs)
    admin = stubs.as_(admin_token)
    err = expect_error(admin.customers.CreateCustomer, customer_pb2.CreateCustomerRequest(name="x"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "merchant_id" in err.field_violations
    made = admin.customers.CreateCustomer(
        customer_pb2.CreateCustomerRequest(merchant_id=shop.merchant_id, name="by admin")
    ).customer
    assert made.merchant_id == shop.merchant_id
    listed = admin.customers.ListCustomers(customer_pb2.ListCustomersRequest(merchant_id=shop.merchant_id))
    assert [c.id for c in listed.customers] == [made.id]
