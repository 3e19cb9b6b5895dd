/**
 * The Python and TypeScript SDKs agree: the same scenario run through both against one server
 * gives the same outcomes and the same errors, and their webhook signatures are interchangeable.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { BY_REASON, createClient, RpcError, rpcFacts, webhooks } from "../src/index.js";
import { AnalyticsService } from "../src/gen/paysim/v1/analytics_pb.js";
import { AuthService } from "../src/gen/paysim/v1/auth_pb.js";
import { ClockService } from "../src/gen/paysim/v1/clock_pb.js";
import { CustomerService } from "../src/gen/paysim/v1/customer_pb.js";
import { DisputeService } from "../src/gen/paysim/v1/dispute_pb.js";
import { EventService } from "../src/gen/paysim/v1/events_pb.js";
import { MerchantService } from "../src/gen/paysim/v1/merchant_pb.js";
import { PaymentService } from "../src/gen/paysim/v1/payment_pb.js";
import { SimulatorService } from "../src/gen/paysim/v1/simulator_pb.js";
import { ThreeDSService } from "../src/gen/paysim/v1/threeds_pb.js";
import { WebhookService } from "../src/gen/paysim/v1/webhook_pb.js";
import { CaptureMethod, type Payment, PaymentStatus } from "../src/types.js";
import { PaysimServer, PYTHON, registerShop } from "./support/server.js";

const run = promisify(execFile);

interface Outcome {
  declined: [string, string];
  captured: [string, string];
  refunded: [string, string];
  capture_again: [string, string];
  missing: [string, string];
}

// Each step's result: the payment's status name and a detail, or the error's class and reason.
const PYTHON_SCENARIO = `
import asyncio, json, sys
import paysim_client
from paysim_client.errors import RpcError
from paysim_client.types import CardInput, PaymentStatus, CaptureMethod

def card(number):
    return CardInput(number=number, exp_month=12, exp_year=2030, cvc="123")

async def attempt(step):
    try:
        result = await step
    except RpcError as error:
        return [type(error).__name__, error.reason]
    payment = getattr(result, "payment", result)
    return [PaymentStatus.Name(payment.status).removeprefix("PAYMENT_STATUS_"), str(payment.refunded_amount_minor) if payment.status == PaymentStatus.PAYMENT_STATUS_REFUNDED else payment.decline.code]

async def main(target, key):
    async with paysim_client.connect(target, api_key=key) as client:
        out = {}
        out["declined"] = await attempt(client.payments.create(amount_minor=1000, card=card("4000000000000002")))
        manual = await client.payments.create(amount_minor=1200, card=card("4242424242424242"), capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL)
        out["captured"] = await attempt(client.payments.capture(manual.id))
        out["refunded"] = await attempt(client.payments.refund(manual.id))
        out["capture_again"] = await attempt(client.payments.capture(manual.id))
        out["missing"] = await attempt(client.payments.get("pay_doesnotexist0000000000"))
        print(json.dumps(out))

asyncio.run(main(sys.argv[1], sys.argv[2]))
`;

let server: PaysimServer;

before(async () => {
  server = await PaysimServer.start();
});

after(async () => {
  await server?.close();
});

async function typescriptScenario(target: string, apiKey: string): Promise<Outcome> {
  const client = await createClient({ target, apiKey });
  const card = (number: string) => ({ case: "card" as const, value: { number, expMonth: 12, expYear: 2030, cvc: "123" } });
  const attempt = async (step: Promise<Payment | { payment?: Payment }>): Promise<[string, string]> => {
    try {
      const result = await step;
      const payment = "status" in result ? result : result.payment;
      assert.ok(payment !== undefined);
      const refunded = payment.status === PaymentStatus.REFUNDED;
      return [PaymentStatus[payment.status], refunded ? String(payment.refundedAmountMinor) : (payment.decline?.code ?? "")];
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      return [error.name, error.reason];
    }
  };
  try {
    const declined = await attempt(client.payments.create({ amountMinor: 1000n, paymentMethod: card("4000000000000002") }));
    const manual = await client.payments.create({
      amountMinor: 1200n,
      paymentMethod: card("4242424242424242"),
      captureMethod: CaptureMethod.MANUAL,
    });
    return {
      declined,
      captured: await attempt(client.payments.capture({ paymentId: manual.id })),
      refunded: await attempt(client.payments.refund({ paymentId: manual.id })),
      capture_again: await attempt(client.payments.capture({ paymentId: manual.id })),
      missing: await attempt(client.payments.get("pay_doesnotexist0000000000")),
    };
  } finally {
    client.close();
  }
}

test("the same scenario through the Python and the TypeScript SDK gives the same results", async () => {
  const shop = await registerShop(server.target);
  const python = await run(PYTHON, ["-c", PYTHON_SCENARIO, server.target, shop.apiKey]);
  const fromPython = JSON.parse(python.stdout) as Outcome;
  const fromTypescript = await typescriptScenario(server.target, shop.apiKey);
  assert.deepEqual(fromTypescript, fromPython);
  assert.deepEqual(fromPython.capture_again, ["PaymentNotCapturable", "PAYMENT_NOT_CAPTURABLE"]);
  assert.deepEqual(fromPython.declined, ["DECLINED", "generic_decline"]);
});

test("webhook signatures: each SDK verifies what the other signs", async () => {
  const payload = '{"id":"evt_1","type":"payment.captured","data":{"amount_minor":"1999","note":"caf\\u00e9 ☕"}}';
  const secrets = ["whsec_first", "whsec_second"];
  const at = Math.floor(Date.now() / 1000);
  const script = [
    "import sys, json",
    "from paysim_client import webhooks",
    "payload, header, at = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3])",
    "webhooks.verify(payload, header, 'whsec_second')",
    "print(webhooks.sign(payload, ['whsec_first', 'whsec_second'], at))",
  ].join("\n");
  const header = webhooks.sign(payload, secrets, at);
  const python = await run(PYTHON, ["-c", script, payload, header, String(at)]);
  assert.equal(python.stdout.trim(), header);
  assert.equal(webhooks.verify(payload, python.stdout.trim(), "whsec_first"), at);
});

test("both SDKs read the same retry safety, access and reason classes out of the contract", async () => {
  const script = [
    "import json",
    "from paysim_client._generated import reasons, rpcs",
    "table = {r.path: [r.safety.value, r.anonymous] for r in rpcs.ALL}",
    "classes = {reason: cls.__name__ for reason, cls in reasons.BY_REASON.items()}",
    "print(json.dumps({'rpcs': table, 'reasons': classes}))",
  ].join("\n");
  const python = JSON.parse((await run(PYTHON, ["-c", script])).stdout) as {
    rpcs: Record<string, [string, boolean]>;
    reasons: Record<string, string>;
  };
  const services = [
    AnalyticsService,
    AuthService,
    ClockService,
    CustomerService,
    DisputeService,
    EventService,
    MerchantService,
    PaymentService,
    SimulatorService,
    ThreeDSService,
    WebhookService,
  ];
  const table: Record<string, [string, boolean]> = {};
  for (const service of services) {
    for (const method of service.methods) {
      const facts = rpcFacts(method);
      table[`/${service.typeName}/${method.name}`] = [facts.safety, facts.anonymous];
    }
  }
  assert.deepEqual(table, python.rpcs);
  const classes = Object.fromEntries(Object.entries(BY_REASON).map(([reason, cls]) => [reason, cls.name]));
  assert.deepEqual(classes, python.reasons);
});
