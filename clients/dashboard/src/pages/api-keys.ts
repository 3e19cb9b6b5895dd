// API keys: list, create (the secret is shown once), revoke.
import { call, describe, merchants } from "../api.js";
import { errorLine, h } from "../dom.js";
import { time } from "../format.js";
import { scope } from "../scope.js";

export function renderApiKeys(root: HTMLElement): () => void {
  const problem = errorLine();
  const notice = h("p", { class: "notice", id: "api-key-secret", hidden: true });
  const name = h("input", { id: "api-key-name", placeholder: "name", required: true });
  const form = h("form", { class: "filters" }, name, h("button", { type: "submit" }, "Create key"));
  const list = h("div", { id: "api-keys" });
  root.append(h("h1", {}, "API keys"), problem.element, form, notice, list);

  async function act(run: () => Promise<unknown>): Promise<void> {
    try {
      await call(run);
      await load();
    } catch (error) {
      problem.show(describe(error));
    }
  }

  async function load(): Promise<void> {
    try {
      const reply = await call(() => merchants.listApiKeys({ merchantId: scope() }));
      problem.hide();
      list.replaceChildren(
        reply.apiKeys.length
          ? h(
              "table",
              {},
              h("thead", {}, h("tr", {}, ...["Key", "Name", "Prefix", "Created", "Last used", "Revoked", ""].map((t) => h("th", {}, t)))),
              h(
                "tbody",
                {},
                ...reply.apiKeys.map((k) =>
                  h(
                    "tr",
                    { "data-api-key-id": k.id },
                    h("td", {}, k.id),
                    h("td", {}, k.name),
                    h("td", {}, k.prefix),
                    h("td", {}, time(k.createTime)),
                    h("td", {}, time(k.lastUseTime)),
                    h("td", {}, time(k.revokeTime)),
                    h("td", {}, k.revokeTime ? "" : h("button", { type: "button", onclick: () => void act(() => merchants.revokeApiKey({ apiKeyId: k.id })) }, "Revoke")),
                  ),
                ),
              ),
            )
          : h("p", { class: "empty" }, "No API keys."),
      );
    } catch (error) {
      problem.show(describe(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void act(async () => {
      const reply = await merchants.createApiKey({ merchantId: scope(), name: name.value.trim() });
      notice.textContent = `Key ${reply.apiKey?.prefix ?? ""} created. Its secret (shown once): ${reply.secret}`;
      notice.hidden = false;
      name.value = "";
    });
  });
  void load();
  return () => undefined;
}
