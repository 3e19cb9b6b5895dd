"""A merchant's gateway configurations through a real server: set, list in routing order,
replace, delete, validation, tenants, admins, deactivated merchants; and the repository and the
change hook over the server's own database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2

from paysim.domain import ids
from paysim.domain.errors import InvalidArgument, NotFound
from paysim.domain.messages import GatewayConfigsChanged
from paysim.domain.models import GatewayConfig
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from paysim.services.merchants import MerchantService
from paysim.services.message_bus import MessageBus
from paysim.store.unit_of_work import UnitOfWork
from tests.support.client import Stubs, expect_error
from tests.support.factories import MerchantAccount, register_customer_user, register_merchant
from tests.support.harness import ServerHandle

DOMAIN = "paysim.v1"


def set_config(
    stubs: Stubs,
    credential: str,
    gateway: str,
    priority: int,
    *,
    merchant_id: str = "",
    enabled: bool | None = None,
    **settings: str,
) -> merchant_pb2.GatewayConfig:
    request = merchant_pb2.SetGatewayConfigRequest(
        merchant_id=merchant_id, gateway=gateway, priority=priority, settings=settings
    )
    if enabled is not None:
        request.enabled = enabled
    config: merchant_pb2.GatewayConfig = stubs.as_(credential).merchants.SetGatewayConfig(request).gateway_config
    return config


def listed(stubs: Stubs, credential: str, merchant_id: str = "") -> list[tuple[str, bool, int, dict[str, str]]]:
    reply = stubs.as_(credential).merchants.ListGatewayConfigs(
        merchant_pb2.ListGatewayConfigsRequest(merchant_id=merchant_id)
    )
    return [(c.gateway, c.enabled, c.priority, dict(c.settings)) for c in reply.gateway_configs]


def test_a_new_merchant_has_no_configuration(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    assert listed(stubs, account.api_key) == []


def test_set_list_in_routing_order_and_delete(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    created = set_config(stubs, account.api_key, "stripe", 2, timeout_ms="2500", latency_ms="40")
    assert (created.merchant_id, created.gateway, created.enabled, created.priority) == (
        account.merchant_id,
        "stripe",
        True,  # unset means enabled
        2,
    )
    assert dict(created.settings) == {"timeout_ms": "2500", "latency_ms": "40"}
    assert created.create_time == created.update_time
    set_config(stubs, account.access_token, "paypal", 1)
    set_config(stubs, account.api_key, "simulator", 2, enabled=False)
    set_config(stubs, account.api_key, "razorpay", 100, latency_ms="0")

    # Priority ascending, equal priorities by name; disabled ones are listed too.
    assert listed(stubs, account.api_key) == [
        ("paypal", True, 1, {}),
        ("simulator", False, 2, {}),
        ("stripe", True, 2, {"timeout_ms": "2500", "latency_ms": "40"}),
        ("razorpay", True, 100, {"latency_ms": "0"}),
    ]

    owner = stubs.as_(account.access_token).merchants
    deleted = owner.DeleteGatewayConfig(merchant_pb2.DeleteGatewayConfigRequest(gateway="simulator")).gateway_config
    assert (deleted.gateway, deleted.enabled, deleted.priority) == ("simulator", False, 2)
    assert [g for g, *_ in listed(stubs, account.api_key)] == ["paypal", "stripe", "razorpay"]

    err = expect_error(owner.DeleteGatewayConfig, merchant_pb2.DeleteGatewayConfigRequest(gateway="simulator"))
    assert (err.code, err.reason, err.domain) == (grpc.StatusCode.NOT_FOUND, "GATEWAY_CONFIG_NOT_FOUND", DOMAIN)
    assert err.metadata == {"resource_type": "gateway_config", "resource_id": "simulator"}


def test_replace_keeps_create_time_and_replaces_everything_else(server: ServerHandle, stubs: Stubs) -> None:
    account = register_merchant(stubs)
    first = set_config(stubs, account.api_key, "stripe", 5, timeout_ms="100", latency_ms="7")
    server.clock.advance(timedelta(seconds=1))
    second = set_config(stubs, account.api_key, "stripe", 3, enabled=False, timeout_ms="0200")
    assert second.create_time == first.create_time
    assert second.update_time.ToDatetime() >= first.update_time.ToDatetime() + timedelta(seconds=1)
    # The whole configuration is replaced: latency_ms is gone, not kept from before; values normalized.
    assert (second.enabled, second.priority, dict(second.settings)) == (False, 3, {"timeout_ms": "200"})
    assert listed(stubs, account.api_key) == [("stripe", False, 3, {"timeout_ms": "200"})]
    # Re-enabled by leaving `enabled` unset.
    assert set_config(stubs, account.api_key, "stripe", 3).enabled


@pytest.mark.parametrize(
    ("request_fields", "expected"),
    [
        ({"gateway": "", "priority": 1}, {"gateway": "REQUIRED"}),
        ({"gateway": "adyen", "priority": 1}, {"gateway": "UNKNOWN_GATEWAY"}),
        ({"gateway": "Stripe", "priority": 1}, {"gateway": "UNKNOWN_GATEWAY"}),
        ({"gateway": "stripe", "priority": 0}, {"priority": "OUT_OF_RANGE"}),
        ({"gateway": "stripe", "priority": 101}, {"priority": "OUT_OF_RANGE"}),
        ({"gateway": "stripe", "priority": -1}, {"priority": "OUT_OF_RANGE"}),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"retries": "3"}},
            {"settings['retries']": "UNKNOWN_SETTING"},
        ),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"timeout_ms": "0"}},
            {"settings['timeout_ms']": "OUT_OF_RANGE"},
        ),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"timeout_ms": "60001"}},
            {"settings['timeout_ms']": "OUT_OF_RANGE"},
        ),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"latency_ms": "60001"}},
            {"settings['latency_ms']": "OUT_OF_RANGE"},
        ),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"latency_ms": "-5"}},
            {"settings['latency_ms']": "INVALID_SETTING"},
        ),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"timeout_ms": "1.5"}},
            {"settings['timeout_ms']": "INVALID_SETTING"},
        ),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"timeout_ms": ""}},
            {"settings['timeout_ms']": "INVALID_SETTING"},
        ),
        (
            {"gateway": "stripe", "priority": 1, "settings": {"timeout_ms": "²"}},
            {"settings['timeout_ms']": "INVALID_SETTING"},
        ),
        ({"gateway": "stripe", "priority": 1, "merchant_id": "cus_x"}, {"merchant_id": "INVALID_ID"}),
        (
            {"gateway": "nope", "priority": 0, "settings": {"x": "1", "latency_ms": "a"}},
            {
                "gateway": "UNKNOWN_GATEWAY",
                "priority": "OUT_OF_RANGE",
                "settings['x']": "UNKNOWN_SETTING",
                "settings['latency_ms']": "INVALID_SETTING",
            },
        ),
    ],
)
def test_set_validation_names_every_bad_field(
    stubs: Stubs, request_fields: dict[str, object], expected: dict[str, str]
) -> None:
    account = register_merchant(stubs)
    err = expect_error(
        stubs.as_(account.api_key).merchants.SetGatewayConfig, merchant_pb2.SetGatewayConfigRequest(**request_fields)
    )
    assert (err.code, err.reason, err.domain) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", DOMAIN)
    assert set(err.field_violations) == set(expected)
    assert listed(stubs, account.api_key) == []  # nothing stored


def test_violations_explain_what_is_allowed(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    call = stubs.as_(account.api_key).merchants.SetGatewayConfig
    err = expect_error(call, merchant_pb2.SetGatewayConfigRequest(gateway="adyen", priority=1))
    assert err.field_violations["gateway"] == "must be one of stripe, paypal, razorpay, simulator"
    err = expect_error(call, merchant_pb2.SetGatewayConfigRequest(gateway="stripe", priority=1, settings={"x": "1"}))
    assert err.field_violations["settings['x']"] == "is not a setting; known settings: latency_ms, timeout_ms"
    err = expect_error(call, merchant_pb2.SetGatewayConfigRequest(gateway="stripe", priority=500))
    assert "between 1 and 100" in err.field_violations["priority"]
    too_many = {f"k{i}": "1" for i in range(21)}
    err = expect_error(call, merchant_pb2.SetGatewayConfigRequest(gateway="stripe", priority=1, settings=too_many))
    assert list(err.field_violations) == ["settings"]


def test_delete_validates_the_gateway(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    delete = stubs.as_(account.api_key).merchants.DeleteGatewayConfig
    for gateway, reason in (("", "REQUIRED"), ("adyen", "UNKNOWN_GATEWAY")):
        err = expect_error(delete, merchant_pb2.DeleteGatewayConfigRequest(gateway=gateway))
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert list(err.field_violations) == ["gateway"], reason


def test_settings_bounds_are_accepted(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    low = set_config(stubs, account.api_key, "paypal", 1, timeout_ms="1", latency_ms="0")
    high = set_config(stubs, account.api_key, "stripe", 100, timeout_ms="60000", latency_ms="60000")
    assert dict(low.settings) == {"timeout_ms": "1", "latency_ms": "0"}
    assert dict(high.settings) == {"timeout_ms": "60000", "latency_ms": "60000"}


def test_tenants_never_see_or_change_each_others_configurations(stubs: Stubs) -> None:
    a, b = register_merchant(stubs), register_merchant(stubs)
    set_config(stubs, b.api_key, "stripe", 1, timeout_ms="3000")
    before = listed(stubs, b.api_key)
    for credential in (a.api_key, a.access_token):
        caller = stubs.as_(credential).merchants
        for call, request in (
            (caller.ListGatewayConfigs, merchant_pb2.ListGatewayConfigsRequest(merchant_id=b.merchant_id)),
            (
                caller.SetGatewayConfig,
                merchant_pb2.SetGatewayConfigRequest(merchant_id=b.merchant_id, gateway="stripe", priority=9),
            ),
            (
                caller.DeleteGatewayConfig,
                merchant_pb2.DeleteGatewayConfigRequest(merchant_id=b.merchant_id, gateway="stripe"),
            ),
        ):
            err = expect_error(call, request)
            assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "MERCHANT_NOT_FOUND")
        # Their own merchant named explicitly works, and shows nothing of B's.
        assert listed(stubs, credential, a.merchant_id) == []
    assert listed(stubs, b.api_key) == before


def test_admin_manages_any_merchant_and_must_name_it(stubs: Stubs, admin_token: str) -> None:
    account = register_merchant(stubs)
    admin = stubs.as_(admin_token).merchants
    config = set_config(stubs, admin_token, "razorpay", 4, merchant_id=account.merchant_id, latency_ms="25")
    assert config.merchant_id == account.merchant_id
    assert listed(stubs, account.api_key) == [("razorpay", True, 4, {"latency_ms": "25"})]
    assert listed(stubs, admin_token, account.merchant_id) == listed(stubs, account.api_key)

    for call, request in (
        (admin.ListGatewayConfigs, merchant_pb2.ListGatewayConfigsRequest()),
        (admin.SetGatewayConfig, merchant_pb2.SetGatewayConfigRequest(gateway="stripe", priority=1)),
        (admin.DeleteGatewayConfig, merchant_pb2.DeleteGatewayConfigRequest(gateway="razorpay")),
    ):
        err = expect_error(call, request)
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT
        assert err.field_violations == {"merchant_id": "is required for admins"}

    admin.DeleteGatewayConfig(
        merchant_pb2.DeleteGatewayConfigRequest(merchant_id=account.merchant_id, gateway="razorpay")
    )
    assert listed(stubs, account.api_key) == []


def test_unknown_merchant_is_not_found_for_admins(stubs: Stubs, admin_token: str) -> None:
    admin = stubs.as_(admin_token).merchants
    missing = ids.new_id(ids.MERCHANT)
    for call, request in (
        (admin.ListGatewayConfigs, merchant_pb2.ListGatewayConfigsRequest(merchant_id=missing)),
        (
            admin.SetGatewayConfig,
            merchant_pb2.SetGatewayConfigRequest(merchant_id=missing, gateway="stripe", priority=1),
        ),
        (admin.DeleteGatewayConfig, merchant_pb2.DeleteGatewayConfigRequest(merchant_id=missing, gateway="stripe")),
    ):
        err = expect_error(call, request)
        assert (err.code, err.reason, err.domain) == (grpc.StatusCode.NOT_FOUND, "MERCHANT_NOT_FOUND", DOMAIN)
        assert err.metadata == {"resource_type": "merchant", "resource_id": missing}


def test_customers_and_anonymous_callers_are_refused(stubs: Stubs) -> None:
    person = register_customer_user(stubs)
    for credential, code in ((person.access_token, grpc.StatusCode.PERMISSION_DENIED), (None, None)):
        caller = stubs.as_(credential).merchants
        err = expect_error(caller.ListGatewayConfigs, merchant_pb2.ListGatewayConfigsRequest())
        assert err.code == (code or grpc.StatusCode.UNAUTHENTICATED)
        err = expect_error(caller.SetGatewayConfig, merchant_pb2.SetGatewayConfigRequest(gateway="stripe", priority=1))
        assert err.code == (code or grpc.StatusCode.UNAUTHENTICATED)


def test_deactivated_merchant_is_locked_out_but_its_configuration_is_kept(stubs: Stubs, admin_token: str) -> None:
    account = register_merchant(stubs)
    set_config(stubs, account.api_key, "stripe", 1, timeout_ms="1500")
    admin = stubs.as_(admin_token).merchants
    admin.DeactivateMerchant(merchant_pb2.DeactivateMerchantRequest(merchant_id=account.merchant_id))

    # Like every other merchant setting: the merchant's own credentials are refused ...
    for credential in (account.access_token, account.api_key):
        caller = stubs.as_(credential).merchants
        for call, request in (
            (caller.ListGatewayConfigs, merchant_pb2.ListGatewayConfigsRequest()),
            (caller.SetGatewayConfig, merchant_pb2.SetGatewayConfigRequest(gateway="paypal", priority=2)),
            (caller.DeleteGatewayConfig, merchant_pb2.DeleteGatewayConfigRequest(gateway="stripe")),
        ):
            err = expect_error(call, request)
            assert (err.code, err.reason) == (grpc.StatusCode.PERMISSION_DENIED, "MERCHANT_INACTIVE")
    # ... while an admin still manages it, and nothing was deleted.
    set_config(stubs, admin_token, "paypal", 2, merchant_id=account.merchant_id)
    assert [g for g, *_ in listed(stubs, admin_token, account.merchant_id)] == ["stripe", "paypal"]

    admin.ActivateMerchant(merchant_pb2.ActivateMerchantRequest(merchant_id=account.merchant_id))
    assert listed(stubs, account.api_key) == [("stripe", True, 1, {"timeout_ms": "1500"}), ("paypal", True, 2, {})]


# --- the service and repository over the server's database -------------------------------------


def _service(server: ServerHandle, changes: list[str]) -> MerchantService:
    """A second MerchantService over the running server's database, whose units of work tell a
    bus of this test's what they committed."""
    bus = MessageBus()
    bus.subscribe(GatewayConfigsChanged, lambda message: changes.append(message.merchant_id))
    return MerchantService(
        lambda: UnitOfWork(server.app.adapters.engine, publish=bus.publish), server.app.hasher, server.clock
    )


