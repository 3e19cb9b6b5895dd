// One payment's timeline: its state, its 3-D Secure steps, every gateway attempt, its refunds, its
// dispute, every event and the webhooks sent for them, kept current by a stream of this payment's
// events.
import {
  GatewayOperation,
  GatewayOutcome,
  PaymentStatus,
  RefundStatus,
  type GatewayAttempt,
  type Payment,
  type PaymentEvent,
} from "@gen/paysim/v1/payment_pb.js";
import { call, describe, payments } from "../api.js";
import { errorLine, h, table } from "../dom.js";
import { enumName, money, time } from "../format.js";
import { follow, liveBadgeElement, showLive, type LiveState } from "../live.js";
import { paymentActions } from "./payment-actions.js";
import { disputeSection, threeDsSection } from "./payment-timeline.js";
import { paymentWebhooks } from "./payment-webhooks.js";

function summary(payment: Payment): HTMLElement {
  const facts: [string, string][] = [
    ["Status", enumName(PaymentStatus, payment.status)],
    ["Amount", money(payment.amountMinor, payment.currencyCode)],
    ["Authorized", money(payment.authorizedAmountMinor, payment.currencyCode)],
    ["Captured", money(payment.capturedAmountMinor, payment.currencyCode)],
    ["Refunded", money(payment.refundedAmountMinor, payment.currencyCode)],
    ["Gateway", payment.gateway || "—"],
    ["Method", payment.card ? `${payment.card.brand} •••• ${payment.card.last4}` : payment.methodAccount || "—"],
    ["Merchant", payment.merchantId],
    ["Customer", payment.customerId || "—"],
    ["Created", time(payment.createTime)],
    ["Description", payment.description || "—"],
  ];
  if (payment.decline) facts.push(["Decline", `${payment.decline.code}: ${payment.decline.message}`]);
  const threeDs = payment.threeDs;
  if (threeDs) {
    const reason = threeDs.transStatusReason ? ` (reason ${threeDs.transStatusReason})` : "";
    facts.push(["3-D Secure", `${threeDs.version} trans status ${threeDs.transStatus}${reason}, ECI ${threeDs.eci || "—"}`]);
  }
  if (payment.nextAction) facts.push(["Next action", "the cardholder's 3-D Secure challenge"]);
  if (payment.failureReason) facts.push(["Failure", payment.failureReason]);
  return h("dl", { class: "facts", id: "payment-facts" }, ...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-fact": k.toLowerCase() }, v)]));
}

function attemptText(attempt: GatewayAttempt): string {
  const outcome = `${attempt.gateway} ${enumName(GatewayOperation, attempt.operation)} ${enumName(GatewayOutcome, attempt.outcome)}`;
  return attempt.detail ? `${outcome}: ${attempt.detail}` : outcome;
}

/** What an event adds to the timeline in a few words: its gateway call, decline or reason. */
function eventSummary(event: PaymentEvent): string {
  const data = event.data;
  const parts: string[] = [];
  if (!data.case) return "";
  const value = data.value as { attempt?: GatewayAttempt; decline?: { code: string }; reason?: unknown; refundId?: string; disputeId?: string };
  if (value.refundId) parts.push(value.refundId);
  if (value.disputeId) parts.push(value.disputeId);
  if (value.decline?.code) parts.push(`declined: ${value.decline.code}`);
  // A reason in words (a dispute's creation carries an enum under that name instead).
  if (typeof value.reason === "string" && value.reason) parts.push(value.reason);
  if (value.attempt) parts.push(attemptText(value.attempt));
  return parts.join(" · ");
}

export function renderPayment(root: HTMLElement, paymentId: string): () => void {
  const problem = errorLine();
  const content = h("div", { id: "timeline" });
  const sent = paymentWebhooks();
  const liveBadge = liveBadgeElement();
  root.append(
    h("p", {}, h("a", { href: "#/payments" }, "← Payments"), " ", liveBadge),
    h("h1", {}, paymentId),
    problem.element,
    content,
    sent.element,
  );

  let shown = -1n;
  // Loads that cross (the stream opening and an event's): only the latest is shown. An earlier
  // one answering last could show the payment as it was before the event that the later showed.
  let generation = 0;

  /** ``onlyIfChanged``: leave the page as it is (a form being filled in) unless the payment changed. */
  async function load(onlyIfChanged = false): Promise<void> {
    const mine = ++generation;
    try {
      const [reply, history] = await Promise.all([
        call(() => payments.getPayment({ paymentId })),
        call(() => payments.listPaymentEvents({ paymentId, pageSize: 500 })),
      ]);
      if (mine !== generation) return;
      const payment = reply.payment;
      if (!payment) return;
      if (onlyIfChanged && payment.version === shown) return;
      shown = payment.version;
      problem.hide();
      const attempts = payment.attempts.map((a) =>
        h(
          "tr",
          { "data-gateway": a.gateway, "data-outcome": enumName(GatewayOutcome, a.outcome) },
          h("td", {}, time(a.time)),
          h("td", {}, a.gateway),
          h("td", {}, enumName(GatewayOperation, a.operation)),
          h("td", {}, enumName(GatewayOutcome, a.outcome)),
          h("td", { class: "amount" }, `${a.latencyMs} ms`),
          h("td", {}, a.detail),
        ),
      );
      const refunds = payment.refunds.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, r.id),
          h("td", {}, time(r.createTime)),
          h("td", { class: "amount" }, money(r.amountMinor, r.currencyCode)),
          h("td", {}, enumName(RefundStatus, r.status)),
          h("td", {}, r.reason || r.failureReason),
        ),
      );
      const eventRows = history.events.map((e) =>
        h(
          "tr",
          { "data-event-type": e.type },
          h("td", { class: "amount" }, e.sequence),
          h("td", {}, time(e.createTime)),
          h("td", {}, e.type),
          h("td", { class: "detail" }, eventSummary(e)),
        ),
      );
      content.replaceChildren(
        summary(payment),
        paymentActions(payment, problem.show, () => void load()),
        ...threeDsSection(history.events),
        h("h2", {}, "Gateway attempts"),
        table({ id: "attempts" }, ["Time (UTC)", "Gateway", "Operation", "Outcome", "Latency", "Detail"], attempts, "No gateway call yet."),
        h("h2", {}, "Refunds"),
        table({ id: "refunds" }, ["Refund", "Created", "Amount", "Status", "Reason"], refunds, "No refunds."),
        ...disputeSection(payment.dispute),
        h("h2", {}, "Events"),
        table({ id: "events" }, ["Seq", "Time (UTC)", "Type", "Detail"], eventRows, "No events."),
      );
      void sent.reload(history.events, payment.merchantId);
    } catch (error) {
      if (mine === generation) problem.show(describe(error));
    }
  }

  void load();
  let opened = false;
  const stop = follow({
    paymentId,
    onEvent: () => void load(),
    onState: (state: LiveState, detail?: string) => {
      showLive(liveBadge, state, detail);
      // The stream sends what commits after it opened: what committed between the first load and
      // its opening is read again once it is open (a resumed stream misses nothing).
      if (state === "live" && !opened) {
        opened = true;
        void load(true);
      }
    },
  });
  return () => {
    stop();
    sent.stop();
  };
}
