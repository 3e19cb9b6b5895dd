// The disputes list: ListDisputes, newest first, filtered by status, 25 at a time, read again when
// a dispute event streams in; each opens its own page (evidence, acceptance), each names its
// payment's timeline.
import {
  DisputeKind,
  DisputeReason,
  DisputeStatus,
  type Dispute,
} from "@gen/paysim/v1/dispute_pb.js";
import { call, describe, disputes } from "../api.js";
import { errorLine, h } from "../dom.js";
import { enumName, money, time } from "../format.js";
import { follow } from "../live.js";
import { scope } from "../scope.js";

export const DISPUTE_STATUSES = Object.values(DisputeStatus).filter(
  (value): value is DisputeStatus => typeof value === "number" && value !== DisputeStatus.UNSPECIFIED,
);

/** The statuses a merchant still has to answer. */
export const OPEN_STATUSES = [DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE];

export function statusBadge(status: DisputeStatus): HTMLElement {
  const name = enumName(DisputeStatus, status);
  return h("span", { class: `status ${name}` }, name);
}

export function disputeRow(d: Dispute): HTMLTableRowElement {
  return h(
    "tr",
    { "data-dispute-id": d.id, "data-status": enumName(DisputeStatus, d.status) },
    h("td", {}, h("a", { href: `#/disputes/${encodeURIComponent(d.id)}` }, d.id)),
    h("td", {}, h("a", { href: `#/payments/${encodeURIComponent(d.paymentId)}` }, d.paymentId)),
    h("td", {}, enumName(DisputeKind, d.kind)),
    h("td", {}, enumName(DisputeReason, d.reason)),
    h("td", { "data-testid": "status" }, statusBadge(d.status)),
    h("td", { class: "amount" }, money(d.amountMinor, d.currencyCode)),
    h("td", {}, OPEN_STATUSES.includes(d.status) ? time(d.evidenceDueBy) : ""),
    h("td", {}, time(d.createTime)),
  );
}

const HEADINGS = ["Dispute", "Payment", "Kind", "Reason", "Status", "Amount", "Evidence due (UTC)", "Opened (UTC)"];

export function renderDisputes(root: HTMLElement): () => void {
  const problem = errorLine();
  const status = h(
    "select",
    { id: "dispute-status", "aria-label": "Status" },
    h("option", { value: "" }, "any status"),
    h("option", { value: "open" }, "needs a response"),
    ...DISPUTE_STATUSES.map((value) => h("option", { value: String(value) }, enumName(DisputeStatus, value))),
  );
  const form = h("form", { class: "filters" }, status, h("button", { type: "submit", id: "apply" }, "Filter"));
  const body = h("tbody", { id: "disputes-body" });
  const head = h("thead", {}, h("tr", {}, ...HEADINGS.map((t) => h("th", {}, t))));
  const empty = h("p", { class: "empty", id: "no-disputes", hidden: true }, "No disputes.");
  const more = h("button", { type: "button", id: "more", hidden: true }, "More");
  root.append(h("h1", {}, "Disputes"), form, problem.element, h("table", { id: "disputes" }, head, body), empty, more);
  let pageToken = "";

  const statuses = (): DisputeStatus[] => {
    if (status.value === "open") return OPEN_STATUSES;
    return status.value ? [Number(status.value) as DisputeStatus] : [];
  };

  async function load(reset: boolean): Promise<void> {
    problem.hide();
    const request = { merchantId: scope(), pageSize: 25, pageToken: reset ? "" : pageToken, statuses: statuses() };
    try {
      const reply = await call(() => disputes.listDisputes(request));
      if (reset) body.replaceChildren();
      body.append(...reply.disputes.map(disputeRow));
      pageToken = reply.nextPageToken;
      more.hidden = !pageToken;
      empty.hidden = body.children.length > 0;
    } catch (error) {
      problem.show(describe(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void load(true);
  });
  more.addEventListener("click", () => void load(false));
  void load(true);
  return follow({
    merchantId: scope(),
    onEvent: (event) => {
      if (event.type.startsWith("dispute.")) void load(true);
    },
    onState: () => undefined,
  });
}
