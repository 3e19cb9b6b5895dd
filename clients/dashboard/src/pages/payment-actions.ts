// What can be done to a payment from its timeline: capture or void an authorization, refund a
// captured payment (in full or in part). Each press is one idempotency key, so a retried call
// never acts twice.
import { PaymentStatus, type Payment } from "@gen/paysim/v1/payment_pb.js";
import { call, describe, payments } from "../api.js";
import { h } from "../dom.js";
import { money, parseMinor } from "../format.js";

interface CallOptions {
  headers: Record<string, string>;
}

function once(): CallOptions {
  return { headers: { "idempotency-key": crypto.randomUUID() } };
}

export function paymentActions(payment: Payment, show: (text: string) => void, reload: () => void): HTMLElement {
  const box = h("div", { class: "filters", id: "payment-actions" });
  // One key per press, kept across the retry that a refreshed token may need.
  const act = (action: (options: CallOptions) => Promise<unknown>): void => {
    const options = once();
    void call(() => action(options))
      .then(reload)
      .catch((error: unknown) => show(describe(error)));
  };
  const paymentId = payment.id;
  if (payment.status === PaymentStatus.AUTHORIZED) {
    box.append(
      h("button", { type: "button", "data-action": "capture", onclick: () => act((o) => payments.capturePayment({ paymentId }, o)) }, "Capture"),
      h("button", { type: "button", "data-action": "void", onclick: () => act((o) => payments.voidPayment({ paymentId }, o)) }, "Void"),
    );
  }
  const refundable = payment.capturedAmountMinor - payment.refundedAmountMinor;
  // Not while a chargeback holds the money or once it was lost (the server refuses: PAYMENT_DISPUTED).
  const disputed = payment.dispute !== undefined && !payment.dispute.paymentRefundable;
  if ((payment.status === PaymentStatus.CAPTURED || payment.status === PaymentStatus.PARTIALLY_REFUNDED) && refundable > 0n && !disputed) {
    const amount = h("input", { id: "refund-amount", size: 10, placeholder: money(refundable, payment.currencyCode), "aria-label": "Amount to refund" });
    const reason = h("input", { id: "refund-reason", placeholder: "reason", "aria-label": "Refund reason" });
    const refund = h("button", { type: "button", "data-action": "refund" }, "Refund");
    refund.addEventListener("click", () => {
      const minor = amount.value.trim() ? parseMinor(amount.value, payment.currencyCode) : refundable;
      if (minor === undefined) {
        show(`${amount.value} is not an amount in ${payment.currencyCode}`);
        return;
      }
      act((o) => payments.refundPayment({ paymentId, amountMinor: minor, reason: reason.value.trim() }, o));
    });
    box.append(amount, reason, refund);
  }
  return box;
}
