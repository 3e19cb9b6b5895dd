/**
 * `createClient()`: a connection to paysim with its resource namespaces.
 *
 *     const client = await createClient({ target: "localhost:50051", apiKey: process.env.PAYSIM_API_KEY });
 *     const payment = await client.payments.create({ amountMinor: 1999n, ... });
 *     client.close();
 *
 * gRPC over HTTP/2 through Connect's Node transport (`@connectrpc/connect-node`), which speaks to
 * paysim's grpcio server as any gRPC client does; one HTTP/2 session, reconnected when it breaks.
 */

import { createGrpcTransport } from "@connectrpc/connect-node";

import { ApiKeyCredentials, Session } from "./auth.js";
import { Auth } from "./resources/auth.js";
import { Customers } from "./resources/customers.js";
import { Disputes } from "./resources/disputes.js";
import { Events } from "./resources/events.js";
import { Merchants } from "./resources/merchants.js";
import { Payments } from "./resources/payments.js";
import { Simulator } from "./resources/simulator.js";
import { ThreeDS } from "./resources/three-ds.js";
import { Webhooks } from "./resources/webhooks.js";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
import { Transport } from "./transport.js";

export const DEFAULT_TARGET = "localhost:50051";
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface ClientOptions {
  /** `host:port` of the server (default localhost:50051), or a full `http://`/`https://` URL. */
  readonly target?: string;
  /** A merchant API key (`sk_test_…`), sent with every call. */
  readonly apiKey?: string;
  /** Log in now and keep the session valid (refreshed before expiry and when refused). */
  readonly login?: { readonly email: string; readonly password: string };
  /** TLS (`https://`) instead of plaintext for a `host:port` target. */
  readonly tls?: boolean;
  /** Milliseconds for each call, retries included (undefined: no deadline). Calls may override it. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  /** Headers sent with every call. */
  readonly headers?: Readonly<Record<string, string>>;
}

export class PaysimClient {
  readonly auth: Auth;
  readonly merchants: Merchants;
  readonly customers: Customers;
  readonly payments: Payments;
  readonly disputes: Disputes;
  readonly threeDS: ThreeDS;
  readonly webhooks: Webhooks;
  readonly simulator: Simulator;
  readonly events: Events;

  constructor(
    readonly transport: Transport,
    readonly target: string,
    /** The login session, when the client was made with `login`. */
    readonly session?: Session,
  ) {
    this.auth = new Auth(transport);
    this.merchants = new Merchants(transport);
    this.customers = new Customers(transport);
    this.payments = new Payments(transport);
    this.disputes = new Disputes(transport);
    this.threeDS = new ThreeDS(transport);
    this.webhooks = new Webhooks(transport);
    this.simulator = new Simulator(transport);
    this.events = new Events(transport);
  }

  /** Cancel the calls and streams in flight; later calls are refused. */
  close(): void {
    this.transport.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function baseUrl(target: string, tls: boolean): string {
  if (/^https?:\/\//.test(target)) return target;
  return `${tls ? "https" : "http"}://${target}`;
}

/**
 * Connect to paysim. With `apiKey` every call carries the key; with `login` the client logs in
 * first (so this rejects on wrong credentials); with neither only the public calls work
 * (`merchants.register`, `auth.register`).
 */
export async function createClient(options: ClientOptions = {}): Promise<PaysimClient> {
  if (options.apiKey !== undefined && options.login !== undefined) {
    throw new TypeError("give either apiKey or login, not both");
  }
  const target = options.target ?? DEFAULT_TARGET;
  const connect = createGrpcTransport({
    baseUrl: baseUrl(target, options.tls ?? false),
    // A broken connection is noticed while idle too, and the session re-established on the next call.
    pingIntervalMs: 15_000,
  });
  const transport = new Transport(connect, {
    timeoutMs: "timeoutMs" in options ? options.timeoutMs : DEFAULT_TIMEOUT_MS,
    retry: options.retry ?? DEFAULT_RETRY,
    headers: { ...options.headers },
  });
  let session: Session | undefined;
  if (options.apiKey !== undefined) {
    transport.credentials = new ApiKeyCredentials(options.apiKey);
  } else if (options.login !== undefined) {
    session = new Session(transport, options.login.email, options.login.password);
    try {
      await session.login();
    } catch (error) {
      transport.close();
      throw error;
    }
    transport.credentials = session;
  }
  return new PaysimClient(transport, target, session);
}
