"""The simulator gateway: the processing engine. Outcomes come from the deterministic scenario
catalogue (card numbers, magic amounts, cardholder names), never from chance."""

from __future__ import annotations

import time
from collections import OrderedDict

from paysim.domain import ids
from paysim.domain.scenarios import scenario_for
from paysim.gateways.base import AuthorizationRequest, GatewayResult, Outcome

LEDGER_SIZE = 200_000


class SimulatorGateway:
    name = "simulator"

    def __init__(self) -> None:
        # The processor's memory of earlier calls, by downstream key: a repeated call returns
        # the first result instead of acting twice. Bounded; the oldest entries go first.
        self._ledger: OrderedDict[str, GatewayResult] = OrderedDict()

    def _remember(self, key: str, result: GatewayResult) -> GatewayResult:
        self._ledger[key] = result
        if len(self._ledger) > LEDGER_SIZE:
            self._ledger.popitem(last=False)
        return result

    def _reference(self) -> str:
        return ids.new_id("sim")

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        if (seen := self._ledger.get(request.downstream_key)) is not None:
            return seen
        started = time.perf_counter()
        scenario = scenario_for(request.pan, request.amount, request.holder_name)
        # Until 3-D Secure runs, a 3DS card ends where its flow would: the "then declined" and
        # "lookup fails" cards carry their decline code, the others authorize.
        code = scenario.decline_code
        if code:
            result = GatewayResult(Outcome.DECLINED, self._reference(), decline_code=code, message=scenario.description)
        else:
            result = GatewayResult(Outcome.APPROVED, self._reference(), message=scenario.description)
        elapsed = int((time.perf_counter() - started) * 1000)
        return self._remember(request.downstream_key, _with_latency(result, elapsed))

    async def capture(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        return self._simple(downstream_key)

    async def void(self, downstream_key: str, reference: str) -> GatewayResult:
        return self._simple(downstream_key)

    async def refund(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        return self._simple(downstream_key)

    def _simple(self, downstream_key: str) -> GatewayResult:
        if (seen := self._ledger.get(downstream_key)) is not None:
            return seen
        return self._remember(downstream_key, GatewayResult(Outcome.APPROVED, self._reference()))

    async def status(self, downstream_key: str) -> GatewayResult | None:
        return self._ledger.get(downstream_key)

    async def healthy(self) -> bool:
        return True


def _with_latency(result: GatewayResult, latency_ms: int) -> GatewayResult:
    return GatewayResult(result.outcome, result.reference, result.decline_code, result.message, latency_ms)
