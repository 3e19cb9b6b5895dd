/** @paysim/client: the TypeScript SDK of paysim. */

export { ApiKeyCredentials, Session } from "./auth.js";
export { createClient, DEFAULT_TARGET, PaysimClient, type ClientOptions } from "./client.js";
export * from "./errors.js";
export { Pager, type Page } from "./pager.js";
export type { CreatePaymentOptions, SimulationOverride } from "./resources/payments.js";
export { DEFAULT_RETRY, NO_RETRY, type RetryPolicy } from "./retry.js";
export { rpcFacts, type RpcFacts, type Safety } from "./rpcs.js";
export { newIdempotencyKey, type CallOptions, type Credentials, Transport } from "./transport.js";
export { DEFAULT_RECONNECT, type ReconnectPolicy, Watcher, type WatchOptions } from "./watch.js";
export * as webhooks from "./webhooks.js";
export * as types from "./types.js";
