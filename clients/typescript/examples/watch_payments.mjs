/**
 * Watch payments as they happen: open a watcher, make a few payments, print each event as it
 * streams in, stop after N of them, then catch up from the saved cursor on what happened while
 * nobody was watching.
 *
 *     node clients/typescript/examples/watch_payments.mjs [N]      # PAYSIM_TARGET, PAYSIM_API_KEY: see setup.mjs
 *
 * The watcher reopens its stream by itself, from its cursor, when the server restarts or the
 * connection breaks, so nothing is lost or repeated: run it with a large N and restart the server.
 */

import { types } from "@paysim/client";

import { card, connect } from "./setup.mjs";

const { CaptureMethod } = types;
const VISA = card("4242424242424242");
const wanted = Number(process.argv[2] ?? 8);

function describe(seq, event) {
  // The event's data is the message of its type: amounts are bigint minor units, never a card number.
  let suffix = "";
  if (event.data.case === "paymentCreated") {
    const created = event.data.value;
    suffix = ` amount=${created.amountMinor} ${created.currencyCode} card=…${created.card?.last4}`;
  } else if (event.data.case === "paymentCaptured") {
    suffix = ` amount=${event.data.value.amountMinor} fee=${event.data.value.feeAmountMinor}`;
  }
  return `  seq ${seq}: ${event.type.padEnd(25)} ${event.paymentId} v${event.paymentVersion}${suffix}`;
}

async function makeMorePayments(client) {
  // Declined: a result, not an error, and an event like any other.
  await client.payments.create({ amountMinor: 500n, paymentMethod: VISA }, { simulate: { outcome: "decline:insufficient_funds" } });
  // Authorized now, captured later.
  const held = await client.payments.create({ amountMinor: 5000n, paymentMethod: VISA, captureMethod: CaptureMethod.MANUAL });
  await client.payments.capture({ paymentId: held.id });
}

const client = await connect();
try {
  // Captured at once: payment.created, payment.authorized, payment.captured. Its first event's
  // sequence is where the watcher starts, so nothing from here on is missed, however fast.
  const first = await client.payments.create({ amountMinor: 1999n, currencyCode: "USD", paymentMethod: VISA, description: "a book" });
  const [created] = await client.payments.events({ paymentId: first.id }).all();
  const start = created.sequence - 1n;

  const watcher = client.payments.watch({ afterSeq: start });
  console.log(`watching from seq ${start}; stopping after ${wanted} events`);
  const making = makeMorePayments(client);
  let seen = 0;
  for await (const event of watcher) {
    console.log(describe(watcher.cursor, event));
    if (++seen === wanted) break; // leaving the loop closes the stream
  }
  await making;
  const saved = watcher.cursor; // persist this to pick up exactly here later
  console.log(`stopped at seq ${saved}`);

  // While nobody watches, a refund happens …
  const payment = await client.payments.create({ amountMinor: 2500n, paymentMethod: VISA, description: "returned later" });
  await client.payments.refund({ paymentId: payment.id, amountMinor: 2500n, reason: "returned" });

  // … and a watcher from the saved cursor replays everything missed, then goes live.
  const catchUp = client.payments.watch({ afterSeq: saved });
  console.log(`catching up from seq ${saved}:`);
  const kinds = [];
  for await (const event of catchUp) {
    console.log(describe(catchUp.cursor, event));
    kinds.push(event.type);
    if (event.type === "refund.succeeded" && event.paymentId === payment.id) break;
  }
  if (kinds.slice(-2).join() !== "refund.requested,refund.succeeded") throw new Error(`unexpected events: ${kinds}`);
} finally {
  client.close();
}
