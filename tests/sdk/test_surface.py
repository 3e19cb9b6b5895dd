"""The public surface: the blocking client mirrors the async one, and the package stands alone."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import paysim_client
from paysim_client._generated import rpcs
from paysim_client._rpc import Safety
from paysim_client.resources import (
    auth,
    customers,
    disputes,
    merchants,
    payments,
    simulator,
    test_clocks,
    three_ds,
    webhooks,
)

PAIRS: list[tuple[type[Any], type[Any]]] = [
    (auth.AsyncAuth, auth.Auth),
    (merchants.AsyncMerchants, merchants.Merchants),
    (merchants.AsyncApiKeys, merchants.ApiKeys),
    (merchants.AsyncGatewayConfigs, merchants.GatewayConfigs),
    (customers.AsyncCustomers, customers.Customers),
    (payments.AsyncPayments, payments.Payments),
    (disputes.AsyncDisputes, disputes.Disputes),
    (simulator.AsyncSimulator, simulator.Simulator),
    (test_clocks.AsyncTestClocks, test_clocks.TestClocks),
    (three_ds.AsyncThreeDS, three_ds.ThreeDS),
    (webhooks.AsyncWebhooks, webhooks.Webhooks),
]


def _public(cls: type[Any]) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_each_blocking_namespace_has_the_async_ones_methods_with_the_same_parameters() -> None:
    for async_cls, blocking_cls in PAIRS:
        assert _public(async_cls) == _public(blocking_cls), blocking_cls.__name__
        for name in _public(async_cls):
            async_member = inspect.getattr_static(async_cls, name)
            if isinstance(async_member, property):
                continue
            blocking_member = getattr(blocking_cls, name)
            assert blocking_member.__doc__ == async_member.__doc__, f"{blocking_cls.__name__}.{name}"
            assert inspect.signature(blocking_member._method) == inspect.signature(async_member)


def test_both_clients_expose_the_same_namespaces() -> None:
    from paysim_client._loop_thread import LoopThread
    from paysim_client._transport import Transport

    transport = Transport(object(), timeout=None, retry=paysim_client.RetryPolicy())  # type: ignore[arg-type]
    async_client = paysim_client.AsyncClient(transport, "nowhere:1")
    runner = LoopThread()
    try:
        blocking_client = paysim_client.Client(runner, async_client)

        def namespaces(client: object) -> dict[str, str]:
            found = {}
            for name, value in vars(client).items():
                if not name.startswith("_") and name != "target":
                    found[name] = type(value).__name__
                    found.update({f"{name}.{k}": type(v).__name__ for k, v in vars(value).items() if k[0] != "_"})
            return found

        async_names = namespaces(async_client)
        assert set(async_names) == {
            "analytics",
            "auth",
            "merchants",
            "merchants.api_keys",
            "merchants.gateway_configs",
            "customers",
            "payments",
            "disputes",
            "simulator",
            "test_clocks",
            "three_ds",
            "webhooks",
        }
        assert {k: "Async" + v for k, v in namespaces(blocking_client).items()} == async_names
    finally:
        runner.close()


def test_every_public_method_is_documented() -> None:
    for async_cls, blocking_cls in PAIRS:
        for cls in (async_cls, blocking_cls):
            assert cls.__doc__
            for name in _public(cls):
                assert getattr(cls, name).__doc__, f"{cls.__name__}.{name}"
    for name in paysim_client.__all__:
        value = getattr(paysim_client, name)
        if callable(value) or inspect.ismodule(value):
            assert value.__doc__, name


def test_the_rpc_table_names_each_rpc_once() -> None:
    paths = [rpc.path for rpc in rpcs.ALL]
    assert len(paths) == len(set(paths)) == 70
    assert {rpc.path for rpc in rpcs.ALL if rpc.safety is Safety.KEYED} == {
        "/paysim.v1.PaymentService/CreatePayment",
        "/paysim.v1.PaymentService/CapturePayment",
        "/paysim.v1.PaymentService/VoidPayment",
        "/paysim.v1.PaymentService/RefundPayment",
        "/paysim.v1.ThreeDSService/CompleteChallenge",
    }
    assert [rpc.path for rpc in rpcs.ALL if rpc.streaming] == ["/paysim.v1.EventService/SubscribePaymentEvents"]


def test_the_rpc_table_covers_every_rpc_of_the_contract() -> None:
    from paysim_proto.v1 import (
        analytics_pb2,
        auth_pb2,
        clock_pb2,
        customer_pb2,
        dispute_pb2,
        events_pb2,
        merchant_pb2,
        payment_pb2,
        simulator_pb2,
        threeds_pb2,
        webhook_pb2,
    )

    modules = (
        analytics_pb2,
        auth_pb2,
        clock_pb2,
        customer_pb2,
        dispute_pb2,
        events_pb2,
        merchant_pb2,
        payment_pb2,
        simulator_pb2,
        threeds_pb2,
        webhook_pb2,
    )
    contract = {
        f"/{service.full_name}/{method.name}"
        for module in modules
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert {rpc.path for rpc in rpcs.ALL} == contract


def test_importing_the_client_loads_nothing_of_the_server() -> None:
    code = (
        "import sys, paysim_client, paysim_client.types, paysim_client.webhooks\n"
        "bad = sorted(m for m in sys.modules if m == 'paysim' or m.startswith(('paysim.', 'sqlalchemy', 'psycopg')))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
