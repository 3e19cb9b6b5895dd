import { describe, login } from "../api.js";
import { errorLine, h } from "../dom.js";

export function renderLogin(root: HTMLElement): void {
  const email = h("input", { id: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const submit = h("button", { type: "submit", id: "login" }, "Log in");
  const problem = errorLine();
  const form = h(
    "form",
    { class: "login" },
    h("h1", {}, "paysim"),
    h("label", {}, "Email", email),
    h("label", {}, "Password", password),
    submit,
    problem.element,
    h("p", { class: "hint" }, "You stay logged in until you reload or close this page: credentials are kept in memory only."),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    problem.hide();
    login(email.value, password.value)
      .then(() => {
        if (!window.location.hash) window.location.hash = "#/payments";
      })
      .catch((error: unknown) => {
        problem.show(describe(error));
        submit.disabled = false;
      });
  });
  root.append(form);
  email.focus();
}
