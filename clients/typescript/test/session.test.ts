/** A login session keeps itself valid: refreshed before its access token expires, and on refusal. */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { createClient } from "../src/index.js";
import { PASSWORD, PaysimServer, registerShop, type Shop } from "./support/server.js";

let server: PaysimServer;
let shop: Shop;

before(async () => {
  // Access tokens live two seconds: the session refreshes after one.
  server = await PaysimServer.start({ PAYSIM_ACCESS_TOKEN_TTL_SECONDS: "2" });
  shop = await registerShop(server.target);
});

after(async () => {
  await server?.close();
});

test("the access token is refreshed before it expires", async () => {
  const client = await createClient({ target: server.target, login: { email: shop.email, password: PASSWORD } });
  try {
    const session = client.session;
    assert.ok(session !== undefined);
    const first = session.tokens?.accessToken;
    for (let i = 0; i < 4; i++) {
      assert.equal((await client.merchants.get()).id, shop.merchantId);
      await sleep(700);
    }
    assert.ok(session.refreshes >= 1, `refreshed ${session.refreshes} times`);
    assert.notEqual(session.tokens?.accessToken, first);
  } finally {
    client.close();
  }
});

test("a refused access token is renewed and the call repeated once", async () => {
  const client = await createClient({ target: server.target, login: { email: shop.email, password: PASSWORD } });
  try {
    const session = client.session;
    assert.ok(session?.tokens !== undefined);
    session.tokens.accessToken = "not-a-token"; // what a server restarted with another key would refuse
    assert.equal((await client.merchants.get()).id, shop.merchantId);
    assert.equal(session.refreshes, 1);
  } finally {
    client.close();
  }
});
