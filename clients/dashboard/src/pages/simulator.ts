// Simulator controls: gateway outages on and off (error or timeout), outcomes scripted for the
// next calls, the faults in force, and the circuit breakers with their reset; for one merchant
// also its chaos profiles, its test clocks and a reset of its whole simulation. A merchant's user
// acts on its own merchant; an admin on the merchant chosen at the top, or (outages only) on the
// whole platform when none is.
import {
  BreakerState,
  OutageMode,
  ScriptedOutcomeKind,
  type CircuitBreaker,
  type GatewayFaults,
} from "@gen/paysim/v1/simulator_pb.js";
import { call, currentUser, describe, merchants, simulator } from "../api.js";
import { actions, errorLine, h, table } from "../dom.js";
import { enumName, time } from "../format.js";
import { scope } from "../scope.js";
import { chaosSection } from "./chaos.js";
import { clockSection } from "./clocks.js";
import { resetSection } from "./reset.js";

const BUILT_IN_GATEWAY = "simulator";
type Act = (run: () => Promise<unknown>) => void;

interface Target {
  merchantId: string;
  platformWide: boolean;
}

function target(): Target {
  const merchantId = scope();
  const own = currentUser()?.merchantId ?? "";
  return { merchantId, platformWide: !merchantId && !own };
}

function outageRow(gateway: string, faults: GatewayFaults | undefined, act: Act): HTMLTableRowElement {
  const mode = faults?.outageMode ?? OutageMode.UNSPECIFIED;
  const state = mode === OutageMode.UNSPECIFIED ? "none" : enumName(OutageMode, mode);
  const set = (outage: OutageMode) => () => act(() => call(() => simulator.setGatewayOutage({ ...target(), gateway, mode: outage })));
  const clear = () => act(() => call(() => simulator.clearGatewayFaults({ ...target(), gateway })));
  return h(
    "tr",
    { "data-gateway": gateway, "data-outage": state },
    h("td", {}, gateway),
    h("td", { "data-testid": "outage" }, state, faults?.outageUntil ? ` until ${time(faults.outageUntil)}` : ""),
    h("td", { "data-testid": "scripted", class: "amount" }, faults ? String(faults.script.length) : "0"),
    h(
      "td",
      {},
      h("button", { type: "button", "data-action": "outage-error", onclick: set(OutageMode.ERROR) }, "Outage (errors)"),
      h("button", { type: "button", "data-action": "outage-timeout", onclick: set(OutageMode.TIMEOUT) }, "Outage (timeouts)"),
      h("button", { type: "button", "data-action": "clear", onclick: clear }, "Clear"),
    ),
    h("td", {}, scriptControls(gateway, act)),
  );
}

/** Queue one outcome for the gateway's next call (appended to what is already scripted). */
function scriptControls(gateway: string, act: Act): HTMLElement {
  const kinds = [ScriptedOutcomeKind.APPROVE, ScriptedOutcomeKind.DECLINE, ScriptedOutcomeKind.ERROR, ScriptedOutcomeKind.TIMEOUT];
  const kind = h("select", { "data-field": "kind", "aria-label": "Next outcome" }, ...kinds.map((k) => h("option", { value: String(k) }, enumName(ScriptedOutcomeKind, k))));
  const code = h("input", { "data-field": "decline-code", placeholder: "decline code", size: 16, "aria-label": "Decline code" });
  const script = () => {
    const outcome = { kind: Number(kind.value) as ScriptedOutcomeKind, declineCode: code.value.trim() };
    act(() => call(() => simulator.scriptGatewayOutcomes({ ...target(), gateway, outcomes: [outcome], append: true })));
  };
  return h("span", { class: "script" }, kind, code, h("button", { type: "button", "data-action": "script", onclick: script }, "Script next"));
}

