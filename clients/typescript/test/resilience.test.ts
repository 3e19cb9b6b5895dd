/**
 * What the SDK does when the network or the server fails under it: a payment whose connection is
 * cut while the server works on it is retried with the same idempotency key and exists exactly
 * once; watch() across a server restart hands out every event exactly once.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { createClient, type PaysimClient } from "../src/index.js";
import { PaymentStatus } from "../src/types.js";
import { PaysimServer, registerShop, type Shop } from "./support/server.js";
import { TcpProxy } from "./support/tcp-proxy.js";

const card = { case: "card" as const, value: { number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123" } };

let server: PaysimServer;
let shop: Shop;

before(async () => {
  server = await PaysimServer.start({ PAYSIM_GRACE_SECONDS: "1" });
  shop = await registerShop(server.target);
});

after(async () => {
  await server?.close();
});

test("a payment whose connection is cut mid-call is retried with its key and made exactly once", async () => {
  const proxy = new TcpProxy(server.port);
  await proxy.start();
  const client = await createClient({ target: proxy.target, apiKey: shop.apiKey });
  const amount = 31_337n;
  try {
    // The gateway takes a second: the cut lands while the server is carrying the payment out.
    const pending = client.payments.create({ amountMinor: amount, paymentMethod: card }, { simulate: { latencyMs: 1000 } });
    await sleep(300);
    proxy.cutAll();
    const payment = await pending;
    assert.ok(proxy.connections >= 2, "the call was sent again on a new connection");
    assert.equal(payment.status, PaymentStatus.CAPTURED);
    const same = (await client.payments.list().all()).filter((p) => p.amountMinor === amount);
    assert.deepEqual(
      same.map((p) => p.id),
      [payment.id],
    );
  } finally {
    client.close();
    await proxy.close();
  }
});

async function payments(client: PaysimClient, count: number, from: number): Promise<string[]> {
  const ids = [];
  for (let i = 0; i < count; i++) {
    ids.push((await client.payments.create({ amountMinor: BigInt(from + i), paymentMethod: card })).id);
  }
  return ids;
}

test("watch() resumes from its cursor across a server restart: every event exactly once", async () => {
  // A merchant of its own: no other test's payment is among its events.
  const client = await createClient({ target: server.target, apiKey: (await registerShop(server.target)).apiKey });
  const watcher = client.payments.watch({ eventTypes: ["payment.captured"] });
  const seen: string[] = [];
  const reading = (async () => {
    for await (const event of watcher) {
      seen.push(event.paymentId);
      if (seen.length === 6) break;
    }
  })();
  try {
    await sleep(500); // the stream is open
    const first = await payments(client, 3, 100);
    while (seen.length < 3) await sleep(50);
    await server.stop();
    await server.restart();
    // Committed while the watcher is still reconnecting, and after: all must arrive once.
    const second = await payments(client, 3, 200);
    await reading;
    assert.deepEqual(seen, [...first, ...second]);
    assert.ok(watcher.reconnects >= 1, "the watcher reconnected");
  } finally {
    watcher.close();
    client.close();
  }
});
