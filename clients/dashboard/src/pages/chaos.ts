// Chaos profiles on the simulator page: one seeded profile per gateway (error, timeout and
// decline rates, latency p50/p99, seed), set from a form, shown with how many calls drew from it,
// cleared one by one or all at once.
import type { ChaosProfile } from "@gen/paysim/v1/simulator_pb.js";
import { call, simulator } from "../api.js";
import { h, table } from "../dom.js";
import { bpsPercent, parseBps, time } from "../format.js";

/** The gateways a profile may be set for (SetChaosProfileRequest.gateway). */
export const CHAOS_GATEWAYS = ["simulator", "stripe", "paypal", "razorpay"];

type Act = (run: () => Promise<unknown>) => void;

function profileRow(p: ChaosProfile, merchantId: string, act: Act): HTMLTableRowElement {
  const clear = () => act(() => call(() => simulator.clearChaosProfile({ merchantId, gateway: p.gateway })));
  return h(
    "tr",
    { "data-gateway": p.gateway },
    h("td", {}, p.gateway),
    h("td", { class: "amount", "data-testid": "error-rate" }, bpsPercent(p.errorRateBps)),
    h("td", { class: "amount", "data-testid": "timeout-rate" }, bpsPercent(p.timeoutRateBps)),
    h("td", { class: "amount", "data-testid": "decline-rate" }, bpsPercent(p.declineRateBps)),
    h("td", {}, p.declineCode),
    h("td", { class: "amount", "data-testid": "latency" }, `${p.latencyP50Ms} / ${p.latencyP99Ms} ms`),
    h("td", { class: "amount", "data-testid": "seed" }, p.seed),
    h("td", { class: "amount", "data-testid": "draws" }, p.draws),
    h("td", {}, time(p.updateTime)),
    h("td", {}, h("button", { type: "button", "data-action": "clear-chaos", onclick: clear }, "Clear")),
  );
}

function field(name: string, label: string, size: number, value = ""): HTMLInputElement {
  return h("input", { "data-field": name, "aria-label": label, placeholder: label, size, value });
}

/** The form that sets a gateway's profile; picking a gateway that has one fills it in. */
function profileForm(profiles: ChaosProfile[], merchantId: string, act: Act, show: (text: string) => void): HTMLElement {
  const gateway = h("select", { "data-field": "gateway", "aria-label": "Gateway" }, ...CHAOS_GATEWAYS.map((g) => h("option", { value: g }, g)));
  const errors = field("error-rate", "error %", 6);
  const timeouts = field("timeout-rate", "timeout %", 6);
  const declines = field("decline-rate", "decline %", 6);
  const code = field("decline-code", "decline code", 16);
  const p50 = field("latency-p50", "p50 ms", 7);
  const p99 = field("latency-p99", "p99 ms", 7);
  const seed = field("seed", "seed", 12, "1");
  const fill = (): void => {
    const p = profiles.find((x) => x.gateway === gateway.value);
    errors.value = p ? String(p.errorRateBps / 100) : "";
    timeouts.value = p ? String(p.timeoutRateBps / 100) : "";
    declines.value = p ? String(p.declineRateBps / 100) : "";
    code.value = p?.declineCode ?? "";
    p50.value = p ? String(p.latencyP50Ms) : "";
    p99.value = p ? String(p.latencyP99Ms) : "";
    seed.value = p ? String(p.seed) : "1";
  };
  gateway.addEventListener("change", fill);
  fill();
  const set = (): void => {
    const rates = [errors, timeouts, declines].map((input) => parseBps(input.value));
    const latencies = [p50, p99].map((input) => (/^\d{0,9}$/.test(input.value.trim()) ? Number(input.value.trim()) : undefined));
    const seedText = seed.value.trim() || "0";
    const bad = [...rates, ...latencies].some((v) => v === undefined) || !/^-?\d{1,19}$/.test(seedText);
    if (bad) {
      show("Rates are percentages (at most two decimals), latencies whole milliseconds, the seed a whole number.");
      return;
    }
    const [errorRateBps, timeoutRateBps, declineRateBps] = rates as number[];
    const [latencyP50Ms, latencyP99Ms] = latencies as number[];
    const request = {
      merchantId,
      gateway: gateway.value,
      errorRateBps,
      timeoutRateBps,
      declineRateBps,
      declineCode: code.value.trim(),
      latencyP50Ms,
      latencyP99Ms,
      seed: BigInt(seedText),
    };
    act(() => call(() => simulator.setChaosProfile(request)));
  };
  const clearAll = () => act(() => call(() => simulator.clearChaosProfile({ merchantId, gateway: "" })));
  return h(
    "div",
    { class: "filters", id: "chaos-form" },
    ...([
      ["gateway", gateway],
      ["errors %", errors],
      ["timeouts %", timeouts],
      ["declines %", declines],
      ["decline code", code],
      ["latency p50 ms", p50],
      ["p99 ms", p99],
      ["seed", seed],
    ] as const).map(([label, input]) => h("label", { class: "field" }, label, input)),
    h("button", { type: "button", "data-action": "set-chaos", onclick: set }, "Set profile"),
    profiles.length ? h("button", { type: "button", "data-action": "clear-all-chaos", onclick: clearAll }, "Clear all") : "",
  );
}

/** The chaos section: the profiles in force and the form. */
export function chaosSection(profiles: ChaosProfile[], merchantId: string, act: Act, show: (text: string) => void): HTMLElement[] {
  const headings = ["Gateway", "Errors", "Timeouts", "Declines", "Decline code", "Latency p50 / p99", "Seed", "Draws", "Set (UTC)", ""];
  return [
    h("h2", {}, "Chaos profiles"),
    h("p", { class: "hint" }, "Seeded random errors, timeouts, declines and latency per gateway: the same seed and the same calls give the same outcomes."),
    profileForm(profiles, merchantId, act, show),
    table({ id: "chaos" }, headings, profiles.map((p) => profileRow(p, merchantId, act)), "No chaos profile is set."),
  ];
}
