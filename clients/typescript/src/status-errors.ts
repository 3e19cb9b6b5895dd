/**
 * The base of every error the client throws, one class per gRPC status code, and the
 * hand-written refinements the generated reason classes (src/derived/reasons.ts) build on.
 * Import them from the package root.
 */

/** gRPC status codes, by name. */
export const StatusCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCodeName = keyof typeof StatusCode;

/** One bad field of a request (google.rpc.BadRequest.FieldViolation). */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
  readonly reason: string;
}

/** One failed precondition (google.rpc.PreconditionFailure.Violation). */
export interface PreconditionViolation {
  readonly type: string;
  readonly subject: string;
  readonly description: string;
}

/** One exceeded limit (google.rpc.QuotaFailure.Violation). */
export interface QuotaViolation {
  readonly subject: string;
  readonly description: string;
}

/** What the server said about a failed call, decoded from `grpc-status-details-bin`. */
export interface RpcErrorFields {
  readonly code?: number;
  readonly reason?: string;
  readonly domain?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly fieldViolations?: readonly FieldViolation[];
  readonly preconditionViolations?: readonly PreconditionViolation[];
  readonly quotaViolations?: readonly QuotaViolation[];
  readonly retryDelayMs?: number;
  readonly requestId?: string;
  readonly cause?: unknown;
}

/** Base of every error this package throws. */
export class PaysimError extends Error {
  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * A call the server (or the connection to it) did not carry out. `code` is the gRPC status code;
 * `reason` the server's stable UPPER_SNAKE reason (empty when the failure happened before reaching
 * paysim, e.g. a refused connection); `metadata` the reason's details; `retryDelayMs` the
 * server's RetryInfo; `requestId` the call's id in the server's access log.
 */
export class RpcError extends PaysimError {
  static readonly CODE: number = StatusCode.UNKNOWN;
  /** The server reason a subclass stands for; empty for the per-code classes. */
  static readonly REASON: string = "";

  readonly code: number;
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly fieldViolations: readonly FieldViolation[];
  readonly preconditionViolations: readonly PreconditionViolation[];
  readonly quotaViolations: readonly QuotaViolation[];
  readonly retryDelayMs: number | undefined;
  readonly requestId: string;

  constructor(message: string, fields: RpcErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code ?? (this.constructor as RpcErrorClass).CODE;
    this.reason = fields.reason ?? "";
    this.domain = fields.domain ?? "";
    this.metadata = fields.metadata ?? {};
    this.fieldViolations = fields.fieldViolations ?? [];
    this.preconditionViolations = fields.preconditionViolations ?? [];
    this.quotaViolations = fields.quotaViolations ?? [];
    this.retryDelayMs = fields.retryDelayMs;
    this.requestId = fields.requestId ?? "";
  }

  /** The status code's name (`NOT_FOUND`). */
  get codeName(): string {
    return Object.entries(StatusCode).find(([, value]) => value === this.code)?.[0] ?? String(this.code);
  }

  override toString(): string {
    const extra = [this.reason && `reason=${this.reason}`, this.requestId && `request_id=${this.requestId}`];
    const suffix = extra.filter(Boolean).join(", ");
    return `${this.name}: ${this.codeName}: ${this.message}${suffix ? ` (${suffix})` : ""}`;
  }

  /** A metadata value read as a number (amounts, sequence numbers), or undefined. */
  protected metadataNumber(key: string): number | undefined {
    const value = this.metadata[key];
    if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
    return Number(value);
  }
}

export type RpcErrorClass = (new (message: string, fields?: RpcErrorFields) => RpcError) & {
  readonly CODE: number;
  readonly REASON: string;
};

/** The call was cancelled (by this process: its AbortSignal, or the client closing). */
export class Cancelled extends RpcError {
  static override readonly CODE: number = StatusCode.CANCELLED;
}
/** An error with no better code (paysim itself never answers with it). */
export class Unknown extends RpcError {
  static override readonly CODE: number = StatusCode.UNKNOWN;
}
/** The request is malformed: `fieldViolations` names each bad field and why. */
export class InvalidArgument extends RpcError {
  static override readonly CODE: number = StatusCode.INVALID_ARGUMENT;
}
/** The call's deadline passed before an answer arrived; the server may still have acted. */
export class DeadlineExceeded extends RpcError {
  static override readonly CODE: number = StatusCode.DEADLINE_EXCEEDED;
}
/** No such object, or another tenant's (paysim never reveals that it exists). */
export class NotFound extends RpcError {
  static override readonly CODE: number = StatusCode.NOT_FOUND;
}
/** A duplicate email, merchant name or API key name. */
export class AlreadyExists extends RpcError {
  static override readonly CODE: number = StatusCode.ALREADY_EXISTS;
}
/** Authenticated, but not allowed to make this call. */
export class PermissionDenied extends RpcError {
  static override readonly CODE: number = StatusCode.PERMISSION_DENIED;
}
/** A limit was hit (rate limit, login lockout); `retryDelayMs` says when to try again. */
export class ResourceExhausted extends RpcError {
  static override readonly CODE: number = StatusCode.RESOURCE_EXHAUSTED;
}
/** Not allowed in the object's current state; retrying the same request will not help. */
export class FailedPrecondition extends RpcError {
  static override readonly CODE: number = StatusCode.FAILED_PRECONDITION;
}
/** Lost a concurrency race on the server; `retryDelayMs` says when to retry. */
export class Aborted extends RpcError {
  static override readonly CODE: number = StatusCode.ABORTED;
}
/** Out of range (paysim reports ranges as InvalidArgument instead). */
export class OutOfRange extends RpcError {
  static override readonly CODE: number = StatusCode.OUT_OF_RANGE;
}
/** The server does not implement this call. */
export class Unimplemented extends RpcError {
  static override readonly CODE: number = StatusCode.UNIMPLEMENTED;
}
/** A bug in the server: quote `requestId` when reporting it. */
export class Internal extends RpcError {
  static override readonly CODE: number = StatusCode.INTERNAL;
}
/** The server, its database or a payment gateway cannot be reached right now. */
export class Unavailable extends RpcError {
  static override readonly CODE: number = StatusCode.UNAVAILABLE;
}
/** Unrecoverable data loss (paysim never answers with it). */
export class DataLoss extends RpcError {
  static override readonly CODE: number = StatusCode.DATA_LOSS;
}
/** Missing, expired, revoked or forged credentials. */
export class Unauthenticated extends RpcError {
  static override readonly CODE: number = StatusCode.UNAUTHENTICATED;
}

/** The class of each code, for an answer whose reason has no class of its own. */
export const BY_CODE: ReadonlyMap<number, RpcErrorClass> = new Map(
  [
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
  ].map((cls) => [cls.CODE, cls] as const),
);

/** The payment's status does not allow the operation; `metadata` has `payment_id` and `status`. */
export class PaymentStateError extends FailedPrecondition {}
