// Test clocks on the simulator page: the merchant's clocks, a new one at a frozen time, an advance
// to a later time and a delete. An advance runs in the background: while a clock reads advancing
// the section reads the clocks again every half second, until each is ready at its new time.
import { TestClockStatus, type TestClock } from "@gen/paysim/v1/clock_pb.js";
import { call, clocks, describe } from "../api.js";
import { h, table } from "../dom.js";
import { enumName, parseUtcInput, time, utcInput } from "../format.js";

const POLL_MS = 500;

type Act = (run: () => Promise<unknown>) => void;

export interface ClockSection {
  element: HTMLElement;
  /** Read the clocks again (and keep reading while one advances). */
  reload: () => Promise<void>;
  /** Stop reading (the page is left). */
  stop: () => void;
}

function clockRow(c: TestClock, act: Act, show: (text: string) => void): HTMLTableRowElement {
  const status = enumName(TestClockStatus, c.status);
  const advancing = c.status === TestClockStatus.ADVANCING;
  const target = h("input", { type: "datetime-local", step: 1, "data-field": "advance-to", "aria-label": "Advance to (UTC)", value: utcInput(c.frozenTime) });
  const advance = (): void => {
    const frozenTime = parseUtcInput(target.value);
    if (!frozenTime) {
      show("Pick the time to advance to (UTC).");
      return;
    }
    act(() => call(() => clocks.advanceTestClock({ testClockId: c.id, frozenTime })));
  };
  const remove = () => act(() => call(() => clocks.deleteTestClock({ testClockId: c.id })));
  return h(
    "tr",
    { "data-clock-id": c.id, "data-status": status },
    h("td", {}, c.id),
    h("td", {}, c.name),
    h("td", { "data-testid": "frozen-time" }, time(c.frozenTime)),
    h("td", { "data-testid": "status" }, h("span", { class: `status ${status}` }, status), advancing ? ` to ${time(c.advancingTo)}` : ""),
    h("td", {}, time(c.createTime)),
    h(
      "td",
      {},
      target,
      h("button", { type: "button", "data-action": "advance", disabled: advancing, onclick: advance }, "Advance"),
      h("button", { type: "button", "data-action": "delete-clock", onclick: remove }, "Delete"),
    ),
  );
}

/** The clocks of `merchantId` ("" for the caller's own). Failures go to `show`. */
export function clockSection(merchantId: string, show: (text: string) => void): ClockSection {
  const list = h("div", { id: "clocks" });
  const name = h("input", { id: "clock-name", placeholder: "name", "aria-label": "Clock name", size: 16 });
  const now = new Date().toISOString().slice(0, 19);
  const start = h("input", { id: "clock-time", type: "datetime-local", step: 1, "aria-label": "Frozen time (UTC)", value: now });
  const form = h("form", { class: "filters", id: "clock-form" }, name, start, h("span", { class: "hint" }, "UTC"), h("button", { type: "submit" }, "Create clock"));
  const element = h("div", {}, h("h2", {}, "Test clocks"), form, list);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let generation = 0; // reads that cross (a poll and an action's): only the latest is shown

  async function reload(): Promise<void> {
    const mine = ++generation;
    clearTimeout(timer);
    timer = undefined;
    try {
      const reply = await call(() => clocks.listTestClocks({ merchantId }));
      if (stopped || mine !== generation) return;
      const headings = ["Clock", "Name", "Time (UTC)", "Status", "Created", "Advance to (UTC)"];
      list.replaceChildren(table({}, headings, reply.testClocks.map((c) => clockRow(c, act, show)), "No test clocks."));
      if (reply.testClocks.some((c) => c.status === TestClockStatus.ADVANCING)) {
        clearTimeout(timer);
        timer = setTimeout(() => void reload(), POLL_MS);
      }
    } catch (error) {
      if (!stopped && mine === generation) show(describe(error));
    }
  }
  const act: Act = (run) => {
    run()
      .then(reload)
      .catch((error: unknown) => show(describe(error)));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const frozenTime = parseUtcInput(start.value);
    if (!frozenTime) {
      show("Pick the clock's time (UTC).");
      return;
    }
    act(async () => {
      await call(() => clocks.createTestClock({ merchantId, name: name.value.trim(), frozenTime }));
      name.value = "";
    });
  });
  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
  };
  return { element, reload, stop };
}
