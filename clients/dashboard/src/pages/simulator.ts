// Simulator controls: gateway outages on and off (error or timeout), the faults in force, and
// the circuit breakers with their reset. A merchant's user acts on its own merchant; an admin on
// the merchant chosen at the top, or on the whole platform when none is.
import { BreakerState, OutageMode, type GatewayFaults } from "@gen/paysim/v1/simulator_pb.js";
import { call, currentUser, describe, merchants, simulator } from "../api.js";
import { errorLine, h } from "../dom.js";
import { enumName, time } from "../format.js";
import { scope } from "../scope.js";

const BUILT_IN_GATEWAY = "simulator";

function target(): { merchantId: string; platformWide: boolean } {
  const merchantId = scope();
  const own = currentUser()?.merchantId ?? "";
  return { merchantId, platformWide: !merchantId && !own };
}

export function renderSimulator(root: HTMLElement): () => void {
  const problem = errorLine();
  const content = h("div", { id: "simulator" });
  root.append(h("h1", {}, "Simulator"), problem.element, content);

  async function act(run: () => Promise<unknown>): Promise<void> {
    try {
      await call(run);
      await load();
    } catch (error) {
      problem.show(describe(error));
    }
  }

  function outageRow(gateway: string, faults: GatewayFaults | undefined): HTMLTableRowElement {
    const mode = faults?.outageMode ?? OutageMode.UNSPECIFIED;
    const state = mode === OutageMode.UNSPECIFIED ? "none" : enumName(OutageMode, mode);
    const set = (outage: OutageMode) => () => void act(() => simulator.setGatewayOutage({ ...target(), gateway, mode: outage }));
    return h(
      "tr",
      { "data-gateway": gateway, "data-outage": state },
      h("td", {}, gateway),
      h("td", { "data-testid": "outage" }, state, faults?.outageUntil ? ` until ${time(faults.outageUntil)}` : ""),
      h("td", {}, faults ? String(faults.script.length) : "0"),
      h(
        "td",
        {},
        h("button", { type: "button", "data-action": "outage-error", onclick: set(OutageMode.ERROR) }, "Outage (errors)"),
        h("button", { type: "button", "data-action": "outage-timeout", onclick: set(OutageMode.TIMEOUT) }, "Outage (timeouts)"),
        h("button", { type: "button", "data-action": "clear", onclick: () => void act(() => simulator.clearGatewayFaults({ ...target(), gateway })) }, "Clear"),
      ),
    );
  }

  async function load(): Promise<void> {
    const { merchantId, platformWide } = target();
    try {
      const [faults, configs, breakers] = await Promise.all([
        call(() => simulator.listGatewayFaults({ merchantId, platformWide })),
        platformWide ? Promise.resolve(undefined) : call(() => merchants.listGatewayConfigs({ merchantId })),
        platformWide ? Promise.resolve(undefined) : call(() => simulator.listCircuitBreakers({ merchantId })),
      ]);
      problem.hide();
      // A merchant's faults are scoped to it; the platform's ("platform") apply to every merchant.
      const isOwn = (f: GatewayFaults): boolean => (f.scope === "platform") === platformWide;
      const own = new Map(faults.faults.filter(isOwn).map((f) => [f.gateway, f]));
      const gateways = new Set([BUILT_IN_GATEWAY, ...(configs?.gatewayConfigs ?? []).map((c) => c.gateway), ...own.keys()]);
      const inherited = faults.faults.filter((f) => !isOwn(f));
      content.replaceChildren(
        h("h2", {}, platformWide ? "Outages for the whole platform" : "Outages"),
        h(
          "table",
          { id: "outages" },
          h("thead", {}, h("tr", {}, ...["Gateway", "Outage", "Scripted outcomes", ""].map((t) => h("th", {}, t)))),
          h("tbody", {}, ...[...gateways].sort().map((g) => outageRow(g, own.get(g)))),
        ),
        inherited.length ? h("p", { class: "hint" }, `Also in force platform-wide: ${inherited.map((f) => `${f.gateway} (${enumName(OutageMode, f.outageMode)})`).join(", ")}`) : "",
        breakers
          ? h(
              "div",
              {},
              h("h2", {}, "Circuit breakers"),
              breakers.breakers.length
                ? h(
                    "table",
                    { id: "breakers" },
                    h("thead", {}, h("tr", {}, ...["Gateway", "State", "Failures in window", "Calls", "Rejections", "Last failure", ""].map((t) => h("th", {}, t)))),
                    h(
                      "tbody",
                      {},
                      ...breakers.breakers.map((b) =>
                        h(
                          "tr",
                          { "data-gateway": b.gateway, "data-state": enumName(BreakerState, b.state) },
                          h("td", {}, b.gateway),
                          h("td", {}, enumName(BreakerState, b.state)),
                          h("td", { class: "amount" }, b.failuresInWindow),
                          h("td", { class: "amount" }, b.calls),
                          h("td", { class: "amount" }, b.rejections),
                          h("td", {}, b.lastFailureReason, b.lastFailureTime ? ` (${time(b.lastFailureTime)})` : ""),
                          h(
                            "td",
                            {},
                            h("button", { type: "button", "data-action": "reset", onclick: () => void act(() => simulator.resetCircuitBreaker({ merchantId: merchantId || (currentUser()?.merchantId ?? ""), gateway: b.gateway })) }, "Reset"),
                          ),
                        ),
                      ),
                    ),
                  )
                : h("p", { class: "empty" }, "No breaker has seen a call yet."),
            )
          : "",
      );
    } catch (error) {
      problem.show(describe(error));
    }
  }

  void load();
  return () => undefined;
}
