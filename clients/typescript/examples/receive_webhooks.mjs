/**
 * Receive signed webhooks: a tiny HTTP receiver from node:http on a free local port, an endpoint
 * pointing at it, a payment and a refund, and every delivery's Paysim-Signature checked with
 * webhooks.verify before it is trusted.
 *
 *     node clients/typescript/examples/receive_webhooks.mjs        # PAYSIM_TARGET, PAYSIM_API_KEY: see setup.mjs
 *
 * The server must be on this machine, or able to reach it: it sends to loopback addresses unless
 * PAYSIM_WEBHOOK_ALLOW_LOOPBACK is false.
 */

import { once } from "node:events";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

import { types, webhooks } from "@paysim/client";

import { card, connect } from "./setup.mjs";

const { WebhookDeliveryState } = types;
const VISA = card("4242424242424242");
const WANTED = ["payment.captured", "refund.succeeded"];

/**
 * Verifies each POST with the endpoint's secret, answers 2xx only to genuine ones, and hands on
 * each event once (deliveries are at least once: a repeat has the same event id).
 */
function receiver() {
  const state = { secret: "", seen: new Set(), events: [], waiting: [] };
  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks); // the raw bytes, unparsed
    try {
      webhooks.verify(body, String(request.headers[webhooks.SIGNATURE_HEADER] ?? ""), state.secret);
    } catch (error) {
      if (!(error instanceof webhooks.SignatureVerificationError)) throw error;
      console.log(`  refused a request: ${error.reason}`);
      response.writeHead(400).end();
      return;
    }
    const eventId = String(request.headers["paysim-event-id"]);
    if (!state.seen.has(eventId)) {
      state.seen.add(eventId);
      state.events.push(JSON.parse(body.toString("utf8")));
      for (const wake of state.waiting.splice(0)) wake();
    }
    response.writeHead(204).end();
  });
  /** The next event not yet handed out, waiting at most timeoutMs for it. */
  state.next = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (state.events.length === 0) {
      if (Date.now() > deadline) throw new Error(`no delivery within ${timeoutMs} ms`);
      await new Promise((wake) => {
        state.waiting.push(wake);
        setTimeout(wake, 500);
      });
    }
    return state.events.shift();
  };
  return { server, state };
}

const { server, state } = receiver();
server.listen(0, "127.0.0.1");
await once(server, "listening");
const url = `http://127.0.0.1:${server.address().port}/paysim-webhooks`;
console.log(`receiving on ${url}`);

const client = await connect();
const made = await client.webhooks.create({ url, eventTypes: WANTED, description: "receive_webhooks.mjs" });
const endpoint = made.webhookEndpoint;
state.secret = made.secret; // shown this once: keep it where the receiver can read it
console.log(`endpoint ${endpoint.id} for ${endpoint.eventTypes.join(", ")} (secret ${made.secret.slice(0, 10)}…)`);
try {
  const payment = await client.payments.create({ amountMinor: 4200n, currencyCode: "USD", paymentMethod: VISA });
  await client.payments.refund({ paymentId: payment.id, amountMinor: 1200n, reason: "one item returned" });

  // Deliveries are concurrent: they may arrive in any order (`sequence` orders events).
  for (const _ of WANTED) {
    const event = await state.next();
    const obj = event.data.object; // the payment as of this event, as the API returns it
    console.log(
      `  verified ${event.type} ${event.id} (seq ${event.sequence}): ${obj.id} ${obj.status}, ` +
        `captured ${obj.captured_amount_minor}, refunded ${obj.refunded_amount_minor}`,
    );
  }

  // A request that paysim did not sign is refused by the same check.
  const forged = await fetch(url, {
    method: "POST",
    headers: { "Paysim-Signature": `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}` },
    body: '{"type": "payment.captured"}',
  });
  if (forged.status !== 400) throw new Error(`a forged request was answered ${forged.status}`);
  console.log(`  a forged request was answered ${forged.status}`);

  // paysim's side of it: each delivery with its attempts.
  let deliveries = [];
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(100)) {
    deliveries = await client.webhooks.deliveries({ webhookEndpointId: endpoint.id }).all();
    if (deliveries.length === WANTED.length && deliveries.every((d) => d.state === WebhookDeliveryState.DELIVERED)) break;
  }
  for (const delivery of deliveries) {
    const attempts = delivery.attempts.map((a) => `#${a.number} HTTP ${a.httpStatus} in ${a.durationMs} ms`).join(", ");
    console.log(`  ${delivery.id} ${delivery.eventType}: ${WebhookDeliveryState[delivery.state]} (${attempts})`);
  }
} finally {
  await client.webhooks.delete(endpoint.id);
  client.close();
  server.close();
}
