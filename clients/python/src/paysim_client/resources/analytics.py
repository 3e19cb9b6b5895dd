"""``client.analytics``: payment metrics, top customers, gateway performance and payment search,
read from the server's analytics read model."""

from __future__ import annotations

from datetime import datetime

from paysim_proto.v1 import analytics_pb2

from paysim_client._blocking import blocking, blocking_pager
from paysim_client._generated import rpcs
from paysim_client.config import RetryPolicy
from paysim_client.pagers import AsyncPager, Page
from paysim_client.resources._base import AsyncResource, BlockingResource, timestamp

BUCKET_SIZES = {
    "minute": analytics_pb2.BUCKET_SIZE_MINUTE,
    "hour": analytics_pb2.BUCKET_SIZE_HOUR,
    "day": analytics_pb2.BUCKET_SIZE_DAY,
}
DIMENSIONS = {
    "": analytics_pb2.METRICS_DIMENSION_UNSPECIFIED,
    "currency": analytics_pb2.METRICS_DIMENSION_CURRENCY,
    "gateway": analytics_pb2.METRICS_DIMENSION_GATEWAY,
    "method": analytics_pb2.METRICS_DIMENSION_METHOD,
    "card_brand": analytics_pb2.METRICS_DIMENSION_CARD_BRAND,
    "decline_code": analytics_pb2.METRICS_DIMENSION_DECLINE_CODE,
    "status": analytics_pb2.METRICS_DIMENSION_STATUS,
}


def _range(start: datetime, end: datetime) -> analytics_pb2.TimeRange:
    return analytics_pb2.TimeRange(start_time=timestamp(start), end_time=timestamp(end))


class AsyncAnalytics(AsyncResource):
    """Figures of the caller's merchant; an admin sees the platform, or one merchant named in
    ``merchant_id``. Ranges are ``[start, end)``; naive datetimes are UTC."""

    async def payment_metrics(
        self,
        start: datetime,
        end: datetime,
        *,
        bucket: str = "hour",
        group_by: str = "",
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> analytics_pb2.GetPaymentMetricsResponse:
        """Counts and volumes per ``bucket`` (``minute``, ``hour``, ``day``), optionally split by
        ``group_by`` (``currency``, ``gateway``, ``method``, ``card_brand``, ``decline_code``, ``status``)."""
        request = analytics_pb2.GetPaymentMetricsRequest(
            merchant_id=merchant_id,
            range=_range(start, end),
            bucket_size=BUCKET_SIZES[bucket],
            group_by=DIMENSIONS[group_by],
        )
        return await self._transport.call(rpcs.GET_PAYMENT_METRICS, request, timeout=timeout, retry=retry)

    async def top_customers(
        self,
        start: datetime,
        end: datetime,
        *,
        by: str = "volume",
        limit: int = 10,
        currency: str = "",
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> list[analytics_pb2.TopCustomer]:
        """The customers with the most captured volume (``by="volume"``) or payments (``by="count"``)."""
        ranking = analytics_pb2.CUSTOMER_RANKING_COUNT if by == "count" else analytics_pb2.CUSTOMER_RANKING_VOLUME
        request = analytics_pb2.ListTopCustomersRequest(
            merchant_id=merchant_id, range=_range(start, end), rank_by=ranking, limit=limit, currency=currency
        )
        reply = await self._transport.call(rpcs.LIST_TOP_CUSTOMERS, request, timeout=timeout, retry=retry)
        return list(reply.customers)

    async def gateway_performance(
        self,
        start: datetime,
        end: datetime,
        *,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> list[analytics_pb2.GatewayPerformance]:
        """Attempts, outcomes and latency percentiles per gateway."""
        request = analytics_pb2.GetGatewayPerformanceRequest(merchant_id=merchant_id, range=_range(start, end))
        reply = await self._transport.call(rpcs.GET_GATEWAY_PERFORMANCE, request, timeout=timeout, retry=retry)
        return list(reply.gateways)

    def search(
        self,
        query: str,
        *,
        merchant_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[analytics_pb2.PaymentMatch]:
        """Payments whose id, description, metadata values, customer or card last four contain ``query``."""
        return self._listing(
            rpcs.SEARCH_PAYMENTS,
            lambda token: analytics_pb2.SearchPaymentsRequest(
                merchant_id=merchant_id, query=query, page_size=page_size, page_token=token
            ),
            lambda reply: Page(reply.payments, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )


class Analytics(BlockingResource[AsyncAnalytics]):
    """Analytics (blocking); see :class:`AsyncAnalytics`."""

    payment_metrics = blocking(AsyncAnalytics.payment_metrics)
    top_customers = blocking(AsyncAnalytics.top_customers)
    gateway_performance = blocking(AsyncAnalytics.gateway_performance)
    search = blocking_pager(AsyncAnalytics.search)
