// The webhooks sent for one payment: the delivery log's entries for each of its events
// (ListWebhookDeliveries by event id), with their state, the endpoint's last answer and
// *Redeliver*. Deliveries change without a payment event (an attempt, a retry): while one is
// pending the part reads them again every second.
import { WebhookDeliveryState, type WebhookDelivery } from "@gen/paysim/v1/webhook_pb.js";
import type { PaymentEvent } from "@gen/paysim/v1/payment_pb.js";
import { call, describe, isAdmin, webhooks } from "../api.js";
import { h, table } from "../dom.js";
import { enumName, time } from "../format.js";

const POLL_MS = 1000;

export interface WebhookPart {
  element: HTMLElement;
  /** Read the deliveries of these events (of a payment of `merchantId`) again. */
  reload: (events: PaymentEvent[], merchantId: string) => Promise<void>;
  stop: () => void;
}

function lastAnswer(d: WebhookDelivery): string {
  const last = d.attempts[d.attempts.length - 1];
  if (!last) return "";
  return last.httpStatus ? `HTTP ${last.httpStatus}` : last.error;
}

function deliveryRow(d: WebhookDelivery, redeliver: () => void): HTMLTableRowElement {
  const state = enumName(WebhookDeliveryState, d.state);
  return h(
    "tr",
    { "data-delivery-id": d.id, "data-state": state, "data-event-type": d.eventType },
    h("td", { title: `to ${d.endpointId}` }, d.id, d.redeliveryOf ? ` (again: ${d.redeliveryOf})` : ""),
    h("td", {}, time(d.createTime)),
    h("td", {}, d.eventType),
    h("td", { "data-testid": "state" }, state, d.nextAttemptTime ? ` (next attempt ${time(d.nextAttemptTime)})` : ""),
    h("td", { class: "amount" }, d.attemptCount),
    h("td", { "data-testid": "answer" }, lastAnswer(d)),
    h("td", {}, h("button", { type: "button", "data-action": "redeliver", onclick: redeliver }, "Redeliver")),
  );
}

const HEADINGS = ["Delivery", "Created (UTC)", "Event", "State", "Attempts", "Last answer", ""];

export function paymentWebhooks(): WebhookPart {
  const list = h("div", { id: "payment-webhooks" });
  const problem = h("p", { class: "hint", hidden: true });
  const element = h("div", {}, h("h2", {}, "Webhooks sent"), problem, list);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let last: [PaymentEvent[], string] = [[], ""];
  let generation = 0; // answers that cross: only the latest read is shown

  async function reload(events: PaymentEvent[], merchantId: string): Promise<void> {
    last = [events, merchantId];
    const mine = ++generation;
    clearTimeout(timer);
    timer = undefined;
    // Merchants' users read their own log; an admin names the payment's merchant.
    const owner = isAdmin() ? merchantId : "";
    try {
      const pages = await Promise.all(
        events.map((e) => call(() => webhooks.listWebhookDeliveries({ merchantId: owner, eventId: e.id, pageSize: 100 }))),
      );
      if (stopped || mine !== generation) return;
      const deliveries = pages.flatMap((p) => p.webhookDeliveries);
      deliveries.sort((a, b) => (a.sequence === b.sequence ? a.id.localeCompare(b.id) : a.sequence < b.sequence ? -1 : 1));
      const rows = deliveries.map((d) => deliveryRow(d, () => redeliver(d.id)));
      problem.hidden = true;
      list.replaceChildren(table({}, HEADINGS, rows, "No webhook was sent for this payment."));
      if (deliveries.some((d) => d.state === WebhookDeliveryState.PENDING)) {
        timer = setTimeout(() => void reload(...last), POLL_MS);
      }
    } catch (error) {
      if (stopped || mine !== generation) return;
      problem.textContent = `The delivery log cannot be read: ${describe(error)}`;
      problem.hidden = false;
    }
  }

  function redeliver(webhookDeliveryId: string): void {
    call(() => webhooks.redeliverWebhook({ webhookDeliveryId }))
      .then(() => reload(...last))
      .catch((error: unknown) => {
        problem.textContent = describe(error);
        problem.hidden = false;
      });
  }

  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
  };
  return { element, reload, stop };
}
