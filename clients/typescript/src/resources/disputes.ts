/**
 * `client.disputes`: the merchant's disputes. A dispute opens when a payment made with one of
 * Stripe's dispute test cards is captured; answer it with evidence (`winning_evidence` in
 * `uncategorizedText` wins it) or accept it. Both answers are idempotent: the same evidence again,
 * or accepting again, changes nothing, so the client retries them.
 */

import type { Dispute } from "../gen/paysim/v1/dispute_pb.js";
import { DisputeService } from "../gen/paysim/v1/dispute_pb.js";
import type { Pager } from "../pager.js";
import type { CallOptions } from "../transport.js";
import { Resource, type RequestOf } from "./base.js";
import { required } from "./payments.js";

const M = DisputeService.method;

export class Disputes extends Resource {
  /** The disputes, newest first, filtered by `paymentId` and `statuses`, page after page. */
  list(request: RequestOf<typeof M.listDisputes> = {}, options?: CallOptions): Pager<Dispute> {
    return this.pager(M.listDisputes, request, (reply) => reply.disputes, options);
  }

  async get(disputeId: string, options?: CallOptions): Promise<Dispute> {
    return required((await this.call(M.getDispute, { disputeId }, options)).dispute, "dispute");
  }

  /** Answer with the text fields of Stripe's evidence object; the dispute goes under review. */
  async submitEvidence(request: RequestOf<typeof M.submitDisputeEvidence>, options?: CallOptions): Promise<Dispute> {
    return required((await this.call(M.submitDisputeEvidence, request, options)).dispute, "dispute");
  }

  /** Give up: a chargeback is lost, a warning closed. */
  async accept(disputeId: string, options?: CallOptions): Promise<Dispute> {
    return required((await this.call(M.acceptDispute, { disputeId }, options)).dispute, "dispute");
  }
}
