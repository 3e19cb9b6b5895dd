"""paysim.v1.SimulatorService (first part: the scenario catalogue)."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_client.v1 import simulator_pb2, simulator_pb2_grpc

from paysim.domain.scenarios import (
    CARD_SCENARIOS,
    DEFAULT_SCENARIO,
    HOLDER_NAME_KEYWORD,
    HOLDER_NAME_SCENARIOS,
    MAGIC_AMOUNTS,
    Scenario,
)

Context = grpc.aio.ServicerContext[Any, Any]
S = simulator_pb2


def _scenario(trigger: simulator_pb2.ScenarioTrigger.ValueType, value: str, s: Scenario) -> simulator_pb2.Scenario:
    return S.Scenario(
        trigger=trigger, value=value, kind=s.kind.value, decline_code=s.decline_code or "", description=s.description
    )


def catalogue() -> list[simulator_pb2.Scenario]:
    """Built once from the domain's tables: the contract's view of the same catalogue."""
    return [
        *(_scenario(S.SCENARIO_TRIGGER_CARD, pan, s) for pan, s in CARD_SCENARIOS.items()),
        *(_scenario(S.SCENARIO_TRIGGER_AMOUNT, str(amount), s) for amount, s in sorted(MAGIC_AMOUNTS.items())),
        *(
            _scenario(S.SCENARIO_TRIGGER_HOLDER_NAME, f"{HOLDER_NAME_KEYWORD} {code}", s)
            for code, s in HOLDER_NAME_SCENARIOS.items()
        ),
        _scenario(S.SCENARIO_TRIGGER_DEFAULT, "", DEFAULT_SCENARIO),
    ]


class SimulatorServicer(simulator_pb2_grpc.SimulatorServiceServicer):
    def __init__(self) -> None:
        self._catalogue = catalogue()

    async def ListScenarios(
        self, request: simulator_pb2.ListScenariosRequest, context: Context
    ) -> simulator_pb2.ListScenariosResponse:
        wanted = request.trigger
        scenarios = [s for s in self._catalogue if wanted in (S.SCENARIO_TRIGGER_UNSPECIFIED, s.trigger)]
        return S.ListScenariosResponse(scenarios=scenarios)
