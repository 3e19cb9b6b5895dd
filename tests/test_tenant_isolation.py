"""Tenants are isolated: another tenant's object is NOT_FOUND, exactly like one that does not
exist (README, "Errors"), and nothing a foreign caller tries changes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from paysim_proto.v1 import auth_pb2, customer_pb2, merchant_pb2, threeds_pb2, webhook_pb2

from paysim.app.policy import POLICIES
from paysim.domain import ids
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from tests.support.client import RichError, Stubs, expect_error
from tests.support.factories import (
    MerchantAccount,
    create_customer,
    login,
    register_customer_user,
    register_merchant,
    unique,
    unique_email,
)
from tests.support.harness import ServerHandle

DOMAIN = "paysim.v1"


@dataclass
class Tenants:
    a: MerchantAccount
    b: MerchantAccount
    b_customer_id: str
    b_webhook_endpoint_id: str


@pytest.fixture(scope="module")
def tenants(server: ServerHandle) -> Tenants:
    stubs = server.stubs()
    a, b = register_merchant(stubs), register_merchant(stubs)
    customer = create_customer(
        stubs, b.api_key, email=unique_email("b-customer"), name="B's customer", phone="+1 555 0100"
    )
    stubs.as_(b.api_key).customers.UpdateCustomer(
        customer_pb2.UpdateCustomerRequest(customer_id=customer.id, replace_metadata=True, metadata={"tier": "gold"})
    )
    stubs.as_(b.api_key).merchants.SetGatewayConfig(
        merchant_pb2.SetGatewayConfigRequest(gateway="stripe", priority=1, settings={"timeout_ms": "2000"})
    )
    stubs.as_(b.api_key).threeds.SetThreeDSPolicy(
        threeds_pb2.SetThreeDSPolicyRequest(
            mode=threeds_pb2.THREE_DS_POLICY_MODE_ABOVE_AMOUNT,
            thresholds=[threeds_pb2.ThreeDSThreshold(currency_code="USD", amount_minor=10**9)],
        )
    )
    endpoint = stubs.as_(b.api_key).webhooks.CreateWebhookEndpoint(
        webhook_pb2.CreateWebhookEndpointRequest(
            url="http://127.0.0.1:9/b-hooks", event_types=["payment.captured"], description="B's", enabled=False
        )
    )
    return Tenants(a=a, b=b, b_customer_id=customer.id, b_webhook_endpoint_id=endpoint.webhook_endpoint.id)


# --- every RPC that takes an id, aimed at B ----------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    service: str  # attribute of Stubs
    method: str
    prefix: str  # the id kind the attempt targets
    build: Callable[[str], Any]  # target id -> request


ATTEMPTS: dict[str, Attempt] = {
    "GetMerchant": Attempt(
        "merchants", "GetMerchant", ids.MERCHANT, lambda t: merchant_pb2.GetMerchantRequest(merchant_id=t)
    ),
    "UpdateMerchant": Attempt(
        "merchants",
        "UpdateMerchant",
        ids.MERCHANT,
        lambda t: merchant_pb2.UpdateMerchantRequest(
            merchant_id=t, name=unique("Hijacked"), support_email="evil@example.test", default_currency_code="EUR"
        ),
    ),
    "CreateApiKey": Attempt(
        "merchants",
        "CreateApiKey",
        ids.MERCHANT,
        lambda t: merchant_pb2.CreateApiKeyRequest(merchant_id=t, name=unique("planted")),
    ),
    "ListApiKeys": Attempt(
        "merchants", "ListApiKeys", ids.MERCHANT, lambda t: merchant_pb2.ListApiKeysRequest(merchant_id=t)
    ),
    "RevokeApiKey": Attempt(
        "merchants", "RevokeApiKey", ids.API_KEY, lambda t: merchant_pb2.RevokeApiKeyRequest(api_key_id=t)
    ),
    "SetGatewayConfig": Attempt(
        "merchants",
        "SetGatewayConfig",
        ids.MERCHANT,
        lambda t: merchant_pb2.SetGatewayConfigRequest(
            merchant_id=t, gateway="stripe", enabled=False, priority=100, settings={"latency_ms": "60000"}
        ),
    ),
    "ListGatewayConfigs": Attempt(
        "merchants",
        "ListGatewayConfigs",
        ids.MERCHANT,
        lambda t: merchant_pb2.ListGatewayConfigsRequest(merchant_id=t),
    ),
    "DeleteGatewayConfig": Attempt(
        "merchants",
        "DeleteGatewayConfig",
        ids.MERCHANT,
        lambda t: merchant_pb2.DeleteGatewayConfigRequest(merchant_id=t, gateway="stripe"),
    ),
    "SetThreeDSPolicy": Attempt(
        "threeds",
        "SetThreeDSPolicy",
        ids.MERCHANT,
        lambda t: threeds_pb2.SetThreeDSPolicyRequest(merchant_id=t, mode=threeds_pb2.THREE_DS_POLICY_MODE_NEVER),
    ),
    "GetThreeDSPolicy": Attempt(
        "threeds", "GetThreeDSPolicy", ids.MERCHANT, lambda t: threeds_pb2.GetThreeDSPolicyRequest(merchant_id=t)
    ),
    "CreateWebhookEndpoint": Attempt(
        "webhooks",
        "CreateWebhookEndpoint",
        ids.MERCHANT,
        lambda t: webhook_pb2.CreateWebhookEndpointRequest(
            merchant_id=t, url="http://127.0.0.1:9/planted", event_types=["*"]
        ),
    ),
    "ListWebhookEndpoints": Attempt(
        "webhooks",
        "ListWebhookEndpoints",
        ids.MERCHANT,
        lambda t: webhook_pb2.ListWebhookEndpointsRequest(merchant_id=t),
    ),
    "ListWebhookDeliveries": Attempt(
        "webhooks",
        "ListWebhookDeliveries",
        ids.MERCHANT,
        lambda t: webhook_pb2.ListWebhookDeliveriesRequest(merchant_id=t),
    ),
    "GetWebhookEndpoint": Attempt(
        "webhooks",
        "GetWebhookEndpoint",
        ids.WEBHOOK_ENDPOINT,
        lambda t: webhook_pb2.GetWebhookEndpointRequest(webhook_endpoint_id=t),
    ),
    "UpdateWebhookEndpoint": Attempt(
        "webhooks",
        "UpdateWebhookEndpoint",
        ids.WEBHOOK_ENDPOINT,
        lambda t: webhook_pb2.UpdateWebhookEndpointRequest(
            webhook_endpoint_id=t, url="http://127.0.0.1:9/hijacked", enabled=True
        ),
    ),
    "DeleteWebhookEndpoint": Attempt(
        "webhooks",
        "DeleteWebhookEndpoint",
        ids.WEBHOOK_ENDPOINT,
        lambda t: webhook_pb2.DeleteWebhookEndpointRequest(webhook_endpoint_id=t),
    ),
    "RotateWebhookSecret": Attempt(
        "webhooks",
        "RotateWebhookSecret",
        ids.WEBHOOK_ENDPOINT,
        lambda t: webhook_pb2.RotateWebhookSecretRequest(webhook_endpoint_id=t),
    ),
    "GetCustomer": Attempt(
        "customers", "GetCustomer", ids.CUSTOMER, lambda t: customer_pb2.GetCustomerRequest(customer_id=t)
    ),
    "UpdateCustomer": Attempt(
        "customers",
        "UpdateCustomer",
        ids.CUSTOMER,
        lambda t: customer_pb2.UpdateCustomerRequest(
            customer_id=t, name="hijacked", email="evil@example.test", replace_metadata=True, metadata={}
        ),
    ),
    "DeleteCustomer": Attempt(
        "customers", "DeleteCustomer", ids.CUSTOMER, lambda t: customer_pb2.DeleteCustomerRequest(customer_id=t)
    ),
    "CreateCustomer": Attempt(
        "customers",
        "CreateCustomer",
        ids.MERCHANT,
        lambda t: customer_pb2.CreateCustomerRequest(merchant_id=t, name="planted", email="planted@example.test"),
    ),
    "ListCustomers": Attempt(
        "customers", "ListCustomers", ids.MERCHANT, lambda t: customer_pb2.ListCustomersRequest(merchant_id=t)
    ),
}

_SERVICE_NAMES = {
    "merchants": "MerchantService",
    "customers": "CustomerService",
    "threeds": "ThreeDSService",
    "webhooks": "WebhookService",
}


def _foreign_id(t: Tenants, prefix: str) -> str:
    return {
        ids.MERCHANT: t.b.merchant_id,
        ids.API_KEY: t.b.api_key_id,
        ids.CUSTOMER: t.b_customer_id,
        ids.WEBHOOK_ENDPOINT: t.b_webhook_endpoint_id,
    }[prefix]


def _attempt(stubs: Stubs, credential: str, attempt: Attempt, target: str) -> RichError:
    service = getattr(stubs.as_(credential), attempt.service)
    return expect_error(getattr(service, attempt.method), attempt.build(target))


def _expected_code(kind: CredentialKind, attempt: Attempt) -> grpc.StatusCode:
    """NOT_FOUND, unless the table refuses the RPC to this credential outright (API keys cannot
    manage keys): then PERMISSION_DENIED, before any object is looked at."""
    policy = POLICIES[f"/paysim.v1.{_SERVICE_NAMES[attempt.service]}/{attempt.method}"]
    principal = Principal(kind=kind, role=Role.MERCHANT)
    if policy.permission is not None and not principal.can(policy.permission):
        return grpc.StatusCode.PERMISSION_DENIED
    return grpc.StatusCode.NOT_FOUND


def _neutral(err: RichError, object_id: str) -> tuple[Any, ...]:
    """Everything a client can see of an error, with the id it named blanked out."""

    def blank(text: str) -> str:
        return text.replace(object_id, "<id>")

    return (
        err.code,
        err.reason,
        err.domain,
        blank(err.message),
        {k: blank(v) for k, v in err.metadata.items()},
        err.field_violations,
        sorted(err.detail_types),
    )


@dataclass
class Snapshot:
    merchant: Any
    keys: list[tuple[str, str, bool]]
    customers: list[Any]
    gateway_configs: list[Any]
    three_ds_policy: Any
    webhook_endpoints: list[Any]


def _snapshot(stubs: Stubs, b: MerchantAccount) -> Snapshot:
    merchant = stubs.as_(b.api_key).merchants.GetMerchant(merchant_pb2.GetMerchantRequest()).merchant
    keys = stubs.as_(b.access_token).merchants.ListApiKeys(merchant_pb2.ListApiKeysRequest(page_size=500)).api_keys
    customers = stubs.as_(b.api_key).customers.ListCustomers(customer_pb2.ListCustomersRequest(page_size=500))
    gateways = stubs.as_(b.api_key).merchants.ListGatewayConfigs(merchant_pb2.ListGatewayConfigsRequest())
    policy = stubs.as_(b.api_key).threeds.GetThreeDSPolicy(threeds_pb2.GetThreeDSPolicyRequest()).policy
    endpoints = stubs.as_(b.api_key).webhooks.ListWebhookEndpoints(webhook_pb2.ListWebhookEndpointsRequest())
    return Snapshot(
        merchant=merchant,
        keys=[(k.id, k.name, k.HasField("revoke_time")) for k in keys],
        customers=list(customers.customers),
        gateway_configs=list(gateways.gateway_configs),
        three_ds_policy=policy,
        webhook_endpoints=list(endpoints.webhook_endpoints),
    )


@pytest.mark.parametrize("credential", ["access_token", "api_key"])
@pytest.mark.parametrize("rpc", list(ATTEMPTS))
def test_foreign_id_is_indistinguishable_from_a_missing_one(
    stubs: Stubs, tenants: Tenants, rpc: str, credential: str
) -> None:
    attempt = ATTEMPTS[rpc]
    a_credential = getattr(tenants.a, credential)
    kind = CredentialKind.ACCESS_TOKEN if credential == "access_token" else CredentialKind.API_KEY
    before = _snapshot(stubs, tenants.b)

    foreign = _foreign_id(tenants, attempt.prefix)
    missing = ids.new_id(attempt.prefix)
    assert len(missing) == len(foreign)
    on_foreign = _attempt(stubs, a_credential, attempt, foreign)
    on_missing = _attempt(stubs, a_credential, attempt, missing)

    assert on_foreign.code == _expected_code(kind, attempt), (on_foreign.code, on_foreign.reason)
    assert on_foreign.domain == DOMAIN and on_foreign.reason
    assert _neutral(on_foreign, foreign) == _neutral(on_missing, missing)
    assert foreign not in on_missing.message  # sanity: the blanking compared like with like

    after = _snapshot(stubs, tenants.b)
    assert after == before, f"{rpc} by A with {credential} changed B's objects"
    # And B's own credentials still work.
    me = stubs.as_(tenants.b.api_key).auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest())
    assert me.merchant_id == tenants.b.merchant_id


def test_b_is_intact_after_every_attempt(stubs: Stubs, tenants: Tenants) -> None:
    """Belt and braces, after the whole matrix above: B's key works, its customer is unchanged."""
    b = stubs.as_(tenants.b.api_key)
    customer = b.customers.GetCustomer(customer_pb2.GetCustomerRequest(customer_id=tenants.b_customer_id)).customer
    assert (customer.name, customer.phone, dict(customer.metadata)) == ("B's customer", "+1 555 0100", {"tier": "gold"})
    assert customer.merchant_id == tenants.b.merchant_id
    keys = stubs.as_(tenants.b.access_token).merchants.ListApiKeys(merchant_pb2.ListApiKeysRequest()).api_keys
    assert [k.id for k in keys] == [tenants.b.api_key_id]
    assert not keys[0].HasField("revoke_time")
    listed = b.customers.ListCustomers(customer_pb2.ListCustomersRequest()).customers
    assert [c.id for c in listed] == [tenants.b_customer_id]
    gateways = b.merchants.ListGatewayConfigs(merchant_pb2.ListGatewayConfigsRequest()).gateway_configs
    assert [(g.gateway, g.enabled, g.priority, dict(g.settings)) for g in gateways] == [
        ("stripe", True, 1, {"timeout_ms": "2000"})
    ]
    policy = b.threeds.GetThreeDSPolicy(threeds_pb2.GetThreeDSPolicyRequest()).policy
    assert policy.mode == threeds_pb2.THREE_DS_POLICY_MODE_ABOVE_AMOUNT
    assert [(t.currency_code, t.amount_minor) for t in policy.thresholds] == [("USD", 10**9)]


