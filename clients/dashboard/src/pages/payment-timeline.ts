// Parts of a payment's timeline read from what the payment and its events already say: its 3-D
// Secure steps (a challenge issued, completed or expired; a frictionless result) and its dispute.
import { DisputeKind, DisputeReason, DisputeStatus, type Dispute } from "@gen/paysim/v1/dispute_pb.js";
import type { PaymentEvent, ThreeDSAuthentication } from "@gen/paysim/v1/payment_pb.js";
import { h, table } from "../dom.js";
import { enumName, money, time } from "../format.js";
import { OPEN_STATUSES, statusBadge } from "./disputes.js";

function result(auth: ThreeDSAuthentication | undefined): string {
  if (!auth) return "";
  const reason = auth.transStatusReason ? ` (${auth.transStatusReason})` : "";
  const eci = auth.eci ? `, ECI ${auth.eci}` : "";
  return `trans status ${auth.transStatus}${reason}${eci}`;
}

/** One 3-D Secure step of the timeline, or nothing for an event of another kind. */
function threeDsStep(event: PaymentEvent): [string, string, string] | undefined {
  const data = event.data;
  switch (data.case) {
    case "paymentThreeDsChallengeRequired": {
      const challenge = data.value.challenge;
      return ["challenge_issued", "challenge issued", challenge ? `${challenge.id}, expires ${time(challenge.expireTime)}` : ""];
    }
    case "paymentThreeDsAuthenticated": {
      const auth = data.value.authentication;
      const step = auth?.challenged ? ["challenge_completed", "challenge completed: authenticated"] : ["frictionless", "authenticated without a challenge"];
      return [step[0], step[1], result(auth)];
    }
    case "paymentThreeDsFailed": {
      const auth = data.value.authentication;
      const step = auth?.challenged ? ["challenge_completed", "challenge completed: not authenticated"] : ["failed", "not authenticated"];
      const why = [result(auth), data.value.reason, data.value.decline?.code].filter(Boolean).join(" · ");
      return [step[0], step[1], why];
    }
    case "paymentThreeDsNotSupported":
      return ["not_supported", "not supported by the card", result(data.value.authentication)];
    case "paymentThreeDsChallengeExpired":
      return ["challenge_expired", "challenge expired", [result(data.value.authentication), data.value.reason].filter(Boolean).join(" · ")];
    default:
      return undefined;
  }
}

/** The 3-D Secure steps, in the order of the events; nothing when the payment had none. */
export function threeDsSection(events: PaymentEvent[]): HTMLElement[] {
  const rows = events.flatMap((event) => {
    const step = threeDsStep(event);
    if (!step) return [];
    const [key, label, detail] = step;
    return [h("tr", { "data-step": key }, h("td", {}, time(event.createTime)), h("td", {}, label), h("td", { class: "detail" }, detail))];
  });
  if (!rows.length) return [];
  return [h("h2", {}, "3-D Secure"), table({ id: "three-ds" }, ["Time (UTC)", "Step", "Result"], rows, "")];
}

/** What the dispute waits for, or why it closed. */
function next(d: Dispute): string {
  if (OPEN_STATUSES.includes(d.status)) return `evidence due by ${time(d.evidenceDueBy)}`;
  if (d.closeReason) return `closed: ${d.closeReason}`;
  return d.reviewDueBy ? `review decides it at ${time(d.reviewDueBy)}` : "";
}

/** The payment's dispute (a payment has at most one), linked to its own page. */
export function disputeSection(dispute: Dispute | undefined): HTMLElement[] {
  if (!dispute) return [];
  const d = dispute;
  const row = h(
    "tr",
    { "data-dispute-id": d.id, "data-status": enumName(DisputeStatus, d.status) },
    h("td", {}, h("a", { href: `#/disputes/${encodeURIComponent(d.id)}` }, d.id)),
    h("td", {}, enumName(DisputeKind, d.kind)),
    h("td", {}, enumName(DisputeReason, d.reason)),
    h("td", { "data-testid": "status" }, statusBadge(d.status)),
    h("td", { class: "amount" }, money(d.amountMinor, d.currencyCode)),
    h("td", { class: "amount" }, money(d.withdrawnAmountMinor - d.reinstatedAmountMinor, d.currencyCode)),
    h("td", { class: "amount" }, money(d.feeAmountMinor, d.currencyCode)),
    h("td", {}, next(d)),
  );
  const headings = ["Dispute", "Kind", "Reason", "Status", "Amount", "Withdrawn", "Fee", "Next"];
  return [h("h2", {}, "Dispute"), table({ id: "payment-dispute" }, headings, [row], "")];
}
