/**
 * What the transport must know about an RPC, read from the contract's own descriptors (the
 * options of proto/paysim/v1/options.proto, embedded in the generated code): no hand-kept table.
 *
 * `Safety` decides whether an UNAVAILABLE may be retried and whether an idempotency key is sent:
 * a call the server may have carried out before the connection broke is repeated only if
 * repeating it cannot do anything twice. `idempotency_level = NO_SIDE_EFFECTS` is READ,
 * `IDEMPOTENT` is IDEMPOTENT, `(paysim.v1.deduplicated_by_idempotency_key)` is KEYED, and
 * anything else UNSAFE.
 */

import { type DescMethod, getOption, hasOption } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";

import { access, deduplicated_by_idempotency_key } from "./gen/paysim/v1/options_pb.js";

export type Safety = "read" | "idempotent" | "keyed" | "unsafe";

export interface RpcFacts {
  readonly safety: Safety;
  /** A public RPC: sent without credentials (the server checks a bearer sent to it). */
  readonly anonymous: boolean;
}

const facts = new WeakMap<DescMethod, RpcFacts>();

function safetyOf(method: DescMethod): Safety {
  if (getOption(method, deduplicated_by_idempotency_key)) return "keyed";
  switch (method.idempotency) {
    case MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS:
      return "read";
    case MethodOptions_IdempotencyLevel.IDEMPOTENT:
      return "idempotent";
    default:
      return "unsafe";
  }
}

/** The retry safety and access of `method`, from its options in the contract. */
export function rpcFacts(method: DescMethod): RpcFacts {
  let found = facts.get(method);
  if (found === undefined) {
    const isPublic = hasOption(method, access) && getOption(method, access).caller.case === "public";
    found = { safety: safetyOf(method), anonymous: isPublic };
    facts.set(method, found);
  }
  return found;
}

/** Whether an UNAVAILABLE (the call may have reached the server) may be repeated. */
export function retriesUnavailable(safety: Safety): boolean {
  return safety !== "unsafe";
}
