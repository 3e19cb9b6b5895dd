/**
 * Turning what the transport threw into the client's typed errors: the `google.rpc.Status`
 * paysim sends in `grpc-status-details-bin` (ErrorInfo, BadRequest, PreconditionFailure,
 * QuotaFailure, RetryInfo, RequestInfo) decoded into the class of its reason, or of its status
 * code when the reason has no class (or the failure never reached paysim).
 */

import { ConnectError } from "@connectrpc/connect";

import { BY_REASON } from "./derived/reasons.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  QuotaFailureSchema,
  RequestInfoSchema,
  RetryInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";
import {
  BY_CODE,
  Cancelled,
  DeadlineExceeded,
  RpcError,
  type RpcErrorFields,
  StatusCode,
  Unavailable,
  Unknown,
} from "./status-errors.js";

export * from "./status-errors.js";
export * from "./derived/reasons.js";

/** The header and trailer that carry the call's request id. */
export const REQUEST_ID_HEADER = "x-request-id";
/** The ErrorInfo domain of paysim's own reasons. */
export const PAYSIM_DOMAIN = "paysim.v1";

function durationMs(seconds: bigint, nanos: number): number {
  return Number(seconds) * 1000 + nanos / 1e6;
}

function decode(error: ConnectError): RpcErrorFields {
  const info = error.findDetails(ErrorInfoSchema)[0];
  const retry = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  const requestInfo = error.findDetails(RequestInfoSchema)[0];
  return {
    code: error.code,
    reason: info?.reason ?? "",
    domain: info?.domain ?? "",
    metadata: { ...(info?.metadata ?? {}) },
    fieldViolations: error.findDetails(BadRequestSchema).flatMap((bad) =>
      bad.fieldViolations.map((v) => ({ field: v.field, description: v.description, reason: v.reason })),
    ),
    preconditionViolations: error.findDetails(PreconditionFailureSchema).flatMap((failure) =>
      failure.violations.map((v) => ({ type: v.type, subject: v.subject, description: v.description })),
    ),
    quotaViolations: error.findDetails(QuotaFailureSchema).flatMap((failure) =>
      failure.violations.map((v) => ({ subject: v.subject, description: v.description })),
    ),
    retryDelayMs: retry === undefined ? undefined : durationMs(retry.seconds, retry.nanos),
    requestId: error.metadata.get(REQUEST_ID_HEADER) ?? requestInfo?.requestId ?? "",
    cause: error,
  };
}

/**
 * Node's codes for a connection that broke or never formed. Connect reports some of them as
 * ABORTED; gRPC calls them UNAVAILABLE (the call may or may not have reached the server), which is
 * what the retry rules and watch() act on.
 */
const CONNECTION_FAILURES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_INVALID_SESSION",
  "ERR_HTTP2_SESSION_ERROR",
]);

function connectionFailed(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_FAILURES.has(code)) return true;
  }
  return false;
}

/** The typed error for anything a call threw (a ConnectError, an abort, a socket error). */
export function toRpcError(thrown: unknown): RpcError {
  if (thrown instanceof RpcError) return thrown;
  const error = ConnectError.from(thrown);
  const fields = decode(error);
  if (!fields.reason && connectionFailed(error.cause)) {
    return new Unavailable(error.rawMessage, { ...fields, code: StatusCode.UNAVAILABLE });
  }
  const byReason = fields.domain === PAYSIM_DOMAIN ? BY_REASON[fields.reason ?? ""] : undefined;
  const cls = byReason ?? BY_CODE.get(error.code) ?? Unknown;
  return new cls(error.rawMessage, fields);
}

/** The error for a call abandoned by this process: its deadline passed, or its signal aborted. */
export function abandoned(signal: AbortSignal): RpcError {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new DeadlineExceeded("the call's deadline passed", { cause: reason });
  }
  return new Cancelled("the call was cancelled", { cause: reason });
}
