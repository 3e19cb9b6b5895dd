/**
 * Verify the signature of a webhook delivery, in the receiver: the same scheme as the Python
 * client's `paysim_client.webhooks` (and Stripe's).
 *
 *     Paysim-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
 *
 * `t` is when it was signed (Unix seconds) and each `v1` the lowercase hex HMAC-SHA256, keyed with
 * the secret's UTF-8 bytes, of `"<t>." + body` (the raw request body, as bytes). While a secret is
 * being rotated a delivery carries one `v1` per active secret: any one match is enough. Verify the
 * body exactly as received, before parsing it. Delivery is at least once: drop a repeat by its
 * `Paysim-Event-Id` header.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

import { PaysimError } from "./status-errors.js";

export const SCHEME = "v1";
export const SIGNATURE_HEADER = "paysim-signature";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type SignatureFailure = "MALFORMED_HEADER" | "NO_SIGNATURE" | "TIMESTAMP_OUT_OF_TOLERANCE" | "SIGNATURE_MISMATCH";

/** The signature header does not prove that paysim sent this body recently. */
export class SignatureVerificationError extends PaysimError {
  constructor(
    message: string,
    readonly reason: SignatureFailure,
  ) {
    super(message);
  }
}

export interface VerifyOptions {
  /** Seconds a signature stays acceptable either side of `now`; null skips the check. */
  readonly toleranceSeconds?: number | null;
  /** Unix seconds to check against (default: the current time). */
  readonly now?: number;
}

function bytes(payload: string | Uint8Array): Buffer {
  return typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
}

/** The lowercase hex `v1` signature of `payload` signed at `timestamp`. */
export function computeSignature(payload: string | Uint8Array, secret: string, timestamp: number): string {
  return createHmac("sha256", Buffer.from(secret, "utf8"))
    .update(`${timestamp}.`, "ascii")
    .update(bytes(payload))
    .digest("hex");
}

/** A complete signature header for `payload`: one `v1` per secret (for tests and tools). */
export function sign(payload: string | Uint8Array, secrets: string | readonly string[], timestamp?: number): string {
  const at = timestamp ?? Math.floor(Date.now() / 1000);
  const keys = typeof secrets === "string" ? [secrets] : secrets;
  return [`t=${at}`, ...keys.map((key) => `${SCHEME}=${computeSignature(payload, key, at)}`)].join(",");
}

function parse(header: string): { timestamp: number; signatures: string[] } {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const item of header.split(",")) {
    const at = item.indexOf("=");
    if (at < 0) throw new SignatureVerificationError("the signature header is malformed", "MALFORMED_HEADER");
    const name = item.slice(0, at).trim();
    const value = item.slice(at + 1).trim();
    if (name === "t") {
      if (!/^\d+$/.test(value) || timestamp !== undefined) {
        throw new SignatureVerificationError("the signature header's timestamp is malformed", "MALFORMED_HEADER");
      }
      timestamp = Number(value);
    } else if (name === SCHEME) {
      signatures.push(value);
    } // other schemes are ignored, so a future one can be added beside v1
  }
  if (timestamp === undefined) {
    throw new SignatureVerificationError("the signature header has no timestamp", "MALFORMED_HEADER");
  }
  return { timestamp, signatures };
}

/**
 * Check that `header` signs `payload` with `secret`; return the signing timestamp (Unix seconds).
 * Throws SignatureVerificationError when the header is malformed, has no v1 signature, was
 * signed more than `toleranceSeconds` away from now, or no v1 signature matches.
 */
export function verify(
  payload: string | Uint8Array,
  header: string,
  secret: string,
  options: VerifyOptions = {},
): number {
  const { timestamp, signatures } = parse(header);
  if (signatures.length === 0) {
    throw new SignatureVerificationError("the signature header has no v1 signature", "NO_SIGNATURE");
  }
  const tolerance = options.toleranceSeconds === undefined ? DEFAULT_TOLERANCE_SECONDS : options.toleranceSeconds;
  const now = options.now ?? Date.now() / 1000;
  if (tolerance !== null && Math.abs(now - timestamp) > tolerance) {
    throw new SignatureVerificationError("the signature's timestamp is outside the tolerance", "TIMESTAMP_OUT_OF_TOLERANCE");
  }
  const expected = Buffer.from(computeSignature(payload, secret, timestamp), "ascii");
  // Every candidate is compared, matched or not, so timing says nothing about which one matched.
  let matched = false;
  for (const candidate of signatures) {
    const given = Buffer.from(candidate, "utf8");
    matched = (given.length === expected.length && timingSafeEqual(given, expected)) || matched;
  }
  if (!matched) throw new SignatureVerificationError("no signature matches the payload and secret", "SIGNATURE_MISMATCH");
  return timestamp;
}