def _owner(account: MerchantAccount) -> Principal:
    return Principal(kind=CredentialKind.ACCESS_TOKEN, role=Role.MERCHANT, merchant_id=account.merchant_id)


def test_the_change_hook_runs_after_each_successful_change_only(server: ServerHandle, stubs: Stubs) -> None:
    account = register_merchant(stubs)
    other = register_merchant(stubs)
    changes: list[str] = []
    service = _service(server, changes)
    owner = _owner(account)

    async def scenario() -> None:
        await service.set_gateway_config(owner, "", gateway="stripe", enabled=True, priority=1, settings={})
        assert changes == [account.merchant_id]
        await service.list_gateway_configs(owner, "")
        with pytest.raises(InvalidArgument):
            await service.set_gateway_config(owner, "", gateway="stripe", enabled=True, priority=0, settings={})
        with pytest.raises(NotFound):
            await service.set_gateway_config(
                owner, other.merchant_id, gateway="stripe", enabled=True, priority=1, settings={}
            )
        with pytest.raises(NotFound):
            await service.delete_gateway_config(owner, "", "paypal")  # nothing to delete
        assert changes == [account.merchant_id]
        await service.delete_gateway_config(owner, "", "stripe")
        assert changes == [account.merchant_id, account.merchant_id]

    server.run(scenario())


