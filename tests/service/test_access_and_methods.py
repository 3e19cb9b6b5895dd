"""Who a payment is for and how it is paid: the merchant a request targets, customers, an
administrator's requests and keys, and payment methods other than cards."""

from __future__ import annotations

from dataclasses import replace

import pytest

from paysim.domain import ids
from paysim.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from paysim.domain.models import Customer
from paysim.domain.payment_methods import MethodType
from paysim.domain.payment_values import Status
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from tests.service.conftest import World

ADMIN = Principal(CredentialKind.ACCESS_TOKEN, Role.ADMIN, user_id="usr_admin")
CREATE = "/paysim.v1.PaymentService/CreatePayment"


def _customer(world: World, merchant_id: str, user_id: str | None = None) -> Customer:
    customer = Customer(
        ids.new_id(ids.CUSTOMER), merchant_id, "c@example.com", "C", "", {}, user_id, world.clock(), world.clock()
    )
    world.db.customers.rows[customer.id] = customer
    return customer


def test_an_administrator_must_name_the_merchant(world: World) -> None:
    with pytest.raises(InvalidArgument):
        world.run(world.payments.create(ADMIN, world.command(), None))


def test_an_administrator_pays_for_the_merchant_named(world: World) -> None:
    command = replace(world.command(), merchant_id=world.merchant.id)
    state = world.run(world.payments.create(ADMIN, command, None)).payment
    assert state.merchant_id == world.merchant.id


def test_a_merchant_naming_another_merchant_is_not_found(world: World) -> None:
    command = replace(world.command(), merchant_id=ids.new_id(ids.MERCHANT))
    with pytest.raises(NotFound):
        world.run(world.payments.create(world.principal, command, None))


def test_each_administrators_keys_are_their_own(world: World) -> None:
    command = replace(world.command(), merchant_id=world.merchant.id)
    other_admin = replace(ADMIN, user_id="usr_other_admin")
    first = world.run(world.payments.create(ADMIN, command, world.key("k", CREATE, b"same")))
    second = world.run(world.payments.create(other_admin, command, world.key("k", CREATE, b"same")))
    assert not second.replayed and second.payment.id != first.payment.id
    again = world.run(world.payments.create(ADMIN, command, world.key("k", CREATE, b"same")))
    assert again.replayed and again.payment.id == first.payment.id


def test_a_payment_for_the_merchants_customer_names_it(world: World) -> None:
    customer = _customer(world, world.merchant.id)
    command = replace(world.command(), customer_id=customer.id)
    state = world.run(world.payments.create(world.principal, command, None)).payment
    assert state.customer_id == customer.id


def test_another_merchants_customer_is_not_found(world: World) -> None:
    stranger = _customer(world, ids.new_id(ids.MERCHANT))
    command = replace(world.command(), customer_id=stranger.id)
    with pytest.raises(NotFound):
        world.run(world.payments.create(world.principal, command, None))
    assert world.db.payments.rows == {}


def test_a_customer_sees_its_own_payments_only(world: World) -> None:
    customer = _customer(world, world.merchant.id, user_id="usr_customer")
    own = world.run(
        world.payments.create(world.principal, replace(world.command(), customer_id=customer.id), None)
    ).payment
    neighbour = _customer(world, world.merchant.id, user_id="usr_neighbour")
    other = world.run(
        world.payments.create(world.principal, replace(world.command(), customer_id=neighbour.id), None)
    ).payment
    shopper = Principal(CredentialKind.ACCESS_TOKEN, Role.CUSTOMER, user_id="usr_customer")
    assert world.run(world.payments.get(shopper, own.id)).id == own.id
    with pytest.raises(NotFound):
        world.run(world.payments.get(shopper, other.id))


def test_a_payment_method_no_gateway_takes_is_refused_before_anything_is_written(world: World) -> None:
    command = replace(world.command(), method_type=MethodType.UPI, method_account="success@razorpay")
    with pytest.raises(FailedPrecondition) as raised:
        world.run(world.payments.create(world.principal, command, None))
    assert raised.value.reason == "PAYMENT_METHOD_NOT_AVAILABLE"
    assert world.db.payments.rows == {}


def test_a_upi_payment_goes_to_the_gateway_that_takes_upi(world: World) -> None:
    world.use("simulator", "primary")
    world.primary.methods = frozenset({MethodType.UPI})
    command = replace(world.command(), method_type=MethodType.UPI, method_account="success@razorpay")
    state = world.run(world.payments.create(world.principal, command, None)).payment
    assert (state.status, state.gateway, state.method_type) == (Status.AUTHORIZED, "primary", "upi")
    assert state.method_account == "success@razorpay"


def test_a_payments_events_are_read_in_order_and_by_page(world: World) -> None:
    payment_id = world.captured(5_000)
    _, first_page, more = world.run(world.payments.events(world.principal, payment_id, 0, 2))
    _, rest, done = world.run(world.payments.events(world.principal, payment_id, 2, 100))
    assert more and not done
    versions = [e.version for e in [*first_page, *rest]]
    assert versions == list(range(1, len(versions) + 1))
    assert first_page[0].type == "payment.created"
