// Charts drawn as SVG by this code (no chart library, nothing from another host). Every mark
// carries its figure in a data- attribute and a <title>, so what a person hovers over and what
// a test reads are the same numbers the API answered.
import { svg } from "./dom.js";

export interface Point {
  label: string;
  value: number;
}

const WIDTH = 720;
const HEIGHT = 200;
const PAD = 32;

/** Bars for counts, and a line for a rate in [0, 1] over the same buckets. */
export function barsWithRate(id: string, bars: Point[], rates: (number | null)[]): SVGElement {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const step = (WIDTH - 2 * PAD) / Math.max(1, bars.length);
  const y = (value: number): number => HEIGHT - PAD - (value / max) * (HEIGHT - 2 * PAD);
  const rateY = (rate: number): number => HEIGHT - PAD - rate * (HEIGHT - 2 * PAD);
  const chart = svg("svg", { id, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img" });
  chart.append(
    svg("line", { x1: PAD, y1: HEIGHT - PAD, x2: WIDTH - PAD, y2: HEIGHT - PAD, stroke: "#888" }),
    svg("text", { x: 4, y: PAD - 8, class: "axis" }, `max ${max}`),
    svg("text", { x: WIDTH - PAD - 60, y: PAD - 8, class: "axis rate" }, "success rate"),
  );
  bars.forEach((bar, index) => {
    const top = y(bar.value);
    chart.append(
      svg(
        "rect",
        {
          x: PAD + index * step + step * 0.1,
          y: top,
          width: Math.max(1, step * 0.8),
          height: HEIGHT - PAD - top,
          fill: "#4a7bd0",
          "data-bucket": bar.label,
          "data-value": bar.value,
        },
        svg("title", {}, `${bar.label}: ${bar.value}`),
      ),
    );
  });
  const points = rates
    .map((rate, index) => (rate === null ? null : `${PAD + index * step + step / 2},${rateY(rate)}`))
    .filter((p): p is string => p !== null);
  if (points.length) chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#1a9c5b", "stroke-width": 2 }));
  return chart;
}

/** Horizontal bars, one per label, longest first. */
export function horizontalBars(id: string, items: Point[]): SVGElement {
  const rowHeight = 24;
  const height = Math.max(1, items.length) * rowHeight + 8;
  const max = Math.max(1, ...items.map((i) => i.value));
  const chart = svg("svg", { id, viewBox: `0 0 ${WIDTH} ${height}`, class: "chart", role: "img" });
  items.forEach((item, index) => {
    const top = 4 + index * rowHeight;
    const width = (item.value / max) * (WIDTH - 260);
    chart.append(
      svg("text", { x: 4, y: top + 16, class: "label" }, item.label),
      svg(
        "rect",
        { x: 200, y: top + 4, width: Math.max(1, width), height: rowHeight - 8, fill: "#d0674a", "data-label": item.label, "data-value": item.value },
        svg("title", {}, `${item.label}: ${item.value}`),
      ),
      svg("text", { x: 206 + width, y: top + 16, class: "value" }, String(item.value)),
    );
  });
  return chart;
}
