/**
 * One unary call, done right: credentials, request id, idempotency key, deadline, cancellation
 * and retries. A logical call keeps one request id and one idempotency key across all its
 * attempts, so the server deduplicates the retries and its access log shows them under one id.
 * The deadline is the call's, not an attempt's: each attempt gets what is left of it.
 */

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Transport as ConnectTransport } from "@connectrpc/connect";

import { abandoned, REQUEST_ID_HEADER, toRpcError } from "./errors.js";
import { DEFAULT_RETRY, retryDelayMs, type RetryPolicy } from "./retry.js";
import { rpcFacts } from "./rpcs.js";
import { Unauthenticated } from "./status-errors.js";

export const IDEMPOTENCY_HEADER = "idempotency-key";
export const AUTHORIZATION_HEADER = "authorization";

/** Options every call takes. */
export interface CallOptions {
  /** Abandon the call (and its retries) when this signal aborts: it rejects with `Cancelled`. */
  readonly signal?: AbortSignal;
  /** Milliseconds for the whole call, retries included (default: the client's `timeoutMs`). */
  readonly timeoutMs?: number;
  /** The retry policy of this call (default: the client's). */
  readonly retry?: RetryPolicy;
  /** The idempotency key of a deduplicated mutation (default: a fresh one, reused by every retry). */
  readonly idempotencyKey?: string;
  /** Extra request headers of this call. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** How calls are authenticated: an API key, a login session, or nothing. */
export interface Credentials {
  /** The bearer credential for the next call, renewed first if it is about to expire. */
  authorization(): Promise<string | undefined>;
  /** After `error` for a call made with `used`: renew, and say whether to repeat the call. */
  renew(used: string | undefined, error: Unauthenticated): Promise<boolean>;
}

export const NO_CREDENTIALS: Credentials = {
  authorization: async () => undefined,
  renew: async () => false,
};

export function newIdempotencyKey(): string {
  return `sdk-${randomUUID().replaceAll("-", "")}`;
}

export interface TransportOptions {
  readonly timeoutMs: number | undefined;
  readonly retry: RetryPolicy;
  readonly headers: Readonly<Record<string, string>>;
}

export class Transport {
  credentials: Credentials = NO_CREDENTIALS;
  #closed = new AbortController();

  constructor(
    private readonly connect: ConnectTransport,
    readonly options: TransportOptions = { timeoutMs: 30_000, retry: DEFAULT_RETRY, headers: {} },
  ) {}

  /** Make one logical call: as many attempts as the retry policy and the deadline allow. */
  async call<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
    options: CallOptions = {},
  ): Promise<MessageShape<O>> {
    const facts = rpcFacts(method);
    const policy = options.retry ?? this.options.retry;
    const budget = options.timeoutMs ?? this.options.timeoutMs;
    const deadline = budget === undefined ? undefined : performance.now() + budget;
    const signal = this.#signal(options.signal, budget);
    const fixed = this.#headers(options.headers ?? {});
    if (facts.safety === "keyed") fixed.set(IDEMPOTENCY_HEADER, options.idempotencyKey ?? newIdempotencyKey());
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      const used = facts.anonymous ? undefined : await this.credentials.authorization();
      const sent = new Headers(fixed);
      if (used !== undefined) sent.set(AUTHORIZATION_HEADER, `Bearer ${used}`);
      let error;
      try {
        if (signal.aborted) throw signal.reason;
        const remaining = deadline === undefined ? undefined : Math.max(1, Math.ceil(deadline - performance.now()));
        const reply = await this.connect.unary(method, signal, remaining, sent, request);
        return reply.message;
      } catch (thrown) {
        if (signal.aborted) throw abandoned(signal);
        error = toRpcError(thrown);
      }
      if (error instanceof Unauthenticated && !renewed && !facts.anonymous) {
        // One renewal per call: a second UNAUTHENTICATED is about the caller, not the token.
        renewed = true;
        if (await this.credentials.renew(used, error)) {
          attempt--;
          continue;
        }
      }
      const left = deadline === undefined ? undefined : deadline - performance.now();
      const delay = retryDelayMs(error, facts.safety, policy, attempt, left);
      if (delay === undefined) throw error;
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        throw abandoned(signal);
      }
    }
  }

  /**
   * Open a server stream. No deadline and no retry: a stream lives until its signal aborts, and
   * what to do when it ends is its reader's (`watch()` resumes from its cursor). Each stream gets
   * a request id of its own. Returns the messages and the credential the stream was opened with.
   */
  async stream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodServerStreaming<I, O>,
    request: MessageInitShape<I>,
    signal: AbortSignal,
  ): Promise<{ messages: AsyncIterable<MessageShape<O>>; used: string | undefined }> {
    if (this.closed) throw new Error("the client is closed");
    const sent = this.#headers({});
    const used = rpcFacts(method).anonymous ? undefined : await this.credentials.authorization();
    if (used !== undefined) sent.set(AUTHORIZATION_HEADER, `Bearer ${used}`);
    const linked = AbortSignal.any([signal, this.#closed.signal]);
    const reply = await this.connect.stream(method, linked, undefined, sent, single(request));
    return { messages: reply.message, used };
  }

  get closed(): boolean {
    return this.#closed.signal.aborted;
  }

  /** Cancel every call in flight; later calls are refused. */
  close(): void {
    this.#closed.abort(new Error("the client is closed"));
  }

  #signal(caller: AbortSignal | undefined, budget: number | undefined): AbortSignal {
    if (this.closed) throw new Error("the client is closed");
    const signals = [this.#closed.signal];
    if (caller !== undefined) signals.push(caller);
    if (budget !== undefined) signals.push(AbortSignal.timeout(budget));
    return AbortSignal.any(signals);
  }

  #headers(extra: Readonly<Record<string, string>>): Headers {
    const headers = new Headers({ ...this.options.headers, ...extra });
    if (!headers.has(REQUEST_ID_HEADER)) headers.set(REQUEST_ID_HEADER, randomUUID().replaceAll("-", ""));
    return headers;
  }
}

async function* single<T>(value: T): AsyncIterable<T> {
  yield value;
}
