// Webhook endpoints (create, enable/disable, delete) and the delivery log with redeliver.
import { WebhookDeliveryState } from "@gen/paysim/v1/webhook_pb.js";
import { call, describe, webhooks } from "../api.js";
import { errorLine, h } from "../dom.js";
import { enumName, time } from "../format.js";
import { scope } from "../scope.js";

export function renderWebhooks(root: HTMLElement): () => void {
  const problem = errorLine();
  const notice = h("p", { class: "notice", id: "webhook-secret", hidden: true });
  const url = h("input", { id: "webhook-url", type: "url", placeholder: "https://example.test/hooks", required: true, size: 40 });
  const types = h("input", { id: "webhook-types", value: "payment.*", size: 30, "aria-label": "Event types, comma separated" });
  const form = h("form", { class: "filters" }, url, types, h("button", { type: "submit" }, "Add endpoint"));
  const endpointsBox = h("div", { id: "endpoints" });
  const deliveriesBox = h("div", { id: "deliveries" });
  root.append(h("h1", {}, "Webhooks"), problem.element, h("h2", {}, "Endpoints"), form, notice, endpointsBox, h("h2", {}, "Deliveries"), deliveriesBox);

  async function act(run: () => Promise<unknown>): Promise<void> {
    try {
      await call(run);
      await load();
    } catch (error) {
      problem.show(describe(error));
    }
  }

  async function load(): Promise<void> {
    const merchantId = scope();
    try {
      const [endpoints, deliveries] = await Promise.all([
        call(() => webhooks.listWebhookEndpoints({ merchantId, pageSize: 100 })),
        call(() => webhooks.listWebhookDeliveries({ merchantId, pageSize: 50 })),
      ]);
      problem.hide();
      endpointsBox.replaceChildren(
        endpoints.webhookEndpoints.length
          ? h(
              "table",
              {},
              h("thead", {}, h("tr", {}, ...["Endpoint", "URL", "Events", "Enabled", ""].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                ...endpoints.webhookEndpoints.map((e) =>
                  h(
                    "tr",
                    { "data-endpoint-id": e.id },
                    h("td", {}, e.id),
                    h("td", {}, e.url),
                    h("td", {}, e.eventTypes.join(", ")),
                    h("td", {}, e.enabled ? "yes" : `no${e.disabledReason ? ` (${e.disabledReason})` : ""}`),
                    h(
                      "td",
                      {},
                      h("button", { type: "button", onclick: () => void act(() => webhooks.updateWebhookEndpoint({ webhookEndpointId: e.id, enabled: !e.enabled })) }, e.enabled ? "Disable" : "Enable"),
                      h("button", { type: "button", onclick: () => void act(() => webhooks.deleteWebhookEndpoint({ webhookEndpointId: e.id })) }, "Delete"),
                    ),
                  ),
                ),
              ),
            )
          : h("p", { class: "empty" }, "No endpoints."),
      );
      deliveriesBox.replaceChildren(
        deliveries.webhookDeliveries.length
          ? h(
              "table",
              {},
              h("thead", {}, h("tr", {}, ...["Delivery", "Created", "Event", "Payment", "State", "Attempts", "Next attempt", ""].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                ...deliveries.webhookDeliveries.map((d) =>
                  h(
                    "tr",
                    { "data-delivery-id": d.id },
                    h("td", {}, d.id, d.redeliveryOf ? ` (again: ${d.redeliveryOf})` : ""),
                    h("td", {}, time(d.createTime)),
                    h("td", {}, d.eventType),
                    h("td", {}, h("a", { href: `#/payments/${encodeURIComponent(d.paymentId)}` }, d.paymentId)),
                    h("td", {}, enumName(WebhookDeliveryState, d.state)),
                    h("td", { class: "amount" }, d.attemptCount),
                    h("td", {}, time(d.nextAttemptTime)),
                    h("td", {}, h("button", { type: "button", "data-action": "redeliver", onclick: () => void act(() => webhooks.redeliverWebhook({ webhookDeliveryId: d.id })) }, "Redeliver")),
                  ),
                ),
              ),
            )
          : h("p", { class: "empty" }, "No deliveries."),
      );
    } catch (error) {
      problem.show(describe(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const eventTypes = types.value.split(",").map((t) => t.trim()).filter(Boolean);
    void act(async () => {
      const reply = await webhooks.createWebhookEndpoint({ merchantId: scope(), url: url.value, eventTypes });
      // The signing secret is shown once, as the API returns it once.
      notice.textContent = `Endpoint ${reply.webhookEndpoint?.id ?? ""} created. Its signing secret (shown once): ${reply.secret}`;
      notice.hidden = false;
    });
  });
  void load();
  return () => undefined;
}
