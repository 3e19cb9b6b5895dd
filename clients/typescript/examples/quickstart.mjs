/**
 * Quick start: connect, take a payment, see a decline, handle an error, list payments.
 *
 *     python3 server/dev.py serve                                  # in another terminal
 *     node clients/typescript/examples/quickstart.mjs              # PAYSIM_TARGET, PAYSIM_API_KEY: see setup.mjs
 */

import { InvalidArgument } from "@paysim/client";
import { types } from "@paysim/client";

import { card, connect } from "./setup.mjs";

const { PaymentStatus } = types;
const VISA = card("4242424242424242", { holderName: "Ada Lovelace" });
const INSUFFICIENT_FUNDS = card("4000000000009995");

const client = await connect();
try {
  const merchant = await client.merchants.get(); // the credentials' own merchant
  console.log(`acting for merchant ${merchant.id} (${merchant.name})`);

  // Amounts are bigint in the currency's minor unit: 1999n is $19.99.
  const payment = await client.payments.create({
    amountMinor: 1999n,
    currencyCode: "USD",
    paymentMethod: VISA,
    description: "quick start",
  });
  console.log(
    `${payment.id}: ${PaymentStatus[payment.status]}, fee ${payment.feeAmountMinor}, ` +
      `net ${payment.netAmountMinor} (card ${payment.card?.brand} …${payment.card?.last4})`,
  );

  // A decline is a result, not an exception: the payment says why.
  const declined = await client.payments.create({ amountMinor: 1999n, paymentMethod: INSUFFICIENT_FUNDS });
  if (declined.status !== PaymentStatus.DECLINED) throw new Error(`expected a decline: ${PaymentStatus[declined.status]}`);
  console.log(`${declined.id}: declined, ${declined.decline?.code}: ${declined.decline?.message}`);

  // A request that cannot be processed rejects, with the reason and each bad field.
  try {
    await client.payments.create({ amountMinor: 1999n, paymentMethod: card("4242424242424241", { cvc: "1" }) });
  } catch (error) {
    if (!(error instanceof InvalidArgument)) throw error;
    for (const violation of error.fieldViolations) {
      console.log(`refused: ${violation.field}: ${violation.description} (${violation.reason})`);
    }
    console.log(`  the server logged it as request ${error.requestId}`);
  }

  // Pagers fetch page after page as the loop goes.
  for await (const listed of client.payments.list({ pageSize: 10 })) {
    console.log(`  ${listed.id} ${String(listed.amountMinor).padStart(6)} ${listed.currencyCode} ${PaymentStatus[listed.status]}`);
  }
} finally {
  client.close();
}
