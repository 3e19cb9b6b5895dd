"""The namespaces that have not come up elsewhere, each call through a real server."""

from __future__ import annotations

import pytest
from paysim_client import Client, RetryPolicy, SimulationOverride, errors
from paysim_client.types import (
    BreakerState,
    CaptureMethod,
    OutageMode,
    PaymentStatus,
    ScenarioTrigger,
    ScriptedOutcomeKind,
)

from tests.sdk.conftest import VISA
from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle


def test_merchants_get_and_update(client: Client, merchant: MerchantAccount) -> None:
    assert client.merchants.get().id == merchant.merchant_id
    updated = client.merchants.update(support_email="help@shop.example.test", fee_percent_bps=150)
    assert updated.support_email == "help@shop.example.test" and updated.fee_percent_bps == 150
    assert updated.default_currency_code == "USD", "fields not given stay as they were"


def test_api_keys_create_and_revoke(server: ServerHandle, owner: Client) -> None:
    created = owner.merchants.api_keys.create("short-lived")
    assert created.secret.startswith("sk_test_") and created.secret.startswith(created.api_key.prefix)
    with Client.connect(server.target, api_key=created.secret) as keyed:
        assert keyed.auth.me().api_key_id == created.api_key.id
        revoked = owner.merchants.api_keys.revoke(created.api_key.id)
        assert revoked.HasField("revoke_time")
        assert revoked.id in {k.id for k in owner.merchants.api_keys.list() if k.HasField("revoke_time")}
        with pytest.raises(errors.Unauthenticated) as caught:
            keyed.auth.me()
        assert caught.value.reason == "API_KEY_REVOKED"


def test_gateway_configs_set_list_delete(client: Client) -> None:
    stripe = client.merchants.gateway_configs.set("stripe", priority=1, settings={"timeout_ms": 2000, "latency_ms": 0})
    assert stripe.enabled and dict(stripe.settings) == {"timeout_ms": "2000", "latency_ms": "0"}
    client.merchants.gateway_configs.set("simulator", priority=2, enabled=False)
    assert [(c.gateway, c.enabled) for c in client.merchants.gateway_configs.list()] == [
        ("stripe", True),
        ("simulator", False),
    ]
    payment = client.payments.create(amount_minor=100, card=VISA)
    assert payment.gateway == "stripe"
    assert client.merchants.gateway_configs.delete("simulator").gateway == "simulator"
    with pytest.raises(errors.NotFound) as caught:
        client.merchants.gateway_configs.delete("simulator")
    assert caught.value.reason == "GATEWAY_CONFIG_NOT_FOUND"
    with pytest.raises(errors.InvalidArgument) as bad:
        client.merchants.gateway_configs.set("adyen", priority=0)
    assert {v.field for v in bad.value.field_violations} == {"gateway", "priority"}


def test_customers_crud_and_a_customers_payment(client: Client) -> None:
    customer = client.customers.create(email="ada@example.test", name="Ada", metadata={"tier": "gold"})
    assert client.customers.get(customer.id).name == "Ada"
    updated = client.customers.update(customer.id, phone="+15551234567")
    assert updated.phone == "+15551234567" and updated.name == "Ada" and dict(updated.metadata) == {"tier": "gold"}
    replaced = client.customers.update(customer.id, metadata={"only": "this"})
    assert dict(replaced.metadata) == {"only": "this"}
    assert dict(client.customers.update(customer.id, metadata={}).metadata) == {}
    payment = client.payments.create(amount_minor=250, card=VISA, customer_id=customer.id)
    assert [p.id for p in client.payments.list(customer_id=customer.id)] == [payment.id]
    client.customers.delete(customer.id)
    with pytest.raises(errors.NotFound):
        client.customers.get(customer.id)


def test_payment_lifecycle_declines_are_results(client: Client) -> None:
    declined = client.payments.create(
        amount_minor=100, card=VISA, simulate=SimulationOverride(outcome="decline:insufficient_funds")
    )
    assert declined.status == PaymentStatus.PAYMENT_STATUS_DECLINED
    assert declined.decline.code == "insufficient_funds" and declined.decline.retryable
    authorized = client.payments.create(
        amount_minor=800,
        currency_code="EUR",
        card=VISA,
        capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL,
        description="order 7",
        metadata={"order": "7"},
    )
    assert authorized.currency_code == "EUR" and dict(authorized.metadata) == {"order": "7"}
    voided = client.payments.void(authorized.id)
    assert voided.status == PaymentStatus.PAYMENT_STATUS_VOIDED
    captured = client.payments.create(amount_minor=1000, card=VISA)
    first = client.payments.refund(captured.id, amount_minor=400, reason="one item back")
    assert first.refund.amount_minor == 400 and first.payment.status == PaymentStatus.PAYMENT_STATUS_PARTIALLY_REFUNDED
    rest = client.payments.refund(captured.id)
    assert rest.refund.amount_minor == 600 and rest.payment.status == PaymentStatus.PAYMENT_STATUS_REFUNDED
    assert [r.amount_minor for r in client.payments.list_refunds(captured.id)] == [400, 600]


