"""The simulator gateway: the plain processing engine. Outcomes come from the deterministic
scenario catalogue (card numbers, magic amounts, cardholder names), never from chance."""

from __future__ import annotations

import asyncio
import time

from paysim.domain import ids
from paysim.domain.overrides import Forced
from paysim.domain.payment_methods import MethodType
from paysim.gateways.base import METHOD_NOT_SUPPORTED, AuthorizationRequest, GatewayResult, Outcome
from paysim.gateways.engine import LEDGER_SIZE, Ledger, card_decision


class SimulatorGateway:
    name = "simulator"

    def __init__(self, ledger_size: int = LEDGER_SIZE) -> None:
        # The processor's memory of earlier calls, by downstream key: a repeated call returns
        # the first result instead of acting twice.
        self._ledger: Ledger[GatewayResult] = Ledger(ledger_size)

    def _reference(self) -> str:
        return ids.new_id("sim")

    def supports(self, method: MethodType) -> bool:
        return method is MethodType.CARD

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        if request.method is not None:
            # Refused before processing, so not remembered: nothing happened.
            message = f"{METHOD_NOT_SUPPORTED}: the simulator does not take {request.method.kind.value} payments"
            return GatewayResult(Outcome.ERROR, message=message, error_reason=METHOD_NOT_SUPPORTED)
        if (seen := self._ledger.get(request.downstream_key)) is not None:
            return seen
        started = time.perf_counter()
        override = request.override
        if override is not None and override.latency_ms:
            await asyncio.sleep(override.latency_ms / 1000)
        if override is not None and override.outcome is Forced.ERROR:
            result = GatewayResult(Outcome.ERROR, message="forced error (paysim-force-outcome)")
        else:
            decision = card_decision(request.pan, request.amount, request.holder_name, request.test_card)
            outcome, code, text = decision.outcome, decision.decline_code, decision.description
            if override is not None and override.outcome is Forced.APPROVE:
                outcome, code, text = Outcome.APPROVED, "", "forced approval (paysim-force-outcome)"
            elif override is not None and override.outcome is Forced.DECLINE:
                outcome, code, text = Outcome.DECLINED, override.decline_code, "forced decline (paysim-force-outcome)"
            result = GatewayResult(outcome, self._reference(), code, text)
        latency = int((time.perf_counter() - started) * 1000)
        result = GatewayResult(result.outcome, result.reference, result.decline_code, result.message, latency)
        return self._ledger.remember(request.downstream_key, result)

    async def capture(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        return self._simple(downstream_key)

    async def void(self, downstream_key: str, reference: str) -> GatewayResult:
        return self._simple(downstream_key)

    async def refund(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        return self._simple(downstream_key)

    def _simple(self, downstream_key: str) -> GatewayResult:
        if (seen := self._ledger.get(downstream_key)) is not None:
            return seen
        return self._ledger.remember(downstream_key, GatewayResult(Outcome.APPROVED, self._reference()))

    async def status(self, downstream_key: str) -> GatewayResult | None:
        return self._ledger.get(downstream_key)

    async def healthy(self) -> bool:
        return True
