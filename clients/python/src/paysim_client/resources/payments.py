"""``client.payments``: create, read, list, capture, void and refund card payments.

Declines are results: ``create`` returns the payment with status ``PAYMENT_STATUS_DECLINED``
and a ``decline`` (code, message, whether a retry may succeed); it raises only when the request
could not be processed. Every mutation carries an idempotency key (the caller's, or a fresh one)
that the client reuses for its own retries, so a retry never charges twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from paysim_proto.v1 import events_pb2, payment_pb2

from paysim_client._blocking import blocking, blocking_pager, blocking_watch
from paysim_client._generated import rpcs
from paysim_client.config import DEFAULT_RECONNECT, ReconnectPolicy, RetryPolicy, SimulationOverride
from paysim_client.pagers import AsyncPager, Page
from paysim_client.resources._base import AsyncResource, BlockingResource, timestamp
from paysim_client.watch import AsyncWatcher


class AsyncPayments(AsyncResource):
    """Payments of the caller's merchant (an admin names the merchant in ``merchant_id``)."""

    async def create(
        self,
        *,
        amount_minor: int,
        card: payment_pb2.CardInput | None = None,
        upi: payment_pb2.UpiInput | None = None,
        paypal_wallet: payment_pb2.PayPalWalletInput | None = None,
        currency_code: str = "",
        capture_method: payment_pb2.CaptureMethod.ValueType = payment_pb2.CAPTURE_METHOD_UNSPECIFIED,
        customer_id: str = "",
        description: str = "",
        metadata: Mapping[str, str] | None = None,
        merchant_id: str = "",
        idempotency_key: str | None = None,
        simulate: SimulationOverride | None = None,
        test_clock_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> payment_pb2.Payment:
        """Create a payment and authorize it; with automatic capture (the default) capture it too.

        Pay with exactly one of ``card``, ``upi`` (razorpay) or ``paypal_wallet`` (paypal).
        ``amount_minor`` is in the currency's minor unit (1999 USD = $19.99); ``currency_code``
        empty means the merchant's default. ``capture_method=CAPTURE_METHOD_MANUAL`` stops at
        ``AUTHORIZED`` for a later :meth:`capture` or :meth:`void`. ``simulate`` forces an outcome
        or a gateway latency for this one request. Returns the payment, declined ones included;
        one that needs 3-D Secure comes back ``PAYMENT_STATUS_REQUIRES_ACTION`` with
        ``next_action.three_ds_challenge`` (see ``client.three_ds``). ``test_clock_id`` puts the
        payment on a test clock (``client.test_clocks``): its times, expiries and refund
        settlements follow that clock; a customer's payment lives on the customer's clock.
        """
        if sum(method is not None for method in (card, upi, paypal_wallet)) > 1:
            raise ValueError("pay with one of card, upi or paypal_wallet")
        request = payment_pb2.CreatePaymentRequest(
            merchant_id=merchant_id,
            amount_minor=amount_minor,
            currency_code=currency_code,
            card=card,
            upi=upi,
            paypal_wallet=paypal_wallet,
            customer_id=customer_id,
            description=description,
            metadata=dict(metadata or {}),
            capture_method=capture_method,
            test_clock_id=test_clock_id,
        )
        reply = await self._transport.call(
            rpcs.CREATE_PAYMENT,
            request,
            idempotency_key=idempotency_key,
            metadata=simulate.metadata() if simulate is not None else (),
            timeout=timeout,
            retry=retry,
        )
        return reply.payment

    async def get(
        self, payment_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> payment_pb2.Payment:
        """The payment as it is now."""
        reply = await self._transport.call(
            rpcs.GET_PAYMENT, payment_pb2.GetPaymentRequest(payment_id=payment_id), timeout=timeout, retry=retry
        )
        return reply.payment

    def list(
        self,
        *,
        statuses: Sequence[payment_pb2.PaymentStatus.ValueType] = (),
        customer_id: str = "",
        min_amount_minor: int | None = None,
        max_amount_minor: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        card_last4: str = "",
        merchant_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[payment_pb2.Payment]:
        """The caller's payments, newest first, filtered; ``async for`` fetches page after page.

        ``page_size`` is per request (0: the server's default of 50, at most 500); ``timeout`` and
        ``retry`` apply to each page's request.
        """
        return self._listing(
            rpcs.LIST_PAYMENTS,
            lambda token: payment_pb2.ListPaymentsRequest(
                merchant_id=merchant_id,
                page_size=page_size,
                statuses=statuses,
                customer_id=customer_id,
                min_amount_minor=min_amount_minor,
                max_amount_minor=max_amount_minor,
                created_after=timestamp(created_after),
                created_before=timestamp(created_before),
                card_last4=card_last4,
                page_token=token,
            ),
            lambda reply: Page(reply.payments, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    async def capture(
        self,
        payment_id: str,
        *,
        amount_minor: int = 0,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> payment_pb2.Payment:
        """Capture an ``AUTHORIZED`` payment: ``amount_minor`` of it (0: all), once.

        Raises :class:`~paysim_client.errors.PaymentNotCapturable` or
        :class:`~paysim_client.errors.AmountExceedsAuthorized` when that is not possible, and
        :class:`~paysim_client.errors.AuthorizationExpired` past the authorization's 7 days.
        """
        reply = await self._transport.call(
            rpcs.CAPTURE_PAYMENT,
            payment_pb2.CapturePaymentRequest(payment_id=payment_id, amount_minor=amount_minor),
            idempotency_key=idempotency_key,
            timeout=timeout,
            retry=retry,
        )
        return reply.payment

    async def void(
        self,
        payment_id: str,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> payment_pb2.Payment:
        """Release an ``AUTHORIZED`` payment without capturing it (``PaymentNotVoidable`` otherwise)."""
        reply = await self._transport.call(
            rpcs.VOID_PAYMENT,
            payment_pb2.VoidPaymentRequest(payment_id=payment_id),
            idempotency_key=idempotency_key,
            timeout=timeout,
            retry=retry,
        )
        return reply.payment

    async def refund(
        self,
        payment_id: str,
        *,
        amount_minor: int = 0,
        reason: str = "",
        idempotency_key: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> payment_pb2.RefundPaymentResponse:
        """Refund ``amount_minor`` (0: all that is left) of a captured payment.

        Returns the new refund (``refund``; its ``status`` is ``REFUND_STATUS_FAILED`` if the
        gateway refused it) and the payment after it (``payment``). Raises
        :class:`~paysim_client.errors.AmountExceedsRefundable` or
        :class:`~paysim_client.errors.PaymentNotRefundable` when that is not possible.
        """
        return await self._transport.call(
            rpcs.REFUND_PAYMENT,
            payment_pb2.RefundPaymentRequest(payment_id=payment_id, amount_minor=amount_minor, reason=reason),
            idempotency_key=idempotency_key,
            timeout=timeout,
            retry=retry,
        )

    def list_refunds(
        self,
        payment_id: str,
        *,
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[payment_pb2.Refund]:
        """The payment's refunds, oldest first, page after page."""

        return self._listing(
            rpcs.LIST_REFUNDS,
            lambda token: payment_pb2.ListRefundsRequest(payment_id=payment_id, page_size=page_size, page_token=token),
            lambda reply: Page(reply.refunds, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    def events(
        self,
        payment_id: str,
        *,
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[payment_pb2.PaymentEvent]:
        """The payment's events (its whole history) in version order, page after page."""

        return self._listing(
            rpcs.LIST_PAYMENT_EVENTS,
            lambda token: payment_pb2.ListPaymentEventsRequest(
                payment_id=payment_id, page_size=page_size, page_token=token
            ),
            lambda reply: Page(reply.events, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    def watch(
        self,
        *,
        payment_id: str = "",
        merchant_id: str = "",
        event_types: Sequence[str] = (),
        after_seq: int | None = None,
        start: events_pb2.StreamStart.ValueType = events_pb2.STREAM_START_UNSPECIFIED,
        reconnect: ReconnectPolicy = DEFAULT_RECONNECT,
        stall_timeout: float | None = None,
    ) -> AsyncWatcher:
        """Payment events as they are committed, in ``seq`` order, for as long as you iterate.

        ``after_seq=None`` (the default) starts from now; ``after_seq=n`` first replays every
        matching event after the cursor ``n`` (0: the whole history), then continues live.
        ``start`` may say the same explicitly (``STREAM_START_AFTER_SEQ`` without ``after_seq``
        replays everything). Filters combine: ``payment_id``, ``merchant_id`` (admins),
        ``event_types`` such as ``["payment.captured", "refund.succeeded"]``; a merchant sees
        its own payments, an admin every merchant's.

        The watcher reopens its stream by itself, from its cursor, when the server stops or
        restarts, the connection breaks, the reader falls behind or too many streams are open,
        waiting as ``reconnect`` says (for ever by default): nothing is lost or repeated. With
        ``stall_timeout`` (seconds, above the server's heartbeat interval of 15 s) a connection
        silent that long is taken for dead and replaced. Other errors are raised from the
        iteration. ``watcher.cursor`` is where to resume later. Use ``async with`` (``with`` on
        the blocking client), which opens the stream before the block and closes it after, or
        close it yourself (``aclose()``; ``close()``).
        """
        return AsyncWatcher(
            self._transport,
            payment_id=payment_id,
            merchant_id=merchant_id,
            event_types=event_types,
            after_seq=after_seq,
            start=start,
            reconnect=reconnect,
            stall_timeout=stall_timeout,
        )


class Payments(BlockingResource[AsyncPayments]):
    """Payments of the caller's merchant (blocking); see :class:`AsyncPayments`."""

    create = blocking(AsyncPayments.create)
    get = blocking(AsyncPayments.get)
    list = blocking_pager(AsyncPayments.list)
    capture = blocking(AsyncPayments.capture)
    void = blocking(AsyncPayments.void)
    refund = blocking(AsyncPayments.refund)
    list_refunds = blocking_pager(AsyncPayments.list_refunds)
    events = blocking_pager(AsyncPayments.events)
    watch = blocking_watch(AsyncPayments.watch)