def test_simulator_controls(client: Client, admin: Client, merchant: MerchantAccount) -> None:
    cards = client.simulator.scenarios(ScenarioTrigger.SCENARIO_TRIGGER_CARD)
    assert cards and {s.trigger for s in cards} == {ScenarioTrigger.SCENARIO_TRIGGER_CARD}
    outage = client.simulator.set_outage("stripe", mode=OutageMode.OUTAGE_MODE_TIMEOUT, duration_seconds=120)
    assert outage.outage_mode == OutageMode.OUTAGE_MODE_TIMEOUT and outage.HasField("outage_until")
    script = client.simulator.script_outcomes("simulator", ["decline:insufficient_funds", "approve"])
    assert [o.kind for o in script.script] == [
        ScriptedOutcomeKind.SCRIPTED_OUTCOME_KIND_DECLINE,
        ScriptedOutcomeKind.SCRIPTED_OUTCOME_KIND_APPROVE,
    ]
    appended = client.simulator.script_outcomes("simulator", ["timeout"], append=True)
    assert len(appended.script) == 3
    assert {f.gateway for f in client.simulator.list_faults()} == {"stripe", "simulator"}
    assert client.simulator.clear_faults() == 2 and list(client.simulator.list_faults()) == []
    with pytest.raises(ValueError, match="unknown scripted outcome"):
        client.simulator.script_outcomes("simulator", ["explode"])

    client.simulator.script_outcomes("simulator", ["error"])
    with pytest.raises(errors.GatewayUnavailable):
        client.payments.create(amount_minor=100, card=VISA, retry=RetryPolicy.disabled())
    breakers = client.simulator.list_breakers()
    simulator = next(b for b in breakers.breakers if b.gateway == "simulator")
    assert simulator.failures == 1 and breakers.settings.failure_threshold >= 1
    own = client.simulator.reset_breaker("simulator")  # a merchant resets its own breakers
    assert own.state == BreakerState.BREAKER_STATE_CLOSED and own.failures == 0
    reset = admin.simulator.reset_breaker("simulator", merchant_id=merchant.merchant_id)
    assert reset.state == BreakerState.BREAKER_STATE_CLOSED and reset.failures == 0


def test_chaos_profiles_and_reset(client: Client, admin: Client, merchant: MerchantAccount) -> None:
    client.merchants.gateway_configs.set("stripe", priority=1, settings={"timeout_ms": "50"})
    client.merchants.gateway_configs.set("simulator", priority=2)

    def run() -> list[tuple[str, int]]:
        client.simulator.reset()
        profile = client.simulator.set_chaos_profile(
            "stripe", seed=99, error_rate_bps=1_000, decline_rate_bps=2_500, latency_p50_ms=1, latency_p99_ms=4
        )
        assert (profile.seed, profile.draws, profile.decline_code) == (99, 0, "generic_decline")
        payments = [client.payments.create(amount_minor=100, card=VISA) for _ in range(12)]
        return [(a.simulated_by, a.latency_ms) for p in payments for a in p.attempts if a.gateway == "stripe"]

    first = run()  # seed 99: one error, five declines, six answers of the gateway's own; no open breaker
    assert first == run() and all(source.startswith("chaos:") for source, _ in first)
    assert client.simulator.get_chaos_profile("stripe").draws == 12
    assert [p.gateway for p in client.simulator.list_chaos_profiles()] == ["stripe"]
    assert [p.gateway for p in admin.simulator.list_chaos_profiles(merchant_id=merchant.merchant_id)] == ["stripe"]
    report = client.simulator.reset()
    assert (report.chaos_profiles_cleared, report.faults_cleared) == (1, 0)
    with pytest.raises(errors.ChaosProfileNotFound):
        client.simulator.get_chaos_profile("stripe")
    client.simulator.set_chaos_profile("paypal", seed=1)
    assert client.simulator.clear_chaos_profile() == 1
    with pytest.raises(errors.InvalidArgument):
        client.simulator.set_chaos_profile("stripe", error_rate_bps=10_001)
