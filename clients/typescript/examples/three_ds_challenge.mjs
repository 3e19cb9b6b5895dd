/**
 * 3-D Secure: a card whose issuer challenges the cardholder. The payment comes back
 * REQUIRES_ACTION with the challenge; the simulated ACS plays the cardholder; completing the
 * challenge authorizes the payment (or fails it when the cardholder refuses).
 *
 *     node clients/typescript/examples/three_ds_challenge.mjs      # PAYSIM_TARGET, PAYSIM_API_KEY: see setup.mjs
 */

import { ThreeDSChallengeCompleted, types } from "@paysim/client";

import { card, connect } from "./setup.mjs";

const { AcsAction, PaymentStatus, ThreeDSPolicyMode } = types;
const CHALLENGE_CARD = card("4000000000003220");
const PLAIN_VISA = card("4242424242424242");

const client = await connect();
try {
  const payment = await client.payments.create({ amountMinor: 2500n, currencyCode: "EUR", paymentMethod: CHALLENGE_CARD });
  const challenge = payment.nextAction?.threeDsChallenge;
  if (challenge === undefined) throw new Error(`no challenge: ${PaymentStatus[payment.status]}`);
  console.log(`${payment.id}: ${PaymentStatus[payment.status]}, challenge ${challenge.id} at ${challenge.acsUrl}`);

  // What a browser would do: the cardholder approves at the ACS, which signs its result; the
  // merchant's backend completes the challenge with it.
  const answer = await client.threeDS.simulateAcs({
    paymentId: payment.id,
    challengeRequest: challenge.challengeRequest,
    action: AcsAction.APPROVE,
  });
  const completion = { paymentId: payment.id, challengeId: challenge.id, acsResult: answer.acsResult };
  const done = await client.threeDS.completeChallenge(completion);
  console.log(`completed: ${PaymentStatus[done.status]}, transStatus ${done.threeDs?.transStatus}, ECI ${done.threeDs?.eci}`);

  // A challenge is answered once.
  try {
    await client.threeDS.completeChallenge(completion);
  } catch (error) {
    if (!(error instanceof ThreeDSChallengeCompleted)) throw error;
    console.log(`refused: ${error.reason}`);
  }

  // In a test, answerChallenge does both steps; a cardholder who refuses fails the payment.
  const challenged = await client.payments.create({ amountMinor: 2500n, paymentMethod: CHALLENGE_CARD });
  const refused = await client.threeDS.answerChallenge(challenged, AcsAction.DENY);
  console.log(`denied: ${PaymentStatus[refused.status]} (${refused.threeDs?.transStatusReason})`);

  // The merchant may ask for 3-D Secure itself, e.g. above an amount per currency.
  await client.threeDS.setPolicy({
    mode: ThreeDSPolicyMode.THREE_DS_POLICY_MODE_ABOVE_AMOUNT,
    thresholds: [{ currencyCode: "USD", amountMinor: 10000n }],
  });
  try {
    const large = await client.payments.create({ amountMinor: 25000n, currencyCode: "USD", paymentMethod: PLAIN_VISA });
    console.log(`above the threshold: ${PaymentStatus[large.status]}, transStatus ${large.threeDs?.transStatus}`);
  } finally {
    await client.threeDS.setPolicy({ mode: ThreeDSPolicyMode.THREE_DS_POLICY_MODE_NEVER });
  }
} finally {
  client.close();
}
