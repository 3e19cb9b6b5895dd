/** `client.merchants`: registration, settings, API keys and gateway configurations. */

import type { ApiKey, GatewayConfig, Merchant } from "../gen/paysim/v1/merchant_pb.js";
import { MerchantService } from "../gen/paysim/v1/merchant_pb.js";
import type { Pager } from "../pager.js";
import type { CallOptions } from "../transport.js";
import { Resource, type ReplyOf, type RequestOf } from "./base.js";
import { required } from "./payments.js";

const M = MerchantService.method;

export class Merchants extends Resource {
  /** Register a merchant and its owner (a public call: no credentials needed). */
  register(
    request: RequestOf<typeof M.registerMerchant>,
    options?: CallOptions,
  ): Promise<ReplyOf<typeof M.registerMerchant>> {
    return this.call(M.registerMerchant, request, options);
  }

  /** The caller's merchant (an admin names one). */
  async get(merchantId = "", options?: CallOptions): Promise<Merchant> {
    return required((await this.call(M.getMerchant, { merchantId }, options)).merchant, "merchant");
  }

  async update(request: RequestOf<typeof M.updateMerchant>, options?: CallOptions): Promise<Merchant> {
    return required((await this.call(M.updateMerchant, request, options)).merchant, "merchant");
  }

  /** Every merchant (admins only). */
  list(request: RequestOf<typeof M.listMerchants> = {}, options?: CallOptions): Pager<Merchant> {
    return this.pager(M.listMerchants, request, (reply) => reply.merchants, options);
  }

  async activate(merchantId: string, options?: CallOptions): Promise<Merchant> {
    return required((await this.call(M.activateMerchant, { merchantId }, options)).merchant, "merchant");
  }

  async deactivate(merchantId: string, options?: CallOptions): Promise<Merchant> {
    return required((await this.call(M.deactivateMerchant, { merchantId }, options)).merchant, "merchant");
  }

  /** A new API key: its `secret` (`sk_test_…`) is shown this once. */
  createApiKey(
    request: RequestOf<typeof M.createApiKey>,
    options?: CallOptions,
  ): Promise<ReplyOf<typeof M.createApiKey>> {
    return this.call(M.createApiKey, request, options);
  }

  listApiKeys(request: RequestOf<typeof M.listApiKeys> = {}, options?: CallOptions): Pager<ApiKey> {
    return this.pager(M.listApiKeys, request, (reply) => reply.apiKeys, options);
  }

  revokeApiKey(
    request: RequestOf<typeof M.revokeApiKey>,
    options?: CallOptions,
  ): Promise<ReplyOf<typeof M.revokeApiKey>> {
    return this.call(M.revokeApiKey, request, options);
  }

  setGatewayConfig(
    request: RequestOf<typeof M.setGatewayConfig>,
    options?: CallOptions,
  ): Promise<ReplyOf<typeof M.setGatewayConfig>> {
    return this.call(M.setGatewayConfig, request, options);
  }

  async listGatewayConfigs(merchantId = "", options?: CallOptions): Promise<GatewayConfig[]> {
    return (await this.call(M.listGatewayConfigs, { merchantId }, options)).gatewayConfigs;
  }

  deleteGatewayConfig(
    request: RequestOf<typeof M.deleteGatewayConfig>,
    options?: CallOptions,
  ): Promise<ReplyOf<typeof M.deleteGatewayConfig>> {
    return this.call(M.deleteGatewayConfig, request, options);
  }
}
