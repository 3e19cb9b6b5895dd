// Follow SubscribePaymentEvents for as long as a page is open: the stream's cursor (the `seq` of
// every message, heartbeats included) is kept, and a stream that ends (server restart, a slow
// reader cut off, the network) is resumed after it with STREAM_START_AFTER_SEQ, so no event is
// missed and none is shown twice.
import { ConnectError, Code } from "@connectrpc/connect";
import { StreamStart } from "@gen/paysim/v1/events_pb.js";
import type { PaymentEvent } from "@gen/paysim/v1/payment_pb.js";
import { describe, events, reasonOf, refreshSession } from "./api.js";
import { h } from "./dom.js";

export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

export interface Follow {
  paymentId?: string;
  merchantId?: string;
  onEvent: (event: PaymentEvent) => void;
  onState: (state: LiveState, detail?: string) => void;
}

const RETRY_MS = [500, 1000, 2000, 5000, 10000];

/** The badge that says whether a page's stream is open (`#live`, class `live <state>`). */
export function liveBadgeElement(): HTMLElement {
  return h("span", { id: "live", class: "live connecting" }, "connecting");
}

export function showLive(badge: HTMLElement, state: LiveState, detail?: string): void {
  badge.className = `live ${state}`;
  badge.textContent = state;
  badge.title = detail ?? "";
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Start following; the returned function stops. */
export function follow(options: Follow): () => void {
  const stop = new AbortController();
  void run(options, stop.signal);
  return () => stop.abort();
}

async function run(options: Follow, signal: AbortSignal): Promise<void> {
  let cursor: bigint | undefined;
  let failures = 0;
  options.onState("connecting");
  while (!signal.aborted) {
    try {
      const stream = events.subscribePaymentEvents(
        {
          start: cursor === undefined ? StreamStart.NOW : StreamStart.AFTER_SEQ,
          afterSeq: cursor ?? 0n,
          paymentId: options.paymentId ?? "",
          merchantId: options.merchantId ?? "",
        },
        { signal },
      );
      for await (const message of stream) {
        cursor = message.seq;
        failures = 0;
        options.onState("live");
        if (message.kind.case === "event") options.onEvent(message.kind.value);
      }
    } catch (error) {
      if (signal.aborted) break;
      if (reasonOf(error) === "TOKEN_EXPIRED") {
        // The stream resumes from its cursor with a fresh token: nothing is missed meanwhile.
        try {
          await refreshSession();
          continue;
        } catch (refreshError) {
          options.onState("stopped", describe(refreshError));
          return;
        }
      }
      if (error instanceof ConnectError && (error.code === Code.Unauthenticated || error.code === Code.PermissionDenied)) {
        options.onState("stopped", describe(error));
        return;
      }
      options.onState("reconnecting", describe(error));
    }
    await sleep(RETRY_MS[Math.min(failures, RETRY_MS.length - 1)], signal);
    failures += 1;
  }
  options.onState("stopped");
}
