/** `client.webhooks`: endpoints, secrets, deliveries; and `verify()` for the receiver. */

import type { WebhookDelivery, WebhookEndpoint } from "../gen/paysim/v1/webhook_pb.js";
import { WebhookService } from "../gen/paysim/v1/webhook_pb.js";
import type { Pager } from "../pager.js";
import type { CallOptions } from "../transport.js";
import { verify, type VerifyOptions } from "../webhooks.js";
import { Resource, type ReplyOf, type RequestOf } from "./base.js";
import { required } from "./payments.js";

const M = WebhookService.method;

export class Webhooks extends Resource {
  /** A new endpoint: its signing `secret` (`whsec_…`) is shown this once. */
  create(request: RequestOf<typeof M.createWebhookEndpoint>, options?: CallOptions): Promise<ReplyOf<typeof M.createWebhookEndpoint>> {
    return this.call(M.createWebhookEndpoint, request, options);
  }

  async get(webhookEndpointId: string, options?: CallOptions): Promise<WebhookEndpoint> {
    const reply = await this.call(M.getWebhookEndpoint, { webhookEndpointId }, options);
    return required(reply.webhookEndpoint, "webhook endpoint");
  }

  list(request: RequestOf<typeof M.listWebhookEndpoints> = {}, options?: CallOptions): Pager<WebhookEndpoint> {
    return this.pager(M.listWebhookEndpoints, request, (reply) => reply.webhookEndpoints, options);
  }

  async update(request: RequestOf<typeof M.updateWebhookEndpoint>, options?: CallOptions): Promise<WebhookEndpoint> {
    const reply = await this.call(M.updateWebhookEndpoint, request, options);
    return required(reply.webhookEndpoint, "webhook endpoint");
  }

  delete(webhookEndpointId: string, options?: CallOptions): Promise<ReplyOf<typeof M.deleteWebhookEndpoint>> {
    return this.call(M.deleteWebhookEndpoint, { webhookEndpointId }, options);
  }

  rotateSecret(request: RequestOf<typeof M.rotateWebhookSecret>, options?: CallOptions): Promise<ReplyOf<typeof M.rotateWebhookSecret>> {
    return this.call(M.rotateWebhookSecret, request, options);
  }

  deliveries(request: RequestOf<typeof M.listWebhookDeliveries> = {}, options?: CallOptions): Pager<WebhookDelivery> {
    return this.pager(M.listWebhookDeliveries, request, (reply) => reply.webhookDeliveries, options);
  }

  redeliver(request: RequestOf<typeof M.redeliverWebhook>, options?: CallOptions): Promise<ReplyOf<typeof M.redeliverWebhook>> {
    return this.call(M.redeliverWebhook, request, options);
  }

  /** Check a delivery's `Paysim-Signature` header (see webhooks.verify). */
  verify(payload: string | Uint8Array, header: string, secret: string, options?: VerifyOptions): number {
    return verify(payload, header, secret, options);
  }
}
