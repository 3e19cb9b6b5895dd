// Analytics from the read model (AnalyticsService): payments and success rate over time, volume
// by currency, declines by code, gateway performance.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BucketSize, MetricsDimension, type MetricsBucket, type PaymentMetrics } from "@gen/paysim/v1/analytics_pb.js";
import { analytics, call, describe } from "../api.js";
import { barsWithRate, horizontalBars } from "../chart.js";
import { errorLine, h } from "../dom.js";
import { money, percent } from "../format.js";
import { scope } from "../scope.js";

interface Span {
  label: string;
  size: BucketSize;
  widthMs: number;
  count: number;
}

const SPANS: Span[] = [
  { label: "last 24 hours, by hour", size: BucketSize.HOUR, widthMs: 3_600_000, count: 24 },
  { label: "last 60 minutes, by minute", size: BucketSize.MINUTE, widthMs: 60_000, count: 60 },
  { label: "last 30 days, by day", size: BucketSize.DAY, widthMs: 86_400_000, count: 30 },
];

function range(span: Span): { start: Date; end: Date } {
  const end = (Math.floor(Date.now() / span.widthMs) + 1) * span.widthMs;
  return { start: new Date(end - span.count * span.widthMs), end: new Date(end) };
}

function sumBy(buckets: MetricsBucket[], pick: (m: PaymentMetrics) => bigint): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const bucket of buckets) {
    if (!bucket.metrics) continue;
    sums.set(bucket.group, (sums.get(bucket.group) ?? 0n) + pick(bucket.metrics));
  }
  return sums;
}

function totals(total: PaymentMetrics | undefined): HTMLElement {
  const t = total;
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

export function renderAnalytics(root: HTMLElement): () => void {
  const spanSelect = h("select", { id: "span", "aria-label": "Time span" }, ...SPANS.map((s, i) => h("option", { value: String(i) }, s.label)));
  const refresh = h("button", { type: "button", id: "refresh" }, "Refresh");
  const problem = errorLine();
  const content = h("div", { id: "analytics" });
  root.append(h("h1", {}, "Analytics"), h("div", { class: "filters" }, spanSelect, refresh), problem.element, content);

  async function load(): Promise<void> {
    const span = SPANS[Number(spanSelect.value)] ?? SPANS[0];
    const { start, end } = range(span);
    const window = { startTime: timestampFromDate(start), endTime: timestampFromDate(end) };
    const merchantId = scope();
    const grouped = span.size === BucketSize.MINUTE ? BucketSize.HOUR : span.size;
    const groupedWindow = span.size === BucketSize.MINUTE ? { startTime: timestampFromDate(new Date(Math.floor(start.getTime() / 3_600_000) * 3_600_000)), endTime: timestampFromDate(new Date(Math.ceil(end.getTime() / 3_600_000) * 3_600_000)) } : window;
    try {
      const [series, byCurrency, byDecline, gateways] = await Promise.all([
        call(() => analytics.getPaymentMetrics({ merchantId, range: window, bucketSize: span.size })),
        call(() => analytics.getPaymentMetrics({ merchantId, range: groupedWindow, bucketSize: grouped, groupBy: MetricsDimension.CURRENCY })),
        call(() => analytics.getPaymentMetrics({ merchantId, range: groupedWindow, bucketSize: grouped, groupBy: MetricsDimension.DECLINE_CODE })),
        call(() => analytics.getGatewayPerformance({ merchantId, range: window })),
      ]);
      problem.hide();
      const byStart = new Map(series.buckets.map((b) => [b.startTime ? timestampDate(b.startTime).getTime() : 0, b.metrics]));
      const labels: string[] = [];
      const bars = [];
      const rates: (number | null)[] = [];
      for (let at = start.getTime(); at < end.getTime(); at += span.widthMs) {
        const metrics = byStart.get(at);
        const label = new Date(at).toISOString().slice(0, 16).replace("T", " ");
        labels.push(label);
        bars.push({ label, value: Number(metrics?.payments ?? 0n) });
        rates.push(metrics && metrics.authorized + metrics.declined + metrics.failed > 0n ? metrics.successRate : null);
      }
      const volumes = [...sumBy(byCurrency.buckets, (m) => m.volume)].sort(([a], [b]) => a.localeCompare(b));
      const declines = [...sumBy(byDecline.buckets, (m) => m.declined)]
        .filter(([code, count]) => code && count > 0n)
        .sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0))
        .map(([label, value]) => ({ label, value: Number(value) }));
      content.replaceChildren(
        totals(series.total),
        h("h2", {}, "Payments and success rate"),
        barsWithRate("volume-chart", bars, rates),
        h("h2", {}, "Volume by currency"),
        volumes.length
          ? h("table", { id: "volumes" }, h("tbody", {}, ...volumes.map(([currency, minor]) => h("tr", { "data-currency": currency }, h("td", {}, currency), h("td", { class: "amount" }, money(minor, currency))))))
          : h("p", { class: "empty" }, "No payments in this span."),
        h("h2", {}, "Declines by code"),
        declines.length ? horizontalBars("declines-chart", declines) : h("p", { class: "empty", id: "declines-chart" }, "No declines in this span."),
        h("h2", {}, "Gateways"),
        h(
          "table",
          { id: "gateways" },
          h("thead", {}, h("tr", {}, ...["Gateway", "Attempts", "Approved", "Declined", "Errors", "Timeouts", "Breaker rejections", "p50", "p95", "p99"].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            ...gateways.gateways.map((g) =>
              h(
                "tr",
                { "data-gateway": g.gateway },
                h("td", {}, g.gateway),
                ...[g.attempts, g.approved, g.declined, g.errors, g.timeouts, g.breakerRejections].map((n) => h("td", { class: "amount" }, n)),
                ...[g.latencyP50Ms, g.latencyP95Ms, g.latencyP99Ms].map((n) => h("td", { class: "amount" }, `${n} ms`)),
              ),
            ),
          ),
        ),
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
