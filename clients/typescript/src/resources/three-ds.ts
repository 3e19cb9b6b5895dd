/** `client.threeDS`: 3-D Secure challenges, the simulated ACS, and the merchant's policy. */

import type { Payment } from "../gen/paysim/v1/payment_pb.js";
import { AcsAction, ThreeDSService } from "../gen/paysim/v1/threeds_pb.js";
import type { CallOptions } from "../transport.js";
import { Resource, type ReplyOf, type RequestOf } from "./base.js";
import { required } from "./payments.js";

const M = ThreeDSService.method;

export class ThreeDS extends Resource {
  getChallenge(paymentId: string, options?: CallOptions): Promise<ReplyOf<typeof M.getChallenge>> {
    return this.call(M.getChallenge, { paymentId }, options);
  }

  /** Play the cardholder at the simulated ACS: the `acsResult` to complete the challenge with. */
  simulateAcs(request: RequestOf<typeof M.simulateAcs>, options?: CallOptions): Promise<ReplyOf<typeof M.simulateAcs>> {
    return this.call(M.simulateAcs, request, options);
  }

  async completeChallenge(request: RequestOf<typeof M.completeChallenge>, options?: CallOptions): Promise<Payment> {
    return required((await this.call(M.completeChallenge, request, options)).payment, "payment");
  }

  /** The simulated ACS's answer to the payment's challenge, then its completion: the payment after. */
  async answerChallenge(payment: Payment, action: AcsAction = AcsAction.APPROVE, options?: CallOptions): Promise<Payment> {
    const challenge = payment.nextAction?.threeDsChallenge;
    if (challenge === undefined) throw new TypeError(`payment ${payment.id} has no 3-D Secure challenge to answer`);
    const answer = await this.simulateAcs(
      { paymentId: payment.id, challengeRequest: challenge.challengeRequest, action },
      { ...options, idempotencyKey: undefined },
    );
    return this.completeChallenge(
      { paymentId: payment.id, challengeId: challenge.id, acsResult: answer.acsResult },
      options,
    );
  }

  setPolicy(request: RequestOf<typeof M.setThreeDSPolicy>, options?: CallOptions): Promise<ReplyOf<typeof M.setThreeDSPolicy>> {
    return this.call(M.setThreeDSPolicy, request, options);
  }

  getPolicy(merchantId = "", options?: CallOptions): Promise<ReplyOf<typeof M.getThreeDSPolicy>> {
    return this.call(M.getThreeDSPolicy, { merchantId }, options);
  }
}
