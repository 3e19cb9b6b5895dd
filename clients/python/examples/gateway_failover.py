"""Gateways, outages and circuit breakers: route to stripe then paypal, take stripe down, watch
payments fail over; script a gateway error and let the client's retry recover the capture.

    python clients/python/examples/gateway_failover.py  # PAYSIM_TARGET, PAYSIM_API_KEY: see _setup.py

Needs credentials that may change the merchant's settings (an API key or the owner's login).
"""

from __future__ import annotations

import sys

import paysim_client
from _setup import credentials, target
from paysim_client.types import CaptureMethod, CardInput, GatewayAttempt, GatewayOperation, GatewayOutcome, OutageMode

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")


def words(attempt: GatewayAttempt) -> tuple[str, str]:
    """``("capture", "error")``: the attempt's operation and outcome without their enum prefixes."""
    operation = GatewayOperation.Name(attempt.operation).removeprefix("GATEWAY_OPERATION_")
    outcome = GatewayOutcome.Name(attempt.outcome).removeprefix("GATEWAY_OUTCOME_")
    return operation.lower(), outcome.lower()


def main() -> int:
    with paysim_client.Client.connect(target(), **credentials()) as client:
        gateways = client.merchants.gateway_configs
        gateways.set("stripe", priority=1, settings={"timeout_ms": 2000})
        gateways.set("paypal", priority=2)
        print("routing:", ", ".join(f"{c.gateway} ({c.priority})" for c in gateways.list()))
        try:
            print(f"healthy: answered by {client.payments.create(amount_minor=1200, card=VISA).gateway}")

            client.simulator.set_outage("stripe", mode=OutageMode.OUTAGE_MODE_ERROR, duration_seconds=300)
            payment = client.payments.create(amount_minor=1200, card=VISA)
            print(f"stripe down: answered by {payment.gateway}; attempts:")
            for attempt in payment.attempts:
                operation, outcome = words(attempt)
                print(f"  {attempt.gateway:<8} {operation:<9} {outcome:<8} {attempt.detail}")
            client.simulator.clear_faults("stripe")

            # A scripted gateway error on capture: the server answers UNAVAILABLE and keeps the
            # payment AUTHORIZED; the client retries with the same idempotency key, once captured.
            held = client.payments.create(
                amount_minor=800, card=VISA, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL
            )
            client.simulator.script_outcomes(held.gateway, ["error"])
            captured = client.payments.capture(held.id)
            outcomes = [
                words(a)[1] for a in captured.attempts if a.operation == GatewayOperation.GATEWAY_OPERATION_CAPTURE
            ]
            print(f"capture after a gateway error: {captured.captured_amount_minor} captured, attempts {outcomes}")

            for breaker in client.simulator.list_breakers().breakers:
                print(f"breaker {breaker.gateway}: {breaker.calls} calls, {breaker.failures} failures")
        finally:
            client.simulator.clear_faults()
            for config in gateways.list():
                gateways.delete(config.gateway)
    return 0


if __name__ == "__main__":
    sys.exit(main())
