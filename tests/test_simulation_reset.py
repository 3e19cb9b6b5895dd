"""ResetSimulation through a real server: one call puts a merchant's simulation back to the start
(its outages, scripts, chaos profiles, breakers and free test clocks) and touches nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from paysim_proto.v1 import clock_pb2 as C
from paysim_proto.v1 import customer_pb2 as CU
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import simulator_pb2 as S

from paysim.domain.test_clocks import start_advance
from paysim.store.unit_of_work import UnitOfWork
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
ERROR = S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_ERROR)


def clock(api: Stubs, name: str) -> C.TestClock:
    at = Timestamp()
    at.FromDatetime(datetime(2030, 1, 1, tzinfo=UTC))
    made: C.TestClock = api.clocks.CreateTestClock(C.CreateTestClockRequest(name=name, frozen_time=at)).test_clock
    return made


def simulate_everything(api: Stubs) -> None:
    """An outage, a script, a chaos profile, an open breaker and two test clocks."""
    api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway="paypal", mode=S.OUTAGE_MODE_ERROR))
    api.simulator.ScriptGatewayOutcomes(S.ScriptGatewayOutcomesRequest(gateway="razorpay", outcomes=[ERROR]))
    api.simulator.SetChaosProfile(S.SetChaosProfileRequest(gateway="stripe", error_rate_bps=500, seed=1))
    threshold = api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).settings.failure_threshold
    errors = S.ScriptGatewayOutcomesRequest(gateway="simulator", outcomes=[ERROR] * threshold)
    api.simulator.ScriptGatewayOutcomes(errors)
    for _ in range(threshold):
        err = expect_error(api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=500, card=CARD))
        assert err.code is grpc.StatusCode.UNAVAILABLE
    clock(api, "first")
    clock(api, "second")


def breakers(api: Stubs) -> list[tuple[str, int, int]]:
    listed = api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).breakers
    return [(b.gateway, b.state, b.calls) for b in listed]


def test_reset_clears_the_merchants_simulation_and_nothing_else(stubs: Stubs, admin_token: str) -> None:
    owner, bystander = register_merchant(stubs), register_merchant(stubs)
    api, other, root = stubs.as_(owner.api_key), stubs.as_(bystander.api_key), stubs.as_(admin_token)
    simulate_everything(api)
    simulate_everything(other)
    assert breakers(api) == [("simulator", S.BREAKER_STATE_OPEN, 5)]
    platform = S.SetGatewayOutageRequest(platform_wide=True, gateway="razorpay", mode=S.OUTAGE_MODE_TIMEOUT)
    root.simulator.SetGatewayOutage(platform)
    try:
        report = api.simulator.ResetSimulation(S.ResetSimulationRequest())
        assert (report.faults_cleared, report.chaos_profiles_cleared, report.breakers_reset) == (2, 1, 1)
        assert (report.test_clocks_deleted, list(report.kept_test_clock_ids)) == (2, [])

        # Only the platform's outage is left: it is every merchant's, not this one's to clear.
        faults = api.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults
        assert [(f.scope, f.gateway) for f in faults] == [("platform", "razorpay")]
        assert list(api.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles) == []
        assert breakers(api) == [("simulator", S.BREAKER_STATE_CLOSED, 0)]
        assert list(api.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks) == []
        paid = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=500, card=CARD)).payment
        assert paid.status == P.PAYMENT_STATUS_CAPTURED

        # The other merchant's simulation is as it was.
        assert breakers(other)[0][1] == S.BREAKER_STATE_OPEN
        assert [p.gateway for p in other.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles] == [
            "stripe"
        ]
        assert len(other.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks) == 2
        own = [f.gateway for f in other.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults]
        assert own == ["paypal", "razorpay", "razorpay"]

        # Nothing left to reset: a repeat does nothing and says so.
        again = api.simulator.ResetSimulation(S.ResetSimulationRequest())
        assert (again.faults_cleared, again.chaos_profiles_cleared, again.test_clocks_deleted) == (0, 0, 0)
        # An admin resets any merchant.
        by_admin = root.simulator.ResetSimulation(S.ResetSimulationRequest(merchant_id=bystander.merchant_id))
        assert (by_admin.faults_cleared, by_admin.chaos_profiles_cleared, by_admin.test_clocks_deleted) == (2, 1, 2)
        assert breakers(other)[0][1:] == (S.BREAKER_STATE_CLOSED, 0)
    finally:
        root.simulator.ClearGatewayFaults(S.ClearGatewayFaultsRequest(platform_wide=True))


def test_reset_keeps_a_clock_left_advancing(make_server: Callable[..., ServerHandle]) -> None:
    # No housekeeping round during the test: it would finish the advance the stopped process left.
    server = make_server(maintenance_interval_seconds=3_600)
    api = server.stubs(register_merchant(server.stubs()).api_key)
    stuck, free = clock(api, "stuck"), clock(api, "free")

    async def left_advancing() -> None:
        # What a process that stopped in the middle of an advance leaves behind. This process's
        # housekeeping round would finish it whenever it came round (its first round runs at
        # start): only the test acts from here on.
        await server.server.maintenance.stop()
        async with UnitOfWork(server.app.engine) as uow:
            found = await uow.test_clocks.get(stuck.id, for_update=True)
            assert found is not None
            advancing = start_advance(found, found.frozen_time + timedelta(days=1))
            assert advancing is not None
            await uow.test_clocks.save(advancing)
            await uow.commit()

    server.run(left_advancing())
    report = api.simulator.ResetSimulation(S.ResetSimulationRequest())
    assert (report.test_clocks_deleted, list(report.kept_test_clock_ids)) == (1, [stuck.id])
    left = api.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks
    assert [(c.id, c.status) for c in left] == [(stuck.id, C.TEST_CLOCK_STATUS_ADVANCING)]
    assert free.id not in {c.id for c in left}


def test_reset_keeps_a_clock_that_payments_and_customers_live_on(stubs: Stubs) -> None:
    api = stubs.as_(register_merchant(stubs).api_key)
    with_payment, with_customer, free = clock(api, "payment"), clock(api, "customer"), clock(api, "free")
    paid = api.payments.CreatePayment(
        P.CreatePaymentRequest(amount_minor=500, card=CARD, test_clock_id=with_payment.id)
    ).payment
    api.customers.CreateCustomer(CU.CreateCustomerRequest(email="clock@example.test", test_clock_id=with_customer.id))
    report = api.simulator.ResetSimulation(S.ResetSimulationRequest())
    assert report.test_clocks_deleted == 1
    assert sorted(report.kept_test_clock_ids) == sorted([with_payment.id, with_customer.id])
    left = {c.id for c in api.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks}
    assert left == {with_payment.id, with_customer.id} and free.id not in left
    assert api.payments.GetPayment(P.GetPaymentRequest(payment_id=paid.id)).payment.test_clock_id == with_payment.id