def test_repository_round_trip_and_concurrent_first_writes(server: ServerHandle, stubs: Stubs) -> None:
    account = register_merchant(stubs)
    merchant_id = account.merchant_id

    async def upsert(gateway: str, priority: int, settings: dict[str, str]) -> GatewayConfig:
        now = server.clock()
        config = GatewayConfig(merchant_id, gateway, True, priority, settings, now, now)
        async with server.app.unit_of_work() as uow:
            stored = await uow.gateway_configs.upsert(config)
            await uow.commit()
        return stored

    async def scenario() -> None:
        # Many first writes of one gateway at once: one row, none fails, every one keeps the first's created_at.
        results = await asyncio.gather(*(upsert("paypal", p, {"latency_ms": str(p)}) for p in range(1, 9)))
        async with server.app.unit_of_work() as uow:
            rows = await uow.gateway_configs.list_for_merchant(merchant_id)
            got = await uow.gateway_configs.get(merchant_id, "paypal")
            assert await uow.gateway_configs.get(merchant_id, "stripe") is None
        assert len(rows) == 1 and rows[0] == got
        assert got is not None and {r.created_at for r in results} == {got.created_at}
        assert got.latency_ms == got.priority and got.timeout_ms == 10_000
        await upsert("stripe", got.priority, {"timeout_ms": "750"})
        async with server.app.unit_of_work() as uow:
            order = [c.gateway for c in await uow.gateway_configs.list_for_merchant(merchant_id)]
            assert order == ["paypal", "stripe"]  # same priority: by name
            assert await uow.gateway_configs.delete(merchant_id, "stripe")
            assert not await uow.gateway_configs.delete(merchant_id, "stripe")
            # Not committed: rolled back when the block ends.
        async with server.app.unit_of_work() as uow:
            stripe = await uow.gateway_configs.get(merchant_id, "stripe")
        assert stripe is not None and stripe.timeout_ms == 750 and stripe.latency_ms == 0

    server.run(scenario())
