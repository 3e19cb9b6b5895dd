/**
 * Gateways, outages and circuit breakers: route to stripe then paypal, take stripe down, watch
 * payments fail over; script a gateway error and let the client's retry recover the capture.
 *
 *     node clients/typescript/examples/gateway_failover.mjs        # PAYSIM_TARGET, PAYSIM_API_KEY: see setup.mjs
 *
 * Needs credentials that may change the merchant's settings (an API key or the owner's login).
 */

import { types } from "@paysim/client";

import { card, connect } from "./setup.mjs";

const { CaptureMethod, GatewayOperation, GatewayOutcome, OutageMode, ScriptedOutcomeKind } = types;
const VISA = card("4242424242424242");

/** ["capture", "error"]: the attempt's operation and outcome as words. */
const words = (attempt) => [GatewayOperation[attempt.operation].toLowerCase(), GatewayOutcome[attempt.outcome].toLowerCase()];

const client = await connect();
try {
  await client.merchants.setGatewayConfig({ gateway: "stripe", priority: 1, settings: { timeout_ms: "2000" } });
  await client.merchants.setGatewayConfig({ gateway: "paypal", priority: 2 });
  const routing = await client.merchants.listGatewayConfigs();
  console.log(`routing: ${routing.map((c) => `${c.gateway} (${c.priority})`).join(", ")}`);

  const healthy = await client.payments.create({ amountMinor: 1200n, paymentMethod: VISA });
  console.log(`healthy: answered by ${healthy.gateway}`);

  await client.simulator.setGatewayOutage({ gateway: "stripe", mode: OutageMode.ERROR, duration: { seconds: 300n } });
  const payment = await client.payments.create({ amountMinor: 1200n, paymentMethod: VISA });
  console.log(`stripe down: answered by ${payment.gateway}; attempts:`);
  for (const attempt of payment.attempts) {
    const [operation, outcome] = words(attempt);
    console.log(`  ${attempt.gateway.padEnd(8)} ${operation.padEnd(9)} ${outcome.padEnd(8)} ${attempt.detail}`);
  }
  await client.simulator.clearGatewayFaults({ gateway: "stripe" });

  // A scripted gateway error on capture: the server answers UNAVAILABLE and keeps the payment
  // AUTHORIZED; the client retries with the same idempotency key, once captured.
  const held = await client.payments.create({ amountMinor: 800n, paymentMethod: VISA, captureMethod: CaptureMethod.MANUAL });
  await client.simulator.scriptGatewayOutcomes({ gateway: held.gateway, outcomes: [{ kind: ScriptedOutcomeKind.ERROR }] });
  const captured = await client.payments.capture({ paymentId: held.id });
  const outcomes = captured.attempts.filter((a) => a.operation === GatewayOperation.CAPTURE).map((a) => words(a)[1]);
  console.log(`capture after a gateway error: ${captured.capturedAmountMinor} captured, attempts ${outcomes.join(", ")}`);

  const { breakers } = await client.simulator.listCircuitBreakers();
  for (const breaker of breakers) {
    console.log(`breaker ${breaker.gateway}: ${breaker.calls} calls, ${breaker.failuresInWindow} failures in the window`);
  }
} finally {
  await client.simulator.clearGatewayFaults({});
  for (const config of await client.merchants.listGatewayConfigs()) {
    await client.merchants.deleteGatewayConfig({ gateway: config.gateway });
  }
  client.close();
}
