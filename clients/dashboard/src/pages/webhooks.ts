// Webhook endpoints (create, enable/disable, delete) and the delivery log with redeliver.
import { WebhookDeliveryState, type WebhookDelivery, type WebhookEndpoint } from "@gen/paysim/v1/webhook_pb.js";
import { call, describe, webhooks } from "../api.js";
import { actions, errorLine, h, table } from "../dom.js";
import { enumName, time } from "../format.js";
import { scope } from "../scope.js";

type Act = (run: () => Promise<unknown>) => void;

function endpointRow(e: WebhookEndpoint, act: Act): HTMLTableRowElement {
  const toggle = () => act(() => call(() => webhooks.updateWebhookEndpoint({ webhookEndpointId: e.id, enabled: !e.enabled })));
  const remove = () => act(() => call(() => webhooks.deleteWebhookEndpoint({ webhookEndpointId: e.id })));
  return h(
    "tr",
    { "data-endpoint-id": e.id },
    h("td", {}, e.id),
    h("td", {}, e.url),
    h("td", {}, e.eventTypes.join(", ")),
    h("td", {}, e.enabled ? "yes" : `no${e.disabledReason ? ` (${e.disabledReason})` : ""}`),
    h("td", {}, h("button", { type: "button", onclick: toggle }, e.enabled ? "Disable" : "Enable"), h("button", { type: "button", onclick: remove }, "Delete")),
  );
}

function deliveryRow(d: WebhookDelivery, act: Act): HTMLTableRowElement {
  const redeliver = () => act(() => call(() => webhooks.redeliverWebhook({ webhookDeliveryId: d.id })));
  return h(
    "tr",
    { "data-delivery-id": d.id },
    h("td", {}, d.id, d.redeliveryOf ? ` (again: ${d.redeliveryOf})` : ""),
    h("td", {}, time(d.createTime)),
    h("td", {}, d.eventType),
    h("td", {}, h("a", { href: `#/payments/${encodeURIComponent(d.paymentId)}` }, d.paymentId)),
    h("td", {}, enumName(WebhookDeliveryState, d.state)),
    h("td", { class: "amount" }, d.attemptCount),
    h("td", {}, time(d.nextAttemptTime)),
    h("td", {}, h("button", { type: "button", "data-action": "redeliver", onclick: redeliver }, "Redeliver")),
  );
}

export function renderWebhooks(root: HTMLElement): () => void {
  const problem = errorLine();
  const notice = h("p", { class: "notice", id: "webhook-secret", hidden: true });
  const url = h("input", { id: "webhook-url", type: "url", placeholder: "https://example.test/hooks", required: true, size: 40 });
  const types = h("input", { id: "webhook-types", value: "*", size: 30, "aria-label": "Event types, comma separated (* for every type)" });
  const form = h("form", { class: "filters" }, url, types, h("button", { type: "submit" }, "Add endpoint"));
  const endpointsBox = h("div", { id: "endpoints" });
  const deliveriesBox = h("div", { id: "deliveries" });
  root.append(h("h1", {}, "Webhooks"), problem.element, h("h2", {}, "Endpoints"), form, notice, endpointsBox, h("h2", {}, "Deliveries"), deliveriesBox);

  async function load(): Promise<void> {
    const merchantId = scope();
    try {
      const [endpoints, deliveries] = await Promise.all([
        call(() => webhooks.listWebhookEndpoints({ merchantId, pageSize: 100 })),
        call(() => webhooks.listWebhookDeliveries({ merchantId, pageSize: 50 })),
      ]);
      problem.hide();
      endpointsBox.replaceChildren(
        table({}, ["Endpoint", "URL", "Events", "Enabled", ""], endpoints.webhookEndpoints.map((e) => endpointRow(e, act)), "No endpoints."),
      );
      const headings = ["Delivery", "Created", "Event", "Payment", "State", "Attempts", "Next attempt", ""];
      deliveriesBox.replaceChildren(table({}, headings, deliveries.webhookDeliveries.map((d) => deliveryRow(d, act)), "No deliveries."));
    } catch (error) {
      problem.show(describe(error));
    }
  }
  const act = actions(load, problem.show, describe);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const eventTypes = types.value.split(",").map((t) => t.trim()).filter(Boolean);
    act(async () => {
      const reply = await call(() => webhooks.createWebhookEndpoint({ merchantId: scope(), url: url.value, eventTypes }));
      // The signing secret is shown once, as the API returns it once.
      notice.textContent = `Endpoint ${reply.webhookEndpoint?.id ?? ""} created. Its signing secret (shown once): ${reply.secret}`;
      notice.hidden = false;
    });
  });
  void load();
  return () => undefined;
}