function breakerRow(b: CircuitBreaker, merchantId: string, act: Act): HTMLTableRowElement {
  const reset = () => act(() => call(() => simulator.resetCircuitBreaker({ merchantId, gateway: b.gateway })));
  return h(
    "tr",
    { "data-gateway": b.gateway, "data-state": enumName(BreakerState, b.state) },
    h("td", {}, b.gateway),
    h("td", {}, enumName(BreakerState, b.state)),
    h("td", { class: "amount" }, b.failuresInWindow),
    h("td", { class: "amount" }, b.calls),
    h("td", { class: "amount" }, b.rejections),
    h("td", {}, b.lastFailureReason, b.lastFailureTime ? ` (${time(b.lastFailureTime)})` : ""),
    h("td", {}, h("button", { type: "button", "data-action": "reset", onclick: reset }, "Reset")),
  );
}

async function fetchState(where: Target) {
  const { merchantId, platformWide } = where;
  return Promise.all([
    call(() => simulator.listGatewayFaults({ merchantId, platformWide })),
    platformWide ? undefined : call(() => merchants.listGatewayConfigs({ merchantId })),
    platformWide ? undefined : call(() => simulator.listCircuitBreakers({ merchantId })),
    platformWide ? undefined : call(() => simulator.listChaosProfiles({ merchantId })),
  ]);
}

export function renderSimulator(root: HTMLElement): () => void {
  const problem = errorLine();
  const content = h("div", { id: "simulator" });
  const { merchantId: chosen, platformWide } = target();
  // Chaos, clocks and the reset belong to one merchant: an admin names it at the top first.
  const clocks = platformWide ? undefined : clockSection(chosen, problem.show);
  const reload = async (): Promise<void> => {
    await load();
    await clocks?.reload();
  };
  root.append(
    h("h1", {}, "Simulator"),
    problem.element,
    content,
    clocks ? clocks.element : h("p", { class: "hint", id: "name-a-merchant" }, "Name a merchant at the top for its chaos profiles, test clocks and reset."),
    clocks ? resetSection(chosen, problem.show, reload) : "",
  );

  async function load(): Promise<void> {
    const where = target();
    try {
      const [faults, configs, breakers, chaos] = await fetchState(where);
      problem.hide();
      // A merchant's faults are scoped to it; the platform's ("platform") apply to every merchant.
      const isOwn = (f: GatewayFaults): boolean => (f.scope === "platform") === where.platformWide;
      const own = new Map(faults.faults.filter(isOwn).map((f) => [f.gateway, f]));
      const gateways = new Set([BUILT_IN_GATEWAY, ...(configs?.gatewayConfigs ?? []).map((c) => c.gateway), ...own.keys()]);
      const inherited = faults.faults.filter((f) => !isOwn(f)).map((f) => `${f.gateway} (${enumName(OutageMode, f.outageMode)})`);
      const outages = [...gateways].sort().map((g) => outageRow(g, own.get(g), act));
      const breakerFor = where.merchantId || (currentUser()?.merchantId ?? "");
      content.replaceChildren(
        h("h2", {}, where.platformWide ? "Outages for the whole platform" : "Outages"),
        table({ id: "outages" }, ["Gateway", "Outage", "Scripted outcomes", "", "Next outcomes"], outages, ""),
        inherited.length ? h("p", { class: "hint" }, `Also in force platform-wide: ${inherited.join(", ")}`) : "",
        breakers ? h("h2", {}, "Circuit breakers") : "",
        breakers
          ? table(
              { id: "breakers" },
              ["Gateway", "State", "Failures in window", "Calls", "Rejections", "Last failure", ""],
              breakers.breakers.map((b) => breakerRow(b, breakerFor, act)),
              "No breaker has seen a call yet.",
            )
          : "",
        ...(chaos ? chaosSection(chaos.profiles, where.merchantId, act, problem.show) : []),
      );
    } catch (error) {
      problem.show(describe(error));
    }
  }
  const act = actions(load, problem.show, describe);

  void reload();
  return () => clocks?.stop();
}
