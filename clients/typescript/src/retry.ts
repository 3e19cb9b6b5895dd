/** Pure retry decisions: whether a failed attempt may be repeated, and after how long. */

import { retriesUnavailable, type Safety } from "./rpcs.js";
import { Aborted, type RpcError, Unavailable } from "./status-errors.js";

/**
 * When and how often the client retries a call by itself. Only failures that cannot have changed
 * anything twice are retried: UNAVAILABLE for calls safe to repeat (reads, idempotent updates,
 * and mutations deduplicated by their idempotency key), and ABORTED whose reason is in
 * `abortedReasons`. Attempt n waits `initialBackoffMs * multiplier^(n-1)` (capped at
 * `maxBackoffMs`), less up to `jitter` of itself at random, never less than the server's RetryInfo
 * delay, and never past the call's deadline.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly abortedReasons: ReadonlySet<string>;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 8,
  initialBackoffMs: 100,
  maxBackoffMs: 3000,
  multiplier: 2,
  jitter: 0.2,
  // The same request still being processed: retrying with its key returns its result.
  abortedReasons: new Set(["IDEMPOTENCY_KEY_IN_USE"]),
});

/** One attempt only: every error reaches the caller as it is. */
export const NO_RETRY: RetryPolicy = Object.freeze({ ...DEFAULT_RETRY, maxAttempts: 1 });

export function mayRetry(error: RpcError, safety: Safety, policy: RetryPolicy): boolean {
  if (error instanceof Unavailable) return retriesUnavailable(safety);
  if (error instanceof Aborted) return policy.abortedReasons.has(error.reason);
  return false;
}

/**
 * Milliseconds to wait before the next attempt, or undefined to give up. `remainingMs` is the time
 * left before the call's deadline (undefined: none).
 */
export function retryDelayMs(
  error: RpcError,
  safety: Safety,
  policy: RetryPolicy,
  attempt: number,
  remainingMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxAttempts || !mayRetry(error, safety, policy)) return undefined;
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (attempt - 1));
  const delay = Math.max(base * (1 - policy.jitter * random()), error.retryDelayMs ?? 0);
  if (remainingMs !== undefined && delay >= remainingMs) return undefined;
  return delay;
}
