// One dispute: where it stands and its money, the evidence submitted, and while it waits for an
// answer the evidence form (Stripe's text fields) and *Accept*; kept current by a stream of its
// payment's events (a review decided, a deadline passed).
import {
  DisputeKind,
  DisputeReason,
  DisputeStatus,
  type Dispute,
  type DisputeEvidence,
} from "@gen/paysim/v1/dispute_pb.js";
import { call, describe, disputes } from "../api.js";
import { errorLine, h } from "../dom.js";
import { enumName, money, time } from "../format.js";
import { follow, liveBadgeElement, showLive, type LiveState } from "../live.js";
import { OPEN_STATUSES, statusBadge } from "./disputes.js";

type EvidenceField = Exclude<keyof DisputeEvidence, "$typeName" | "$unknown">;

/** Stripe's evidence text fields, in the order a person fills them; true: several lines. */
const FIELDS: [EvidenceField, string, boolean][] = [
  ["productDescription", "Product description", true],
  ["customerName", "Customer name", false],
  ["customerEmailAddress", "Customer email address", false],
  ["customerPurchaseIp", "Customer purchase IP", false],
  ["billingAddress", "Billing address", true],
  ["customerCommunication", "Customer communication", true],
  ["accessActivityLog", "Access activity log", true],
  ["serviceDate", "Service date", false],
  ["shippingAddress", "Shipping address", true],
  ["shippingCarrier", "Shipping carrier", false],
  ["shippingDate", "Shipping date", false],
  ["shippingTrackingNumber", "Shipping tracking number", false],
  ["refundPolicyDisclosure", "Refund policy disclosure", true],
  ["refundRefusalExplanation", "Refund refusal explanation", true],
  ["cancellationPolicyDisclosure", "Cancellation policy disclosure", true],
  ["cancellationRebuttal", "Cancellation rebuttal", true],
  ["duplicateChargeExplanation", "Duplicate charge explanation", true],
  ["uncategorizedText", "Anything else", true],
];