def test_own_lists_never_show_another_tenants_objects(stubs: Stubs, tenants: Tenants) -> None:
    for credential in (tenants.a.access_token, tenants.a.api_key):
        a = stubs.as_(credential)
        by_email = a.customers.ListCustomers(customer_pb2.ListCustomersRequest(email="planted@example.test"))
        assert all(c.merchant_id == tenants.a.merchant_id for c in by_email.customers)
        everything = a.customers.ListCustomers(customer_pb2.ListCustomersRequest(page_size=500)).customers
        assert tenants.b_customer_id not in {c.id for c in everything}
        assert a.merchants.GetMerchant(merchant_pb2.GetMerchantRequest()).merchant.id == tenants.a.merchant_id
        gateways = a.merchants.ListGatewayConfigs(merchant_pb2.ListGatewayConfigsRequest()).gateway_configs
        assert {g.merchant_id for g in gateways} <= {tenants.a.merchant_id}
    keys = stubs.as_(tenants.a.access_token).merchants.ListApiKeys(merchant_pb2.ListApiKeysRequest()).api_keys
    assert {k.merchant_id for k in keys} == {tenants.a.merchant_id}


# --- customer accounts see only the records linked to them -------------------------------------


def test_customer_account_sees_only_its_linked_records(stubs: Stubs, tenants: Tenants) -> None:
    person = register_customer_user(stubs)
    other_person = register_customer_user(stubs)
    linked_at_b = create_customer(stubs, tenants.b.api_key, email=person.email, name="at B")
    linked_at_a = create_customer(stubs, tenants.a.api_key, email=person.email.upper(), name="at A")
    someone_elses = create_customer(stubs, tenants.b.api_key, email=other_person.email)
    unlinked = create_customer(stubs, tenants.b.api_key, email=unique_email("nobody"))
    assert linked_at_b.user_id == linked_at_a.user_id == person.user_id
    assert not unlinked.user_id

    me = stubs.as_(person.access_token).customers
    page = me.ListCustomers(customer_pb2.ListCustomersRequest(page_size=500))
    assert {c.id for c in page.customers} == {linked_at_b.id, linked_at_a.id}
    assert me.GetCustomer(customer_pb2.GetCustomerRequest(customer_id=linked_at_b.id)).customer.name == "at B"

    for hidden in (someone_elses.id, unlinked.id, tenants.b_customer_id):
        missing = ids.new_id(ids.CUSTOMER)
        on_hidden = expect_error(me.GetCustomer, customer_pb2.GetCustomerRequest(customer_id=hidden))
        on_missing = expect_error(me.GetCustomer, customer_pb2.GetCustomerRequest(customer_id=missing))
        assert on_hidden.code == grpc.StatusCode.NOT_FOUND
        assert _neutral(on_hidden, hidden) == _neutral(on_missing, missing)

    # Filtering by another person's email finds nothing; naming a merchant is NOT_FOUND.
    filtered = me.ListCustomers(customer_pb2.ListCustomersRequest(email=other_person.email))
    assert list(filtered.customers) == []
    on_merchant = expect_error(me.ListCustomers, customer_pb2.ListCustomersRequest(merchant_id=tenants.b.merchant_id))
    random_merchant = ids.new_id(ids.MERCHANT)
    on_random = expect_error(me.ListCustomers, customer_pb2.ListCustomersRequest(merchant_id=random_merchant))
    assert on_merchant.code == grpc.StatusCode.NOT_FOUND
    assert _neutral(on_merchant, tenants.b.merchant_id) == _neutral(on_random, random_merchant)

    # Seeing is not changing: customers have no write permission, even on their own records.
    for call, request in (
        (me.UpdateCustomer, customer_pb2.UpdateCustomerRequest(customer_id=linked_at_b.id, name="me")),
        (me.DeleteCustomer, customer_pb2.DeleteCustomerRequest(customer_id=linked_at_b.id)),
    ):
        err = expect_error(call, request)
        assert (err.code, err.domain) == (grpc.StatusCode.PERMISSION_DENIED, DOMAIN)
    again = stubs.as_(tenants.b.api_key).customers.GetCustomer(
        customer_pb2.GetCustomerRequest(customer_id=linked_at_b.id)
    )
    assert again.customer.name == "at B"


