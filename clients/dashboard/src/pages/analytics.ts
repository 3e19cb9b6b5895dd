// Analytics from the read model (AnalyticsService): payments and success rate over time, volume
// by currency, declines by code, gateway performance.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  BucketSize,
  MetricsDimension,
  type GatewayPerformance,
  type GetPaymentMetricsResponse,
  type MetricsBucket,
  type PaymentMetrics,
} from "@gen/paysim/v1/analytics_pb.js";
import { analytics, call, describe } from "../api.js";
import { barsWithRate, horizontalBars, type Point } from "../chart.js";
import { errorLine, h, table } from "../dom.js";
import { money, percent } from "../format.js";
import { scope } from "../scope.js";

interface Span {
  label: string;
  size: BucketSize;
  widthMs: number;
  count: number;
}

const HOUR_MS = 3_600_000;
const SPANS: Span[] = [
  { label: "last 24 hours, by hour", size: BucketSize.HOUR, widthMs: HOUR_MS, count: 24 },
  { label: "last 60 minutes, by minute", size: BucketSize.MINUTE, widthMs: 60_000, count: 60 },
  { label: "last 30 days, by day", size: BucketSize.DAY, widthMs: 24 * HOUR_MS, count: 30 },
];

interface Window {
  start: Date;
  end: Date;
}

/** The span's buckets up to the end of the current one. */
function windowOf(span: Span): Window {
  const end = (Math.floor(Date.now() / span.widthMs) + 1) * span.widthMs;
  return { start: new Date(end - span.count * span.widthMs), end: new Date(end) };
}

/** Split series are kept in hours and days: a minute span's splits cover its whole hours. */
function splitWindow(span: Span, window: Window): Window {
  if (span.size !== BucketSize.MINUTE) return window;
  const start = Math.floor(window.start.getTime() / HOUR_MS) * HOUR_MS;
  return { start: new Date(start), end: new Date(Math.ceil(window.end.getTime() / HOUR_MS) * HOUR_MS) };
}

function range(window: Window) {
  return { startTime: timestampFromDate(window.start), endTime: timestampFromDate(window.end) };
}

function sumBy(buckets: MetricsBucket[], pick: (m: PaymentMetrics) => bigint): [string, bigint][] {
  const sums = new Map<string, bigint>();
  for (const bucket of buckets) {
    if (bucket.metrics) sums.set(bucket.group, (sums.get(bucket.group) ?? 0n) + pick(bucket.metrics));
  }
  return [...sums];
}

async function fetchFigures(span: Span) {
  const window = windowOf(span);
  const split = splitWindow(span, window);
  const splitSize = span.size === BucketSize.MINUTE ? BucketSize.HOUR : span.size;
  const merchantId = scope();
  const grouped = (groupBy: MetricsDimension) =>
    call(() => analytics.getPaymentMetrics({ merchantId, range: range(split), bucketSize: splitSize, groupBy }));
  const [series, byCurrency, byDecline, gateways] = await Promise.all([
    call(() => analytics.getPaymentMetrics({ merchantId, range: range(window), bucketSize: span.size })),
    grouped(MetricsDimension.CURRENCY),
    grouped(MetricsDimension.DECLINE_CODE),
    call(() => analytics.getGatewayPerformance({ merchantId, range: range(window) })),
  ]);
  return { window, series, byCurrency, byDecline, gateways: gateways.gateways };
}

function totals(t: PaymentMetrics | undefined): HTMLElement {
  const facts: [string, string, string][] = [
    ["Payments", "total-payments", String(t?.payments ?? 0n)],
    ["Authorized", "total-authorized", String(t?.authorized ?? 0n)],
    ["Captured", "total-captured", String(t?.captured ?? 0n)],
    ["Declined", "total-declined", String(t?.declined ?? 0n)],
    ["Failed", "total-failed", String(t?.failed ?? 0n)],
    ["Refunds", "total-refunds", String(t?.refunds ?? 0n)],
    ["Success rate", "total-success-rate", percent(t?.successRate ?? 0)],
    ["Decline rate", "total-decline-rate", percent(t?.declineRate ?? 0)],
  ];
  return h("dl", { class: "facts totals" }, ...facts.flatMap(([label, id, value]) => [h("dt", {}, label), h("dd", { "data-testid": id }, value)]));
}

