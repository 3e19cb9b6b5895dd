/**
 * The SDK against a real `paysim serve`: the README's five-minute path in TypeScript, declines and
 * the error classes of refused requests, pagers, a login session, and webhook verification of a
 * real delivery.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  AmountExceedsRefundable,
  createClient,
  DisputeUnderReview,
  FailedPrecondition,
  InvalidArgument,
  InvalidApiKey,
  NotFound,
  PaymentDisputed,
  PaymentNotCapturable,
  PaymentNotFound,
  PaymentStateError,
  RpcError,
  StatusCode,
  Unauthenticated,
  webhooks,
} from "../src/index.js";
import { AcsAction, CaptureMethod, DisputeStatus, PaymentStatus } from "../src/types.js";
import { PaysimServer, PASSWORD, registerShop, type Shop } from "./support/server.js";
import { WebhookReceiver } from "./support/webhook-receiver.js";

const card = (number: string) => ({
  case: "card" as const,
  value: { number, expMonth: 12, expYear: 2030, cvc: "123" },
});

let server: PaysimServer;
let shop: Shop;

before(async () => {
  server = await PaysimServer.start({
    PAYSIM_WEBHOOK_POLL_SECONDS: "0.2",
    PAYSIM_WEBHOOK_BACKOFF_SCALE: "0.001",
  });
  shop = await registerShop(server.target);
});

after(async () => {
  await server?.close();
});

describe("the five-minute path", () => {
  test("a challenged card: 3-D Secure approved, captured, refunded in two parts", async () => {
    const client = await createClient({ target: server.target, login: { email: shop.email, password: PASSWORD } });
    try {
      let payment = await client.payments.create({
        amountMinor: 2500n,
        currencyCode: "EUR",
        paymentMethod: card("4000000000003220"),
      });
      assert.equal(payment.status, PaymentStatus.REQUIRES_ACTION);
      payment = await client.threeDS.answerChallenge(payment, AcsAction.APPROVE);
      assert.equal(payment.status, PaymentStatus.CAPTURED);
      await client.payments.refund({ paymentId: payment.id, amountMinor: 1000n, reason: "returned" });
      const refunded = await client.payments.refund({ paymentId: payment.id });
      assert.equal(refunded.payment?.status, PaymentStatus.REFUNDED);
      assert.equal(refunded.refund?.amountMinor, 1500n);
      const refunds = await client.payments.refunds(payment.id).all();
      assert.equal(refunds.length, 2);
    } finally {
      client.close();
    }
  });
});

describe("declines and refusals", () => {
  test("a declined card is a result, not an error", async () => {
    const client = await createClient({ target: server.target, apiKey: shop.apiKey });
    try {
      const payment = await client.payments.create({ amountMinor: 1000n, paymentMethod: card("4000000000009995") });
      assert.equal(payment.status, PaymentStatus.DECLINED);
      assert.equal(payment.decline?.code, "insufficient_funds");
      assert.equal(payment.decline?.retryable, true);
    } finally {
      client.close();
    }
  });

  test("refusals arrive as the class of their reason, with the server's details", async () => {
    const client = await createClient({ target: server.target, apiKey: shop.apiKey });
    try {
      const missing = await client.payments.get("pay_doesnotexist0000000000").catch((e: unknown) => e);
      assert.ok(missing instanceof PaymentNotFound && missing instanceof NotFound && missing instanceof RpcError);
      assert.equal(missing.code, StatusCode.NOT_FOUND);
      assert.equal(missing.reason, "PAYMENT_NOT_FOUND");
      assert.ok(missing.requestId, "the request id of the call");

      const invalid = await client.payments.create({ amountMinor: -5n, paymentMethod: card("4242424242424242") }).catch((e: unknown) => e);
      assert.ok(invalid instanceof InvalidArgument);
      assert.ok(invalid.fieldViolations.some((v) => v.field === "amount_minor"), JSON.stringify(invalid.fieldViolations));

      const manual = await client.payments.create({
        amountMinor: 700n,
        paymentMethod: card("4242424242424242"),
        captureMethod: CaptureMethod.MANUAL,
      });
      assert.equal(manual.status, PaymentStatus.AUTHORIZED);
      const captured = await client.payments.capture({ paymentId: manual.id });
      assert.equal(captured.status, PaymentStatus.CAPTURED);
      const again = await client.payments.capture({ paymentId: manual.id }).catch((e: unknown) => e);
      assert.ok(again instanceof PaymentNotCapturable && again instanceof PaymentStateError && again instanceof FailedPrecondition);
      assert.equal(again.metadata["payment_id"], manual.id);

      const tooMuch = await client.payments.refund({ paymentId: manual.id, amountMinor: 800n }).catch((e: unknown) => e);
      assert.ok(tooMuch instanceof AmountExceedsRefundable);
      assert.equal(tooMuch.refundableAmountMinor, 700);
    } finally {
      client.close();
    }
  });

  test("a wrong API key is InvalidApiKey, an Unauthenticated", async () => {
    const client = await createClient({ target: server.target, apiKey: "sk_test_notarealkey000000000000" });
    try {
      const error = await client.payments.list().all().catch((e: unknown) => e);
      assert.ok(error instanceof InvalidApiKey && error instanceof Unauthenticated, String(error));
    } finally {
      client.close();
    }
  });

  test("wrong login credentials reject createClient", async () => {
    const refused = await createClient({ target: server.target, login: { email: shop.email, password: "wrong password" } }).catch(
      (e: unknown) => e,
    );
    assert.ok(refused instanceof Unauthenticated);
    assert.equal(refused.reason, "INVALID_CREDENTIALS");
  });

  test("an aborted signal cancels the call", async () => {
    const client = await createClient({ target: server.target, apiKey: shop.apiKey });
    try {
      const controller = new AbortController();
      const pending = client.payments.create(
        { amountMinor: 100n, paymentMethod: card("4242424242424242") },
        { signal: controller.signal, simulate: { latencyMs: 3000 } },
      );
      controller.abort();
      const error = await pending.catch((e: unknown) => e);
      assert.ok(error instanceof RpcError);
      assert.equal(error.code, StatusCode.CANCELLED);
      const late = await client.payments
        .create({ amountMinor: 100n, paymentMethod: card("4242424242424242") }, { timeoutMs: 200, simulate: { latencyMs: 3000 } })
        .catch((e: unknown) => e);
      assert.ok(late instanceof RpcError);
      assert.equal(late.code, StatusCode.DEADLINE_EXCEEDED);
    } finally {
      client.close();
    }
  });
});

describe("disputes", () => {
  test("a dispute card's capture opens a dispute; evidence, acceptance and refusals", async () => {
    const client = await createClient({ target: server.target, apiKey: shop.apiKey });
    try {
      const paid = await client.payments.create({ amountMinor: 5000n, paymentMethod: card("4000000000000259") });
      const disputeId = paid.dispute?.id ?? "";
      assert.equal(paid.dispute?.status, DisputeStatus.NEEDS_RESPONSE);
      assert.equal(paid.disputedAmountMinor, 5000n);
      const refused = await client.payments.refund({ paymentId: paid.id }).catch((e: unknown) => e);
      assert.ok(refused instanceof PaymentDisputed && refused instanceof FailedPrecondition);
      const listed = await client.disputes.list({ paymentId: paid.id }).all();
      assert.deepEqual(listed.map((d) => d.id), [disputeId]);
      const answered = await client.disputes.submitEvidence({
        disputeId,
        evidence: { productDescription: "A teapot", uncategorizedText: "winning_evidence" },
      });
      assert.equal(answered.status, DisputeStatus.UNDER_REVIEW);
      assert.equal((await client.disputes.get(disputeId)).evidence?.productDescription, "A teapot");
      const busy = await client.disputes.accept(disputeId).catch((e: unknown) => e);
      assert.ok(busy instanceof DisputeUnderReview);

      const inquiry = await client.payments.create({ amountMinor: 700n, paymentMethod: card("4000000000001976") });
      const closed = await client.disputes.accept(inquiry.dispute?.id ?? "");
      assert.equal(closed.status, DisputeStatus.WARNING_CLOSED);
      assert.equal(closed.closeReason, "accepted");
    } finally {
      client.close();
    }
  });
});

describe("pagers", () => {
  test("list() walks every page", async () => {
    const own = await registerShop(server.target);
    const client = await createClient({ target: server.target, apiKey: own.apiKey });
    try {
      for (let i = 0; i < 5; i++) {
        await client.payments.create({ amountMinor: BigInt(100 + i), paymentMethod: card("4242424242424242") });
      }
      const seen = [];
      for await (const payment of client.payments.list({ pageSize: 2 })) seen.push(payment.amountMinor);
      assert.deepEqual(seen, [104n, 103n, 102n, 101n, 100n]);
    } finally {
      client.close();
    }
  });
});

describe("webhooks", () => {
  test("a real delivery verifies with the endpoint's secret, and nothing else does", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    const client = await createClient({ target: server.target, apiKey: shop.apiKey });
    try {
      const endpoint = await client.webhooks.create({ url: receiver.url, eventTypes: ["*"] });
      const payment = await client.payments.create({ amountMinor: 4200n, paymentMethod: card("4242424242424242") });
      const delivery = await receiver.waitFor((d) => d.body.toString().includes(payment.id));
      const header = String(delivery.headers[webhooks.SIGNATURE_HEADER]);
      const signedAt = client.webhooks.verify(delivery.body, header, endpoint.secret);
      assert.ok(Math.abs(signedAt - Date.now() / 1000) < 60);
      assert.throws(
        () => webhooks.verify(delivery.body, header, "whsec_wrong"),
        (e: unknown) => e instanceof webhooks.SignatureVerificationError && e.reason === "SIGNATURE_MISMATCH",
      );
      const altered = Buffer.concat([delivery.body, Buffer.from(" ")]);
      assert.throws(() => webhooks.verify(altered, header, endpoint.secret), webhooks.SignatureVerificationError);
      assert.throws(
        () => webhooks.verify(delivery.body, header, endpoint.secret, { now: signedAt + 301 }),
        (e: unknown) => e instanceof webhooks.SignatureVerificationError && e.reason === "TIMESTAMP_OUT_OF_TOLERANCE",
      );
    } finally {
      client.close();
      await receiver.close();
    }
  });
});

describe("watch", () => {
  test("hands out new events from now, and ends when the client closes", async () => {
    const own = await registerShop(server.target);
    const client = await createClient({ target: server.target, apiKey: own.apiKey });
    const watcher = client.events.watch();
    const types: string[] = [];
    const reading = (async () => {
      for await (const event of watcher) types.push(event.type);
    })();
    await new Promise((done) => setTimeout(done, 500)); // the stream is open
    await client.payments.create({ amountMinor: 900n, paymentMethod: card("4242424242424242") });
    while (!types.includes("payment.captured")) await new Promise((done) => setTimeout(done, 50));
    client.close();
    await reading; // ends, without an error
    assert.ok(types.includes("payment.created") || types.includes("payment.authorized"), types.join());
    assert.ok(watcher.cursor !== undefined && watcher.cursor > 0n);
  });
});
