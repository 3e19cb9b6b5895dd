/**
 * `client.payments`: create, read, list, capture, void and refund payments, and watch their
 * events. Declines are results: `create` returns the payment with status DECLINED and a `decline`;
 * it throws only when the request could not be processed. Every mutation carries an idempotency
 * key (the caller's, or a fresh one) that the client reuses for its own retries, so a retry never
 * charges twice.
 */

import type { Payment, PaymentEvent, Refund } from "../gen/paysim/v1/payment_pb.js";
import { PaymentService } from "../gen/paysim/v1/payment_pb.js";
import type { Pager } from "../pager.js";
import type { CallOptions } from "../transport.js";
import { Watcher, type WatchOptions } from "../watch.js";
import { Resource, type RequestOf } from "./base.js";

const M = PaymentService.method;

/** Per-request simulation knobs of `create`, sent as request headers. */
export interface SimulationOverride {
  /** `approve`, `decline`, `decline:<code>` (e.g. `decline:insufficient_funds`) or `error`. */
  readonly outcome?: string;
  /** How long the gateway takes to answer, 0 to 30000. */
  readonly latencyMs?: number;
}

export interface CreatePaymentOptions extends CallOptions {
  readonly simulate?: SimulationOverride;
}

function simulationHeaders(simulate: SimulationOverride | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (simulate?.outcome !== undefined) headers["paysim-force-outcome"] = simulate.outcome;
  if (simulate?.latencyMs !== undefined) headers["paysim-latency-ms"] = String(simulate.latencyMs);
  return headers;
}

export class Payments extends Resource {
  /**
   * Create a payment and authorize it; with automatic capture (the default) capture it too. Pay
   * with one of `card`, `upi` or `paypalWallet` (as `paymentMethod: { case: "card", value }`).
   * `amountMinor` is in the currency's minor unit. Returns the payment, declined ones included.
   */
  async create(request: RequestOf<typeof M.createPayment>, options: CreatePaymentOptions = {}): Promise<Payment> {
    const headers = { ...options.headers, ...simulationHeaders(options.simulate) };
    const reply = await this.call(M.createPayment, request, { ...options, headers });
    return required(reply.payment, "payment");
  }

  async get(paymentId: string, options?: CallOptions): Promise<Payment> {
    return required((await this.call(M.getPayment, { paymentId }, options)).payment, "payment");
  }

  /** The caller's payments, newest first, filtered; `for await` fetches page after page. */
  list(request: RequestOf<typeof M.listPayments> = {}, options?: CallOptions): Pager<Payment> {
    return this.pager(M.listPayments, request, (reply) => reply.payments, options);
  }

  /** Capture an authorized payment (all of it unless `amountMinor` says less). */
  async capture(request: RequestOf<typeof M.capturePayment>, options?: CallOptions): Promise<Payment> {
    return required((await this.call(M.capturePayment, request, options)).payment, "payment");
  }

  async void(paymentId: string, options?: CallOptions): Promise<Payment> {
    return required((await this.call(M.voidPayment, { paymentId }, options)).payment, "payment");
  }

  /** Refund a captured payment (all that is left unless `amountMinor` says less): the refund and the payment after it. */
  async refund(
    request: RequestOf<typeof M.refundPayment>,
    options?: CallOptions,
  ): Promise<{ refund: Refund; payment: Payment }> {
    const reply = await this.call(M.refundPayment, request, options);
    return { refund: required(reply.refund, "refund"), payment: required(reply.payment, "payment") };
  }

  refunds(paymentId: string, options?: CallOptions): Pager<Refund> {
    return this.pager(M.listRefunds, { paymentId }, (reply) => reply.refunds, options);
  }

  /** The payment's events, oldest first. */
  events(request: RequestOf<typeof M.listPaymentEvents>, options?: CallOptions): Pager<PaymentEvent> {
    return this.pager(M.listPaymentEvents, request, (reply) => reply.events, options);
  }

  /** Payment events as they are committed, across reconnections (see Watcher). */
  watch(options: WatchOptions = {}): Watcher {
    return new Watcher(this.transport, options);
  }
}

/** A field the server always sets, checked so callers get a value, not `undefined`. */
export function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new TypeError(`the server's reply has no ${field}`);
  return value;
}