/** Every bucket of the window, empty ones as zero (the API answers only buckets with data). */
function seriesChart(span: Span, window: Window, series: GetPaymentMetricsResponse): SVGElement {
  const byStart = new Map(series.buckets.map((b) => [b.startTime ? timestampDate(b.startTime).getTime() : 0, b.metrics]));
  const bars: Point[] = [];
  const rates: (number | null)[] = [];
  for (let at = window.start.getTime(); at < window.end.getTime(); at += span.widthMs) {
    const metrics = byStart.get(at);
    bars.push({ label: new Date(at).toISOString().slice(0, 16).replace("T", " "), value: Number(metrics?.payments ?? 0n) });
    rates.push(metrics && metrics.authorized + metrics.declined + metrics.failed > 0n ? metrics.successRate : null);
  }
  return barsWithRate("volume-chart", bars, rates);
}

function volumes(byCurrency: GetPaymentMetricsResponse): HTMLElement {
  const rows = sumBy(byCurrency.buckets, (m) => m.volume)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, minor]) => h("tr", { "data-currency": currency }, h("td", {}, currency), h("td", { class: "amount" }, money(minor, currency))));
  return table({ id: "volumes" }, ["Currency", "Volume"], rows, "No payments in this span.");
}

function declines(byDecline: GetPaymentMetricsResponse): Element {
  const items = sumBy(byDecline.buckets, (m) => m.declined)
    .filter(([code, count]) => code && count > 0n)
    .sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0))
    .map(([label, value]) => ({ label, value: Number(value) }));
  return items.length ? horizontalBars("declines-chart", items) : h("p", { class: "empty", id: "declines-chart" }, "No declines in this span.");
}

function gatewayTable(gateways: GatewayPerformance[]): HTMLElement {
  const rows = gateways.map((g) =>
    h(
      "tr",
      { "data-gateway": g.gateway },
      h("td", {}, g.gateway),
      ...[g.attempts, g.approved, g.declined, g.errors, g.timeouts, g.breakerRejections].map((n) => h("td", { class: "amount" }, n)),
      ...[g.latencyP50Ms, g.latencyP95Ms, g.latencyP99Ms].map((n) => h("td", { class: "amount" }, `${n} ms`)),
    ),
  );
  const headings = ["Gateway", "Attempts", "Approved", "Declined", "Errors", "Timeouts", "Breaker rejections", "p50", "p95", "p99"];
  return table({ id: "gateways" }, headings, rows, "No gateway calls in this span.");
}

export function renderAnalytics(root: HTMLElement): () => void {
  const spanSelect = h("select", { id: "span", "aria-label": "Time span" }, ...SPANS.map((s, i) => h("option", { value: String(i) }, s.label)));
  const refresh = h("button", { type: "button", id: "refresh" }, "Refresh");
  const problem = errorLine();
  const content = h("div", { id: "analytics" });
  root.append(h("h1", {}, "Analytics"), h("div", { class: "filters" }, spanSelect, refresh), problem.element, content);

  async function load(): Promise<void> {
    const span = SPANS[Number(spanSelect.value)] ?? SPANS[0];
    try {
      const figures = await fetchFigures(span);
      problem.hide();
      content.replaceChildren(
        totals(figures.series.total),
        h("h2", {}, "Payments and success rate"),
        seriesChart(span, figures.window, figures.series),
        h("h2", {}, "Volume by currency"),
        volumes(figures.byCurrency),
        h("h2", {}, "Declines by code"),
        declines(figures.byDecline),
        h("h2", {}, "Gateways"),
        gatewayTable(figures.gateways),
      );
    } catch (error) {
      problem.show(describe(error));
    }
  }

  spanSelect.addEventListener("change", () => void load());
  refresh.addEventListener("click", () => void load());
  void load();
  return () => undefined;
}
