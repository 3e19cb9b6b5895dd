/**
 * The transport's retry rules with a scripted Connect transport (no server): what is repeated,
 * with which idempotency key, after how long; and the retry delays themselves.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Transport as ConnectTransport } from "@connectrpc/connect";

import { DEFAULT_RETRY, Transport, Unavailable } from "../src/index.js";
import { ErrorInfoSchema, RetryInfoSchema } from "../src/gen/google/rpc/error_details_pb.js";
import { MerchantService } from "../src/gen/paysim/v1/merchant_pb.js";
import { PaymentService } from "../src/gen/paysim/v1/payment_pb.js";
import { retryDelayMs } from "../src/retry.js";

/** A Connect transport whose unary calls fail with `failures` in turn, then succeed. */
function scripted(failures: ConnectError[]): { transport: ConnectTransport; headers: Headers[] } {
  const headers: Headers[] = [];
  const transport = {
    async unary(method: { output: never }, _signal: unknown, _timeout: unknown, header: Headers) {
      headers.push(new Headers(header));
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return { message: create(method.output), header: new Headers(), trailer: new Headers() };
    },
    async stream() {
      throw new Error("not scripted");
    },
  } as unknown as ConnectTransport;
  return { transport, headers };
}

const fast = { ...DEFAULT_RETRY, initialBackoffMs: 1, maxBackoffMs: 5 };
const unavailable = () => new ConnectError("connection reset", Code.Unavailable);

describe("retries", () => {
  test("a deduplicated mutation is retried after UNAVAILABLE with the same key and request id", async () => {
    const { transport, headers } = scripted([unavailable(), unavailable()]);
    const client = new Transport(transport, { timeoutMs: 5000, retry: fast, headers: {} });
    await client.call(PaymentService.method.createPayment, { amountMinor: 100n });
    assert.equal(headers.length, 3);
    const keys = new Set(headers.map((h) => h.get("idempotency-key")));
    const ids = new Set(headers.map((h) => h.get("x-request-id")));
    assert.equal(keys.size, 1);
    assert.match([...keys][0] ?? "", /^sdk-[0-9a-f]{32}$/);
    assert.equal(ids.size, 1);
  });

  test("an unsafe call (a repeat may act twice) is never repeated once it may have reached the server", async () => {
    const { transport, headers } = scripted([unavailable()]);
    const client = new Transport(transport, { timeoutMs: 5000, retry: fast, headers: {} });
    await assert.rejects(client.call(MerchantService.method.createApiKey, { name: "k" }), Unavailable);
    assert.equal(headers.length, 1);
    assert.equal(headers[0]?.get("idempotency-key"), null, "only deduplicated calls carry a key");
  });

  test("the caller's idempotency key is the one sent", async () => {
    const { transport, headers } = scripted([]);
    const client = new Transport(transport, { timeoutMs: 5000, retry: fast, headers: {} });
    await client.call(PaymentService.method.capturePayment, { paymentId: "pay_1" }, { idempotencyKey: "mine" });
    assert.equal(headers[0]?.get("idempotency-key"), "mine");
  });

  test("RetryInfo is a floor, and a wait past the deadline gives up at once", async () => {
    const info = create(ErrorInfoSchema, { reason: "DATABASE_BUSY", domain: "paysim.v1" });
    const retry = create(RetryInfoSchema, { retryDelay: create(DurationSchema, { seconds: 2n }) });
    const busy = new ConnectError("busy", Code.Unavailable, undefined, [
      { desc: ErrorInfoSchema, value: info },
      { desc: RetryInfoSchema, value: retry },
    ]);
    const { transport, headers } = scripted([busy]);
    const client = new Transport(transport, { timeoutMs: 500, retry: fast, headers: {} });
    const error = await client.call(PaymentService.method.getPayment, { paymentId: "pay_1" }).catch((e: unknown) => e);
    assert.ok(error instanceof Unavailable);
    assert.equal(error.reason, "DATABASE_BUSY");
    assert.equal(error.retryDelayMs, 2000);
    assert.equal(headers.length, 1, "a 2 s wait does not fit in a 500 ms deadline");
  });

  test("backoff grows, is capped, and keeps to the server's delay", () => {
    const error = new Unavailable("x");
    const none = () => 0;
    assert.equal(retryDelayMs(error, "read", DEFAULT_RETRY, 1, undefined, none), 100);
    assert.equal(retryDelayMs(error, "read", DEFAULT_RETRY, 3, undefined, none), 400);
    assert.equal(retryDelayMs(error, "read", DEFAULT_RETRY, 7, undefined, none), 3000);
    assert.equal(retryDelayMs(error, "read", DEFAULT_RETRY, 8, undefined, none), undefined);
    assert.equal(retryDelayMs(error, "unsafe", DEFAULT_RETRY, 1, undefined, none), undefined);
    const slow = new Unavailable("x", { retryDelayMs: 1500 });
    assert.equal(retryDelayMs(slow, "keyed", DEFAULT_RETRY, 1, undefined, none), 1500);
    assert.equal(retryDelayMs(slow, "keyed", DEFAULT_RETRY, 1, 1000, none), undefined);
  });
});
