/**
 * `client.payments.watch()`: payment events as they are committed, across reconnections.
 *
 *     const watcher = client.payments.watch({ eventTypes: ["payment.captured"] });
 *     for await (const event of watcher) { handle(event); save(watcher.cursor); }
 *
 * A watcher holds one EventService.SubscribePaymentEvents stream at a time. When the stream ends
 * in a way that asks the client to come back (the server stops: UNAVAILABLE; the reader fell
 * behind or holds too many streams: RESOURCE_EXHAUSTED; the connection broke) it waits
 * (exponential backoff with jitter, never less than the server's RetryInfo) and opens a new
 * stream from its cursor. The server replays what was committed meanwhile, and the watcher drops
 * anything at or below its cursor, so every event is handed out exactly once. Any other error
 * ends the iteration by being thrown.
 */

import { setTimeout as sleep } from "node:timers/promises";

import type { MessageInitShape } from "@bufbuild/protobuf";

import { toRpcError } from "./errors.js";
import {
  EventService,
  StreamStart,
  type SubscribePaymentEventsRequestSchema,
  type SubscribePaymentEventsResponse,
} from "./gen/paysim/v1/events_pb.js";
import type { PaymentEvent } from "./gen/paysim/v1/payment_pb.js";
import { Cancelled, ResourceExhausted, type RpcError, Unauthenticated, Unavailable } from "./status-errors.js";
import type { Transport } from "./transport.js";

/** RESOURCE_EXHAUSTED reasons that a later stream from the same cursor gets past. */
const RESUMABLE_REASONS = new Set(["SUBSCRIBER_TOO_SLOW", "TOO_MANY_STREAMS", "RATE_LIMITED"]);

export interface ReconnectPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  /** Up to this much of the wait is added at random, so watchers do not all come back at once. */
  readonly jitter: number;
  /** Failed attempts in a row before the last error is thrown; undefined: keep trying. */
  readonly maxAttempts: number | undefined;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = Object.freeze({
  initialBackoffMs: 100,
  maxBackoffMs: 10_000,
  multiplier: 2,
  jitter: 0.5,
  maxAttempts: undefined,
});

export interface WatchOptions {
  /** Only these event types (`payment.captured`…); empty: all. */
  readonly eventTypes?: readonly string[];
  readonly paymentId?: string;
  /** An admin's choice of merchant. */
  readonly merchantId?: string;
  /** Resume after this `seq` (a saved `cursor`); undefined: from now. */
  readonly afterSeq?: bigint;
  readonly reconnect?: ReconnectPolicy;
  /** Stops the watcher as `close()` does. */
  readonly signal?: AbortSignal;
}

/** Whether a new stream from the cursor may succeed where this one ended with `error`. */
export function mayResume(error: RpcError, opening: boolean): boolean {
  if (error instanceof Unavailable || error instanceof Cancelled) return true;
  if (!(error instanceof ResourceExhausted)) return false;
  return RESUMABLE_REASONS.has(error.reason) || (opening && !error.reason);
}

export class Watcher implements AsyncIterable<PaymentEvent> {
  #cursor: bigint | undefined;
  #opened = 0;
  #failures = 0;
  readonly #stop = new AbortController();
  readonly #policy: ReconnectPolicy;
  /** The error the last stream ended with, if one did. */
  lastError: RpcError | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly options: WatchOptions = {},
  ) {
    this.#cursor = options.afterSeq;
    this.#policy = options.reconnect ?? DEFAULT_RECONNECT;
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
  }

  /**
   * The `seq` of the last event handed out, or a later position vouched for by a heartbeat.
   * Persist it and pass it as `afterSeq` to a later watcher to pick up exactly there.
   */
  get cursor(): bigint | undefined {
    return this.#cursor;
  }

  /** How many times a stream was opened again after the first one. */
  get reconnects(): number {
    return Math.max(0, this.#opened - 1);
  }

  close(): void {
    this.#stop.abort(new Error("the watcher is closed"));
  }

  #request(): MessageInitShape<typeof SubscribePaymentEventsRequestSchema> {
    const base = {
      paymentId: this.options.paymentId ?? "",
      merchantId: this.options.merchantId ?? "",
      eventTypes: [...(this.options.eventTypes ?? [])],
    };
    if (this.#cursor === undefined) return { ...base, start: StreamStart.NOW };
    return { ...base, start: StreamStart.AFTER_SEQ, afterSeq: this.#cursor };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<PaymentEvent> {
    let renewed = false;
    while (!this.#stop.signal.aborted) {
      const stream = new AbortController();
      const onStop = (): void => stream.abort();
      this.#stop.signal.addEventListener("abort", onStop, { once: true });
      let used: string | undefined;
      let opening = true;
      try {
        const opened = await this.transport.stream(EventService.method.subscribePaymentEvents, this.#request(), stream.signal);
        used = opened.used;
        for await (const message of opened.messages) {
          if (opening) {
            opening = false;
            renewed = false;
            this.#opened++;
            this.#failures = 0;
          }
          const event = this.#accept(message);
          if (event !== undefined) yield event;
        }
        throw new Unavailable("the server ended the stream");
      } catch (thrown) {
        if (this.#stop.signal.aborted || this.transport.closed) return; // closed: not a failure
        const error = toRpcError(thrown);
        this.lastError = error;
        if (error instanceof Unauthenticated && !renewed) {
          renewed = true; // once per opening: a second refusal is about the caller
          if (await this.transport.credentials.renew(used, error)) continue;
        }
        if (!mayResume(error, opening)) throw error;
        await this.#wait(error);
      } finally {
        this.#stop.signal.removeEventListener("abort", onStop);
        stream.abort();
      }
    }
  }

  async #wait(error: RpcError): Promise<void> {
    this.#failures++;
    const limit = this.#policy.maxAttempts;
    if (limit !== undefined && this.#failures > limit) throw error;
    const p = this.#policy;
    const base = Math.min(p.maxBackoffMs, p.initialBackoffMs * p.multiplier ** (this.#failures - 1));
    const delay = Math.max(base, error.retryDelayMs ?? 0) * (1 + p.jitter * Math.random());
    await sleep(delay, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  #accept(message: SubscribePaymentEventsResponse): PaymentEvent | undefined {
    if (message.kind.case === "event") {
      if (this.#cursor !== undefined && message.seq <= this.#cursor) return undefined; // never twice
      this.#cursor = message.seq;
      return message.kind.value;
    }
    // A heartbeat: every matching event up to its position has been handed out.
    if (this.#cursor === undefined || message.seq > this.#cursor) this.#cursor = message.seq;
    return undefined;
  }
}
