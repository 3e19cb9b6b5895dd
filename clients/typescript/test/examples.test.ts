/**
 * Every script in examples/ runs as a user would run it, `node examples/NAME.mjs`, against a real
 * server, with the target and credentials from the environment (PAYSIM_TARGET with PAYSIM_API_KEY,
 * or PAYSIM_EMAIL and PAYSIM_PASSWORD, or neither), and prints what it says it prints.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { PASSWORD, PaysimServer, registerShop, ROOT } from "./support/server.js";

const run = promisify(execFile);
const EXAMPLES = join(ROOT, "clients", "typescript", "examples");

let server: PaysimServer;

before(async () => {
  server = await PaysimServer.start({ PAYSIM_WEBHOOK_POLL_SECONDS: "0.2", PAYSIM_WEBHOOK_BACKOFF_SCALE: "0.001" });
});

after(async () => {
  await server?.close();
});

/** Run an example with only these PAYSIM_* variables set; its standard output. */
async function example(name: string, env: Record<string, string>, args: string[] = []): Promise<string> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("PAYSIM_")));
  const { stdout } = await run("node", [join(EXAMPLES, `${name}.mjs`), ...args], {
    cwd: EXAMPLES,
    env: { ...inherited, PAYSIM_TARGET: server.target, ...env },
    timeout: 90_000,
  });
  return stdout;
}

/** Run an example as a merchant of its own, with an API key. */
async function asNewMerchant(name: string, args: string[] = []): Promise<string> {
  const shop = await registerShop(server.target);
  return example(name, { PAYSIM_API_KEY: shop.apiKey }, args);
}

function expectLines(stdout: string, patterns: RegExp[]): void {
  for (const pattern of patterns) assert.match(stdout, pattern, stdout);
}

test("every example is exercised here", () => {
  const scripts = readdirSync(EXAMPLES).filter((file) => file.endsWith(".mjs") && file !== "setup.mjs");
  assert.deepEqual(scripts.sort(), [
    "gateway_failover.mjs",
    "quickstart.mjs",
    "receive_webhooks.mjs",
    "refunds.mjs",
    "three_ds_challenge.mjs",
    "watch_payments.mjs",
  ]);
});

test("quickstart, with neither key nor login: registers a merchant first", async () => {
  const stdout = await example("quickstart", {});
  expectLines(stdout, [
    /^registered merchant mer_\w+ \(owner owner-\w+@example\.test\)$/m,
    /^created API key \S+… \(the secret is shown only once\)$/m,
    /^acting for merchant mer_\w+ \(Example Shop \w+\)$/m,
    /^pay_\w+: CAPTURED, fee \d+, net \d+ \(card visa …4242\)$/m,
    /^pay_\w+: declined, insufficient_funds: /m,
    /^refused: card\.number: /m,
    /^ {2}the server logged it as request \S+$/m,
    /^ {2}pay_\w+ +1999 USD DECLINED$/m,
  ]);
});

test("quickstart, with the owner's login", async () => {
  const shop = await registerShop(server.target);
  const stdout = await example("quickstart", { PAYSIM_EMAIL: shop.email, PAYSIM_PASSWORD: PASSWORD });
  expectLines(stdout, [new RegExp(`^acting for merchant ${shop.merchantId} \\(Shop-`, "m")]);
  assert.doesNotMatch(stdout, /registered merchant/);
});

test("refunds: capture part, refund twice, a refusal, the rest, the history", async () => {
  expectLines(await asNewMerchant("refunds"), [
    /^pay_\w+: AUTHORIZED for 5000$/m,
    /^captured 3000, fee \d+, net \d+$/m,
    /^refunds re_\w+ and re_\w+: PARTIALLY_REFUNDED$/m,
    /^refused: only 1500 is left to refund$/m,
    /^refunded the remaining 1500: REFUNDED$/m,
    /^ {2}v\d+ refund\.succeeded$/m,
  ]);
});

test("three_ds_challenge: approved, answered once, denied, policy above an amount", async () => {
  expectLines(await asNewMerchant("three_ds_challenge"), [
    /^pay_\w+: REQUIRES_ACTION, challenge \S+ at \S+$/m,
    /^completed: CAPTURED, transStatus Y, ECI \d+$/m,
    /^refused: THREE_DS_CHALLENGE_COMPLETED$/m,
    /^denied: FAILED \(.+\)$/m,
    /^above the threshold: CAPTURED, transStatus A$/m,
  ]);
});

test("gateway_failover: stripe down, paypal answers; a scripted error retried on capture", async () => {
  expectLines(await asNewMerchant("gateway_failover"), [
    /^routing: stripe \(1\), paypal \(2\)$/m,
    /^healthy: answered by stripe$/m,
    /^stripe down: answered by paypal; attempts:$/m,
    /^ {2}stripe +authorize +error /m,
    /^capture after a gateway error: 800 captured, attempts error, approved$/m,
  ]);
});

test("watch_payments: N events live, then a catch-up from the saved cursor", async () => {
  const stdout = await asNewMerchant("watch_payments", ["8"]);
  expectLines(stdout, [/^watching from seq \d+; stopping after 8 events$/m, /^stopped at seq \d+$/m, /^catching up from seq \d+:$/m]);
  const live = stdout.slice(0, stdout.indexOf("stopped at"));
  assert.equal(live.match(/^ {2}seq \d+: /gm)?.length, 8, stdout);
  assert.match(stdout, /refund\.succeeded +pay_\w+ v\d+\n$/, stdout);
});

test("receive_webhooks: two verified deliveries, a forged request refused", async () => {
  expectLines(await asNewMerchant("receive_webhooks"), [
    /^receiving on http:\/\/127\.0\.0\.1:\d+\/paysim-webhooks$/m,
    /^ {2}verified payment\.captured evt_\w+ \(seq \d+\): pay_\w+ /m,
    /^ {2}verified refund\.succeeded evt_\w+ \(seq \d+\): pay_\w+ /m,
    /^ {2}refused a request: SIGNATURE_MISMATCH$/m,
    /^ {2}a forged request was answered 400$/m,
    /^ {2}\S+ payment\.captured: DELIVERED \(#1 HTTP 204 in \d+ ms\)$/m,
  ]);
});
