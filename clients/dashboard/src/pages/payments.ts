// The payments list: filters (ListPayments' own), pages of 25, and live updates: every event of a
// payment brings its current state (GetPayment) into the list, new payments on top.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  PaymentStatus,
  type ListPaymentsRequest,
  type ListPaymentsRequestSchema,
  type Payment,
} from "@gen/paysim/v1/payment_pb.js";
import { call, describe, payments } from "../api.js";
import { errorLine, h } from "../dom.js";
import { enumName, money, time } from "../format.js";
import { follow, liveBadgeElement, showLive, type LiveState } from "../live.js";
import { scope } from "../scope.js";

type Filters = Pick<ListPaymentsRequest, "statuses" | "customerId" | "cardLast4">;

const STATUSES = Object.values(PaymentStatus).filter(
  (value): value is PaymentStatus => typeof value === "number" && value !== PaymentStatus.UNSPECIFIED,
);

export function paymentRow(payment: Payment): HTMLTableRowElement {
  return h(
    "tr",
    { "data-payment-id": payment.id, "data-status": enumName(PaymentStatus, payment.status), "data-version": String(payment.version) },
    h("td", {}, h("a", { href: `#/payments/${encodeURIComponent(payment.id)}` }, payment.id)),
    h("td", {}, time(payment.createTime)),
    h("td", { class: "amount" }, money(payment.amountMinor, payment.currencyCode)),
    h("td", { "data-testid": "status" }, h("span", { class: `status ${enumName(PaymentStatus, payment.status)}` }, enumName(PaymentStatus, payment.status))),
    h("td", { "data-testid": "gateway" }, payment.gateway),
    h("td", {}, payment.card ? `${payment.card.brand} •••• ${payment.card.last4}` : payment.methodAccount),
    h("td", {}, payment.merchantId),
  );
}

function matches(payment: Payment, filters: Filters): boolean {
  if (filters.statuses.length && !filters.statuses.includes(payment.status)) return false;
  if (filters.customerId && payment.customerId !== filters.customerId) return false;
  if (filters.cardLast4 && payment.card?.last4 !== filters.cardLast4) return false;
  return true;
}

interface FilterForm {
  form: HTMLFormElement;
  read: () => Filters;
  liveBadge: HTMLElement;
}

function filterForm(): FilterForm {
  const status = h(
    "select",
    { id: "filter-status", "aria-label": "Status" },
    h("option", { value: "" }, "any status"),
    ...STATUSES.map((value) => h("option", { value: String(value) }, enumName(PaymentStatus, value))),
  );
  const customer = h("input", { id: "filter-customer", placeholder: "cus_…", "aria-label": "Customer id" });
  const last4 = h("input", { id: "filter-last4", placeholder: "last 4", maxlength: 4, size: 5, "aria-label": "Card last 4" });
  const liveBadge = liveBadgeElement();
  const form = h("form", { class: "filters" }, status, customer, last4, h("button", { type: "submit", id: "apply" }, "Filter"), liveBadge);
  const read = (): Filters => ({
    statuses: status.value ? [Number(status.value) as PaymentStatus] : [],
    customerId: customer.value.trim(),
    cardLast4: last4.value.trim(),
  });
  return { form, read, liveBadge };
}

const HEADINGS = ["Payment", "Created (UTC)", "Amount", "Status", "Gateway", "Method", "Merchant"];

export function renderPayments(root: HTMLElement): () => void {
  const { form, read, liveBadge } = filterForm();
  const body = h("tbody", { id: "payments-body" });
  const more = h("button", { type: "button", id: "more", hidden: true }, "More");
  const problem = errorLine();
  const head = h("thead", {}, h("tr", {}, ...HEADINGS.map((t) => h("th", {}, t))));
  root.append(h("h1", {}, "Payments"), form, problem.element, h("table", { id: "payments" }, head, body), more);
  let filters = read();
  let pageToken = "";
  const rowOf = (id: string) => body.querySelector<HTMLElement>(`tr[data-payment-id="${CSS.escape(id)}"]`);

  async function load(reset: boolean): Promise<void> {
    problem.hide();
    const request: MessageInitShape<typeof ListPaymentsRequestSchema> = {
      ...filters,
      merchantId: scope(),
      pageSize: 25,
      pageToken: reset ? "" : pageToken,
    };
    try {
      const reply = await call(() => payments.listPayments(request));
      if (reset) body.replaceChildren();
      for (const payment of reply.payments) if (!rowOf(payment.id)) body.append(paymentRow(payment));
      pageToken = reply.nextPageToken;
      more.hidden = !pageToken;
    } catch (error) {
      problem.show(describe(error));
    }
  }

  async function refreshOne(paymentId: string): Promise<void> {
    let payment: Payment | undefined;
    try {
      payment = (await call(() => payments.getPayment({ paymentId }))).payment;
    } catch (error) {
      problem.show(describe(error));
      return;
    }
    if (!payment) return;
    const existing = rowOf(payment.id);
    // Answers to two GetPayments may cross: an older state never replaces a newer one.
    if (existing && BigInt(existing.dataset.version ?? "0") > payment.version) return;
    if (!matches(payment, filters)) {
      existing?.remove();
      return;
    }
    const row = paymentRow(payment);
    if (existing) existing.replaceWith(row);
    else body.prepend(row);
    row.classList.add("fresh");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = read();
    void load(true);
  });
  more.addEventListener("click", () => void load(false));

  const stop = follow({
    merchantId: scope(),
    onEvent: (event) => void refreshOne(event.paymentId),
    onState: (state: LiveState, detail?: string) => showLive(liveBadge, state, detail),
  });
  void load(true);
  return stop;
}
