"""SimulatorService.ListScenarios: the catalogue as the contract shows it, and that it is true."""

from __future__ import annotations

import grpc
from paysim_proto.v1 import payment_pb2, simulator_pb2, simulator_pb2_grpc

from paysim.domain.declines import DECLINES
from paysim.domain.scenarios import CARD_SCENARIOS, MAGIC_AMOUNTS
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant

S = simulator_pb2


def test_scenarios_list_every_lever_and_they_hold(stubs: Stubs) -> None:
    account = register_merchant(stubs)
    simulator = simulator_pb2_grpc.SimulatorServiceStub(stubs.channel)
    auth = [("authorization", f"Bearer {account.api_key}")]
    every = simulator.ListScenarios(S.ListScenariosRequest(), metadata=auth, timeout=10).scenarios
    by_trigger: dict[int, list[S.Scenario]] = {}
    for scenario in every:
        by_trigger.setdefault(scenario.trigger, []).append(scenario)
    assert {s.value for s in by_trigger[S.SCENARIO_TRIGGER_CARD]} == set(CARD_SCENARIOS)
    assert {int(s.value) for s in by_trigger[S.SCENARIO_TRIGGER_AMOUNT]} == set(MAGIC_AMOUNTS)
    assert {s.value.split()[1] for s in by_trigger[S.SCENARIO_TRIGGER_HOLDER_NAME]} == set(DECLINES)
    assert len(by_trigger[S.SCENARIO_TRIGGER_DEFAULT]) == 1
    amounts = simulator.ListScenarios(
        S.ListScenariosRequest(trigger=S.SCENARIO_TRIGGER_AMOUNT), metadata=auth, timeout=10
    ).scenarios
    assert [s.value for s in amounts] == [s.value for s in by_trigger[S.SCENARIO_TRIGGER_AMOUNT]]
    # What the catalogue says is what a payment does.
    api = stubs.as_(account.api_key)
    card = payment_pb2.CardInput(number="5555555555554444", exp_month=12, exp_year=2031, cvc="123")
    for scenario in amounts:
        paid = api.payments.CreatePayment(payment_pb2.CreatePaymentRequest(amount_minor=int(scenario.value), card=card))
        assert paid.payment.decline.code == scenario.decline_code


def test_scenarios_need_credentials(stubs: Stubs) -> None:
    simulator = simulator_pb2_grpc.SimulatorServiceStub(stubs.channel)
    err = expect_error(simulator.ListScenarios, S.ListScenariosRequest(), timeout=10)
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
