/**
 * Shared by the examples: where the server is and whose credentials to use.
 *
 * PAYSIM_TARGET (default localhost:50051) names the server. PAYSIM_API_KEY, or PAYSIM_EMAIL and
 * PAYSIM_PASSWORD, name the merchant to act as; with neither, a new merchant is registered (with a
 * random owner email) and an API key is created for it, as a first-time user would.
 */

import { randomBytes } from "node:crypto";

import { createClient } from "@paysim/client";

export const target = () => process.env.PAYSIM_TARGET || "localhost:50051";

/** A client for the merchant named by the environment, or for one registered now. */
export async function connect() {
  const apiKey = process.env.PAYSIM_API_KEY;
  if (apiKey) return createClient({ target: target(), apiKey });
  const { PAYSIM_EMAIL: email, PAYSIM_PASSWORD: password } = process.env;
  if (email && password) return createClient({ target: target(), login: { email, password } });
  return createClient({ target: target(), apiKey: await registerMerchant() });
}

/** Register a merchant, log in as its owner, create an API key and return its secret. */
async function registerMerchant() {
  const suffix = randomBytes(4).toString("hex");
  const email = `owner-${suffix}@example.test`;
  const password = randomBytes(12).toString("base64url");
  const anonymous = await createClient({ target: target() });
  try {
    const registered = await anonymous.merchants.register({
      name: `Example Shop ${suffix}`,
      ownerEmail: email,
      ownerPassword: password,
      ownerFullName: "Ada Owner",
    });
    console.log(`registered merchant ${registered.merchant?.id} (owner ${email})`);
  } finally {
    anonymous.close();
  }
  const owner = await createClient({ target: target(), login: { email, password } });
  try {
    const key = await owner.merchants.createApiKey({ name: "examples" });
    console.log(`created API key ${key.apiKey?.prefix}… (the secret is shown only once)`);
    return key.secret;
  } finally {
    owner.close();
  }
}

/** A card as a payment method of a request. */
export const card = (number, extra = {}) => ({
  case: "card",
  value: { number, expMonth: 12, expYear: 2030, cvc: "123", ...extra },
});
