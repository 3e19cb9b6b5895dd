/**
 * Manual capture and refunds: authorize, capture part, refund twice, refuse a refund above what is
 * left, and read the payment's history.
 *
 *     node clients/typescript/examples/refunds.mjs                 # PAYSIM_TARGET, PAYSIM_API_KEY: see setup.mjs
 */

import { AmountExceedsRefundable, types } from "@paysim/client";

import { card, connect } from "./setup.mjs";

const { CaptureMethod, PaymentStatus } = types;
const VISA = card("4242424242424242");

const client = await connect();
try {
  let payment = await client.payments.create({
    amountMinor: 5000n,
    currencyCode: "USD",
    paymentMethod: VISA,
    captureMethod: CaptureMethod.MANUAL,
    description: "order 1042",
  });
  console.log(`${payment.id}: ${PaymentStatus[payment.status]} for ${payment.authorizedAmountMinor}`);

  // Capture 30.00 of the 50.00 held; the rest of the authorization is released.
  payment = await client.payments.capture({ paymentId: payment.id, amountMinor: 3000n });
  console.log(`captured ${payment.capturedAmountMinor}, fee ${payment.feeAmountMinor}, net ${payment.netAmountMinor}`);

  // Each mutation carries an idempotency key; pass your own to make a retry after a crash safe.
  const first = await client.payments.refund(
    { paymentId: payment.id, amountMinor: 1000n, reason: "one book returned" },
    { idempotencyKey: `${payment.id}-refund-1` },
  );
  const second = await client.payments.refund({ paymentId: payment.id, amountMinor: 500n, reason: "shipping refunded" });
  console.log(`refunds ${first.refund?.id} and ${second.refund?.id}: ${PaymentStatus[second.payment?.status ?? 0]}`);

  try {
    await client.payments.refund({ paymentId: payment.id, amountMinor: 2000n });
  } catch (error) {
    if (!(error instanceof AmountExceedsRefundable)) throw error;
    console.log(`refused: only ${error.refundableAmountMinor} is left to refund`);
  }

  // The rest, then the history: every change of the payment is an event.
  const rest = await client.payments.refund({ paymentId: payment.id });
  console.log(`refunded the remaining ${rest.refund?.amountMinor}: ${PaymentStatus[rest.payment?.status ?? 0]}`);
  for await (const event of client.payments.events({ paymentId: payment.id })) {
    console.log(`  v${event.paymentVersion} ${event.type}`);
  }
  let refunded = 0n;
  for await (const refund of client.payments.refunds(payment.id)) refunded += refund.amountMinor;
  if (refunded !== 3000n || rest.payment?.refundedAmountMinor !== 3000n) throw new Error(`refunded ${refunded}`);
} finally {
  client.close();
}