# --- a deactivated merchant is locked out, and back after activation ---------------------------


def _merchant_inactive(err: RichError) -> bool:
    return (err.code, err.reason, err.domain) == (grpc.StatusCode.PERMISSION_DENIED, "MERCHANT_INACTIVE", DOMAIN)


def test_deactivated_merchant_is_refused_until_activated(stubs: Stubs, admin_token: str) -> None:
    victim = register_merchant(stubs)
    customer = create_customer(stubs, victim.api_key, name="kept")
    admin = stubs.as_(admin_token).merchants
    reply = admin.DeactivateMerchant(merchant_pb2.DeactivateMerchantRequest(merchant_id=victim.merchant_id))
    assert not reply.merchant.active

    for credential in (victim.access_token, victim.api_key):
        as_victim = stubs.as_(credential)
        for call, request in (
            (as_victim.auth.GetCurrentUser, auth_pb2.GetCurrentUserRequest()),
            (as_victim.merchants.GetMerchant, merchant_pb2.GetMerchantRequest()),
            (as_victim.customers.GetCustomer, customer_pb2.GetCustomerRequest(customer_id=customer.id)),
            (as_victim.customers.CreateCustomer, customer_pb2.CreateCustomerRequest(name="sneaky")),
        ):
            err = expect_error(call, request)
            assert _merchant_inactive(err), (err.code, err.reason)
    # No new sessions either, and the refresh token is refused (but not used up).
    err = expect_error(login, stubs, victim.email)
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    err = expect_error(
        stubs.as_(None).auth.RefreshToken, auth_pb2.RefreshTokenRequest(refresh_token=victim.refresh_token)
    )
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    # The admin still sees it, and nothing was deleted.
    got = stubs.as_(admin_token).customers.GetCustomer(customer_pb2.GetCustomerRequest(customer_id=customer.id))
    assert got.customer.name == "kept"

    admin.ActivateMerchant(merchant_pb2.ActivateMerchantRequest(merchant_id=victim.merchant_id))
    for credential in (victim.access_token, victim.api_key):
        as_victim = stubs.as_(credential)
        assert as_victim.merchants.GetMerchant(merchant_pb2.GetMerchantRequest()).merchant.active
        got = as_victim.customers.GetCustomer(customer_pb2.GetCustomerRequest(customer_id=customer.id))
        assert got.customer.name == "kept"
    assert login(stubs, victim.email).user.id == victim.owner_id
    refreshed = stubs.as_(None).auth.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=victim.refresh_token))
    assert refreshed.tokens.access_token