function facts(d: Dispute): HTMLElement {
  const amount = (minor: bigint): string => money(minor, d.currencyCode);
  const rows: [string, Node | string][] = [
    ["Status", statusBadge(d.status)],
    ["Kind", enumName(DisputeKind, d.kind)],
    ["Reason", enumName(DisputeReason, d.reason)],
    ["Payment", h("a", { href: `#/payments/${encodeURIComponent(d.paymentId)}` }, d.paymentId)],
    ["Amount", amount(d.amountMinor)],
    ["Withdrawn", amount(d.withdrawnAmountMinor)],
    ["Dispute fee", amount(d.feeAmountMinor)],
    ["Reinstated", amount(d.reinstatedAmountMinor)],
    ["Evidence due by", time(d.evidenceDueBy)],
    ["Evidence submitted", time(d.evidenceSubmitTime) || "—"],
    ["Review due by", time(d.reviewDueBy) || "—"],
    ["Closed because", d.closeReason || "—"],
    ["Payment refundable", d.paymentRefundable ? "yes" : "no"],
    ["Test clock", d.testClockId || "—"],
    ["Opened", time(d.createTime)],
    ["Updated", time(d.updateTime)],
  ];
  const status = enumName(DisputeStatus, d.status);
  return h("dl", { class: "facts", id: "dispute-facts", "data-status": status }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-fact": k.toLowerCase() }, v)]));
}

function submitted(evidence: DisputeEvidence | undefined): HTMLElement[] {
  const given = FIELDS.filter(([key]) => evidence?.[key]);
  if (!evidence || !given.length) return [];
  return [
    h("h2", {}, "Evidence submitted"),
    h("dl", { class: "facts", id: "evidence" }, ...given.flatMap(([key, label]) => [h("dt", {}, label), h("dd", { "data-evidence": key, class: "text" }, evidence[key])])),
  ];
}

/** The answer: evidence (at least one field), or acceptance after a second press. */
function answerForm(d: Dispute, show: (text: string) => void, reload: () => Promise<void>): HTMLElement {
  const inputs = new Map<EvidenceField, HTMLInputElement | HTMLTextAreaElement>();
  const fields = FIELDS.map(([key, label, long]) => {
    const input = long ? h("textarea", { "data-evidence": key, rows: 2, cols: 60 }) : h("input", { "data-evidence": key, size: 40 });
    inputs.set(key, input);
    return h("label", {}, label, input);
  });
  const act = (run: () => Promise<unknown>): void => {
    run()
      .then(reload)
      .catch((error: unknown) => show(describe(error)));
  };
  const form = h("form", { class: "evidence", id: "evidence-form" }, ...fields, h("button", { type: "submit", "data-action": "submit-evidence" }, "Submit evidence"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const evidence: Partial<Record<EvidenceField, string>> = {};
    for (const [key, input] of inputs) if (input.value.trim()) evidence[key] = input.value;
    if (!Object.keys(evidence).length) {
      show("Fill in at least one field of evidence.");
      return;
    }
    act(() => call(() => disputes.submitDisputeEvidence({ disputeId: d.id, evidence })));
  });
  const ask = h("button", { type: "button", "data-action": "accept" }, "Accept dispute…");
  const yes = h("button", { type: "button", "data-action": "confirm-accept" }, "Accept");
  const no = h("button", { type: "button", "data-action": "cancel-accept" }, "Cancel");
  const consequence = d.kind === DisputeKind.CHARGEBACK || d.status === DisputeStatus.NEEDS_RESPONSE ? "lost: its money stays withdrawn" : "closed";
  const confirm = h("div", { class: "confirm", hidden: true }, h("p", {}, `Accept it? The dispute is ${consequence}, and cannot be answered again.`), yes, no);
  ask.addEventListener("click", () => {
    confirm.hidden = false;
    ask.hidden = true;
  });
  no.addEventListener("click", () => {
    confirm.hidden = true;
    ask.hidden = false;
  });
  yes.addEventListener("click", () => act(() => call(() => disputes.acceptDispute({ disputeId: d.id }))));
  return h("div", { id: "dispute-answer" }, h("h2", {}, "Answer"), form, h("h2", {}, "Or give up"), ask, confirm);
}

export function renderDispute(root: HTMLElement, disputeId: string): () => void {
  const problem = errorLine();
  const content = h("div", { id: "dispute" });
  const liveBadge = liveBadgeElement();
  root.append(h("p", {}, h("a", { href: "#/disputes" }, "← Disputes"), " ", liveBadge), h("h1", {}, disputeId), problem.element, content);
  let stopFollowing: (() => void) | undefined;
  let left = false;
  let opened = false;
  let shown = "";
  let generation = 0; // loads that cross: only the latest is shown (an earlier one may be older)

  /** ``onlyIfChanged``: leave the page as it is (a form being filled in) unless the dispute changed. */
  async function load(onlyIfChanged = false): Promise<void> {
    const mine = ++generation;
    try {
      const d = (await call(() => disputes.getDispute({ disputeId }))).dispute;
      if (!d || left || mine !== generation) return;
      const version = `${d.status} ${d.updateTime?.seconds ?? 0n} ${d.updateTime?.nanos ?? 0}`;
      if (onlyIfChanged && version === shown) return;
      shown = version;
      problem.hide();
      const open = OPEN_STATUSES.includes(d.status);
      content.replaceChildren(facts(d), ...submitted(d.evidence), open ? answerForm(d, problem.show, () => load()) : "");
      // Its payment's events say when the dispute changes (a review decided, a deadline passed).
      stopFollowing ??= follow({
        paymentId: d.paymentId,
        onEvent: (event) => {
          if (event.type.startsWith("dispute.")) void load();
        },
        onState: (state: LiveState, detail?: string) => {
          showLive(liveBadge, state, detail);
          // A change committed between the first load and the stream's opening is read again.
          if (state === "live" && !opened) {
            opened = true;
            void load(true);
          }
        },
      });
    } catch (error) {
      if (mine === generation) problem.show(describe(error));
    }
  }

  void load();
  return () => {
    left = true;
    stopFollowing?.();
  };
}
