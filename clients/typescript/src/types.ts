/** The contract's messages and enums, for building requests and reading replies. */

export * from "./gen/paysim/v1/auth_pb.js";
export * from "./gen/paysim/v1/common_pb.js";
export * from "./gen/paysim/v1/customer_pb.js";
export * from "./gen/paysim/v1/dispute_pb.js";
export * from "./gen/paysim/v1/events_pb.js";
export * from "./gen/paysim/v1/merchant_pb.js";
export * from "./gen/paysim/v1/payment_pb.js";
export * from "./gen/paysim/v1/simulator_pb.js";
export * from "./gen/paysim/v1/threeds_pb.js";
export * from "./gen/paysim/v1/webhook_pb.js";
export { ErrorReason } from "./gen/paysim/v1/error_reason_pb.js";
