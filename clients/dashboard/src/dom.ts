// A few helpers to build the page with DOM calls only: no HTML strings, so nothing a server
// returns (a description, a metadata value) can become markup or script.
type Child = Node | string | number | bigint | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag: string, attributes: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  append(element, ...children);
  return element;
}

export function clear(element: Element): void {
  element.replaceChildren();
}

/** A line of text that says what went wrong, or nothing. */
export function errorLine(): { element: HTMLElement; show: (text: string) => void; hide: () => void } {
  const element = h("p", { class: "error", role: "alert", hidden: true });
  return {
    element,
    show: (text) => {
      element.textContent = text;
      element.hidden = false;
    },
    hide: () => {
      element.hidden = true;
    },
  };
}

/** A table with a heading row, or a line saying it is empty. */
export function table(attributes: Attributes, headings: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (!rows.length) return h("p", { ...attributes, class: "empty" }, empty);
  return h("table", attributes, h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", {}, t)))), h("tbody", {}, ...rows));
}

/** Runs an action, then reloads the page's data; a failure is shown on the page's error line. */
export function actions(reload: () => Promise<void>, show: (text: string) => void, describe: (error: unknown) => string) {
  return (run: () => Promise<unknown>): void => {
    run()
      .then(reload)
      .catch((error: unknown) => show(describe(error)));
  };
}
