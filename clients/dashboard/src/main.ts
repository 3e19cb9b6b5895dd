// The single-page app: a hash router (#/payments, #/payments/pay_…, #/disputes/dp_…,
// #/analytics…) over pages that each build their own DOM and stop their own streams when left.
import "./style.css";
import { currentUser, isAdmin, logout, onSessionChange } from "./api.js";
import { h } from "./dom.js";
import { renderAnalytics } from "./pages/analytics.js";
import { renderApiKeys } from "./pages/api-keys.js";
import { renderDispute } from "./pages/dispute.js";
import { renderDisputes } from "./pages/disputes.js";
import { renderLogin } from "./pages/login.js";
import { renderPayment } from "./pages/payment.js";
import { renderPayments } from "./pages/payments.js";
import { renderSimulator } from "./pages/simulator.js";
import { renderWebhooks } from "./pages/webhooks.js";
import { scope, setScope } from "./scope.js";

/** A page draws into its element and returns what stops its work (streams, timers). */
export type Page = (root: HTMLElement, argument: string) => (() => void) | void;

const PAGES: Record<string, { title: string; page: Page }> = {
  payments: { title: "Payments", page: renderPayments },
  disputes: { title: "Disputes", page: renderDisputes },
  analytics: { title: "Analytics", page: renderAnalytics },
  simulator: { title: "Simulator", page: renderSimulator },
  webhooks: { title: "Webhooks", page: renderWebhooks },
  keys: { title: "API keys", page: renderApiKeys },
};

/** The page of one item of a list (#/payments/pay_…). */
const DETAILS: Record<string, Page> = { payments: renderPayment, disputes: renderDispute };

const app = document.getElementById("app") as HTMLElement;
let stopPage: (() => void) | void;

function navigation(): HTMLElement {
  const user = currentUser();
  const links = Object.entries(PAGES).map(([path, { title }]) =>
    h("a", { href: `#/${path}`, "data-nav": path }, title),
  );
  const scopeInput = h("input", {
    id: "scope-merchant",
    placeholder: "all merchants",
    value: scope(),
    "aria-label": "Merchant id to look at",
  });
  scopeInput.addEventListener("change", () => {
    setScope(scopeInput.value.trim());
    route();
  });
  return h(
    "header",
    {},
    h("strong", { class: "brand" }, "paysim"),
    h("nav", {}, ...links),
    isAdmin() ? h("label", { class: "scope" }, "Merchant ", scopeInput) : null,
    h("span", { class: "who", "data-testid": "who" }, user ? user.email : ""),
    h("button", { type: "button", id: "logout", onclick: () => void logout() }, "Log out"),
  );
}

function route(): void {
  stopPage?.();
  stopPage = undefined;
  const main = h("main", {});
  if (!currentUser()) {
    app.replaceChildren(main);
    renderLogin(main);
    return;
  }
  const [, name = "payments", argument = ""] = window.location.hash.split("/");
  const entry = PAGES[name] ?? PAGES.payments;
  const page = (argument && DETAILS[name]) || entry.page;
  app.replaceChildren(navigation(), main);
  for (const link of app.querySelectorAll<HTMLAnchorElement>("nav a")) {
    link.classList.toggle("current", link.dataset.nav === name);
  }
  document.title = `${entry.title} · paysim`;
  stopPage = page(main, decodeURIComponent(argument));
}

window.addEventListener("hashchange", route);
onSessionChange(route);
route();
