// The simulator page's reset: ResetSimulation puts the merchant's simulation back to the start.
// It asks first (a second button, in the page), then says what it did.
import type { ResetSimulationResponse } from "@gen/paysim/v1/simulator_pb.js";
import { call, describe, simulator } from "../api.js";
import { h } from "../dom.js";

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function resetReport(r: ResetSimulationResponse): string {
  const done = [
    `${plural(r.faultsCleared, "gateway", "gateways")} with outages or scripts cleared`,
    `${plural(r.chaosProfilesCleared, "chaos profile", "chaos profiles")} removed`,
    `${plural(r.breakersReset, "circuit breaker", "circuit breakers")} reset`,
    `${plural(r.testClocksDeleted, "test clock", "test clocks")} deleted`,
  ];
  const kept = r.keptTestClockIds.length ? ` Kept (objects live on them, or advancing): ${r.keptTestClockIds.join(", ")}.` : "";
  return `Reset: ${done.join(", ")}.${kept}`;
}

/** The reset button of `merchantId` ("" for the caller's own); `after` reloads the page. */
export function resetSection(merchantId: string, show: (text: string) => void, after: () => Promise<void>): HTMLElement {
  const report = h("p", { class: "notice", id: "reset-report", hidden: true });
  const question =
    "Clear this merchant's own outages and scripts, its chaos profiles and circuit breakers, and delete the test clocks " +
    "nothing lives on? Payments, customers and gateway configurations stay.";
  const ask = h("button", { type: "button", id: "reset", "data-action": "reset-simulation" }, "Reset simulation…");
  const yes = h("button", { type: "button", "data-action": "confirm-reset" }, "Reset");
  const no = h("button", { type: "button", "data-action": "cancel-reset" }, "Cancel");
  const confirm = h("div", { class: "confirm", id: "reset-confirm", hidden: true }, h("p", {}, question), yes, no);
  const asking = (on: boolean): void => {
    confirm.hidden = !on;
    ask.hidden = on;
  };
  ask.addEventListener("click", () => {
    report.hidden = true;
    asking(true);
  });
  no.addEventListener("click", () => asking(false));
  yes.addEventListener("click", () => {
    yes.disabled = true;
    call(() => simulator.resetSimulation({ merchantId }))
      .then(async (reply) => {
        // The page reads everything again first: the report shows once it is current.
        await after();
        report.textContent = resetReport(reply);
        report.hidden = false;
      })
      .catch((error: unknown) => show(describe(error)))
      .finally(() => {
        yes.disabled = false;
        asking(false);
      });
  });
  return h("div", {}, h("h2", {}, "Reset"), ask, confirm, report);
}
