"""paysim.v1.AnalyticsService."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

import grpc
from paysim_proto.v1 import analytics_pb2, analytics_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.api.pages import next_token, read_page_request
from paysim.contract.timestamps import timestamp
from paysim.domain import analytics_figures as figures
from paysim.domain import currency
from paysim.domain.analytics import LATENCY_BOUNDS_MS, PAYMENT_COUNTERS, PaymentRow
from paysim.services.analytics import AnalyticsService, TimeRange
from paysim.store.analytics_reader import GatewayTotals

Context = grpc.aio.ServicerContext[Any, Any]

_SIZES = {
    analytics_pb2.BUCKET_SIZE_MINUTE: "m",
    analytics_pb2.BUCKET_SIZE_HOUR: "h",
    analytics_pb2.BUCKET_SIZE_DAY: "d",
}
_DIMENSIONS = {
    analytics_pb2.METRICS_DIMENSION_UNSPECIFIED: "",
    analytics_pb2.METRICS_DIMENSION_CURRENCY: "currency",
    analytics_pb2.METRICS_DIMENSION_GATEWAY: "gateway",
    analytics_pb2.METRICS_DIMENSION_METHOD: "method",
    analytics_pb2.METRICS_DIMENSION_CARD_BRAND: "brand",
    analytics_pb2.METRICS_DIMENSION_DECLINE_CODE: "decline_code",
    analytics_pb2.METRICS_DIMENSION_STATUS: "status",
}


def _range(message: analytics_pb2.TimeRange, present: bool) -> TimeRange | None:
    if not present:
        return None
    start = message.start_time.ToDatetime(tzinfo=UTC) if message.HasField("start_time") else None
    end = message.end_time.ToDatetime(tzinfo=UTC) if message.HasField("end_time") else None
    return TimeRange(start, end)


def metrics(counts: Mapping[str, int]) -> analytics_pb2.PaymentMetrics:
    success, decline = figures.rates(counts)
    fields = {name: counts.get(name, 0) for name in PAYMENT_COUNTERS if name != "capture_latency_ms"}
    return analytics_pb2.PaymentMetrics(
        **fields,
        success_rate=success,
        decline_rate=decline,
        mean_authorization_to_capture_ms=figures.mean(counts.get("capture_latency_ms", 0), counts.get("captured", 0)),
    )


def _gateway(g: GatewayTotals) -> analytics_pb2.GatewayPerformance:
    c = g.counts
    histogram = [c[f"lat_{i}"] for i in range(len(LATENCY_BOUNDS_MS) + 1)]
    calls = sum(histogram)
    return analytics_pb2.GatewayPerformance(
        gateway=g.gateway,
        attempts=c["attempts"],
        approved=c["approved"],
        declined=c["declined"],
        errors=c["errors"],
        timeouts=c["timeouts"],
        breaker_rejections=c["breaker_rejections"],
        latency_p50_ms=figures.percentile(histogram, 0.50, g.latency_max_ms),
        latency_p95_ms=figures.percentile(histogram, 0.95, g.latency_max_ms),
        latency_p99_ms=figures.percentile(histogram, 0.99, g.latency_max_ms),
        mean_latency_ms=figures.mean(c["latency_ms"], calls),
    )


def _match(p: PaymentRow) -> analytics_pb2.PaymentMatch:
    return analytics_pb2.PaymentMatch(
        id=p.id,
        merchant_id=p.merchant_id,
        customer_id=p.customer_id,
        status=p.status,
        amount=p.amount,
        currency=p.currency,
        card_last4=p.card_last4,
        description=p.description,
        create_time=timestamp(p.created_at),
    )


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, analytics: AnalyticsService) -> None:
        self._analytics = analytics

    async def GetPaymentMetrics(
        self, request: analytics_pb2.GetPaymentMetricsRequest, context: Context
    ) -> analytics_pb2.GetPaymentMetricsResponse:
        buckets = await self._analytics.payment_metrics(
            require_principal(),
            request.merchant_id,
            _range(request.range, request.HasField("range")),
            _SIZES.get(request.bucket_size, ""),
            _DIMENSIONS.get(request.group_by, ""),
        )
        total: dict[str, int] = {}
        for b in buckets:
            for name, value in b.counts.items():
                total[name] = total.get(name, 0) + value
        return analytics_pb2.GetPaymentMetricsResponse(
            buckets=[
                analytics_pb2.MetricsBucket(start_time=timestamp(b.start), group=b.group, metrics=metrics(b.counts))
                for b in buckets
            ],
            total=metrics(total),
        )

    async def ListTopCustomers(
        self, request: analytics_pb2.ListTopCustomersRequest, context: Context
    ) -> analytics_pb2.ListTopCustomersResponse:
        found = await self._analytics.top_customers(
            require_principal(),
            request.merchant_id,
            _range(request.range, request.HasField("range")),
            by_count=request.rank_by == analytics_pb2.CUSTOMER_RANKING_COUNT,
            limit=request.limit,
            currency=currency.normalize(request.currency),
        )
        return analytics_pb2.ListTopCustomersResponse(
            customers=[
                analytics_pb2.TopCustomer(
                    merchant_id=c.merchant_id,
                    customer_id=c.customer_id,
                    payments=c.payments,
                    captured_volume=c.captured_volume,
                )
                for c in found
            ]
        )

    async def GetGatewayPerformance(
        self, request: analytics_pb2.GetGatewayPerformanceRequest, context: Context
    ) -> analytics_pb2.GetGatewayPerformanceResponse:
        found = await self._analytics.gateway_performance(
            require_principal(), request.merchant_id, _range(request.range, request.HasField("range"))
        )
        return analytics_pb2.GetGatewayPerformanceResponse(gateways=[_gateway(g) for g in found])

    async def SearchPayments(
        self, request: analytics_pb2.SearchPaymentsRequest, context: Context
    ) -> analytics_pb2.SearchPaymentsResponse:
        query, filters = "analytics_search", (request.merchant_id, request.query.strip().lower())
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._analytics.search(
            require_principal(), request.merchant_id, request.query, cursor, limit
        )
        return analytics_pb2.SearchPaymentsResponse(
            payments=[_match(p) for p in rows], next_page_token=next_token(query, filters, rows, more)
        )
