// API keys: list, create (the secret is shown once), revoke.
import type { ApiKey } from "@gen/paysim/v1/merchant_pb.js";
import { call, describe, merchants } from "../api.js";
import { actions, errorLine, h, table } from "../dom.js";
import { time } from "../format.js";
import { scope } from "../scope.js";

function keyRow(k: ApiKey, revoke: () => void): HTMLTableRowElement {
  return h(
    "tr",
    { "data-api-key-id": k.id },
    h("td", {}, k.id),
    h("td", {}, k.name),
    h("td", {}, k.prefix),
    h("td", {}, time(k.createTime)),
    h("td", {}, time(k.lastUseTime)),
    h("td", {}, time(k.revokeTime)),
    h("td", {}, k.revokeTime ? "" : h("button", { type: "button", onclick: revoke }, "Revoke")),
  );
}

export function renderApiKeys(root: HTMLElement): () => void {
  const problem = errorLine();
  const notice = h("p", { class: "notice", id: "api-key-secret", hidden: true });
  const name = h("input", { id: "api-key-name", placeholder: "name", required: true });
  const form = h("form", { class: "filters" }, name, h("button", { type: "submit" }, "Create key"));
  const list = h("div", { id: "api-keys" });
  root.append(h("h1", {}, "API keys"), problem.element, form, notice, list);

  async function load(): Promise<void> {
    try {
      const reply = await call(() => merchants.listApiKeys({ merchantId: scope() }));
      problem.hide();
      const rows = reply.apiKeys.map((k) => keyRow(k, () => act(() => call(() => merchants.revokeApiKey({ apiKeyId: k.id })))));
      list.replaceChildren(table({}, ["Key", "Name", "Prefix", "Created", "Last used", "Revoked", ""], rows, "No API keys."));
    } catch (error) {
      problem.show(describe(error));
    }
  }
  const act = actions(load, problem.show, describe);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const reply = await call(() => merchants.createApiKey({ merchantId: scope(), name: name.value.trim() }));
      notice.textContent = `Key ${reply.apiKey?.prefix ?? ""} created. Its secret (shown once): ${reply.secret}`;
      notice.hidden = false;
      name.value = "";
    });
  });
  void load();
  return () => undefined;
}
