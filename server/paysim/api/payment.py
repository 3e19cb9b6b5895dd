"""paysim.v1.PaymentService."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_proto.v1 import payment_pb2, payment_pb2_grpc

from paysim.api import payment_requests
from paysim.api.call_context import require_principal
from paysim.api.pages import next_token, read_page_request
from paysim.api.request_metadata import REPLAYED_TRAILER, single_metadata
from paysim.contract import payment_messages
from paysim.contract.event_messages import payment_event
from paysim.domain import currency
from paysim.domain.overrides import OVERRIDE_HEADERS, parse_override
from paysim.domain.payment_methods import MethodType
from paysim.domain.validation import Violations
from paysim.services.idempotency import KEY_HEADER, IdempotencyKey, check_key
from paysim.services.payment_commands import CardInput, CreatePayment, PaymentResult
from paysim.services.payments import PaymentService

Context = grpc.aio.ServicerContext[Any, Any]
_SERVICE = "/paysim.v1.PaymentService/"


def idempotency_key(service: PaymentService, context: Context, method: str, request: Any) -> IdempotencyKey | None:
    """The request's ``idempotency-key`` with the keyed fingerprint of its method and parameters."""
    value = single_metadata(context, KEY_HEADER)
    if value is None:
        return None
    fingerprint = service.request_fingerprint(method, request.SerializeToString(deterministic=True))
    return IdempotencyKey(check_key(value), method, fingerprint)


def override_metadata(context: Context) -> dict[str, str]:
    """The simulation override headers the request carries."""
    return {name: value for name in OVERRIDE_HEADERS if (value := single_metadata(context, name)) is not None}


def mark_replay(context: Context, result: PaymentResult) -> None:
    if result.replayed:
        context.set_trailing_metadata((*(context.trailing_metadata() or ()), (REPLAYED_TRAILER, "true")))


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(self, payments: PaymentService) -> None:
        self._payments = payments

    async def CreatePayment(
        self, request: payment_pb2.CreatePaymentRequest, context: Context
    ) -> payment_pb2.CreatePaymentResponse:
        principal = require_principal()
        idem = idempotency_key(self._payments, context, _SERVICE + "CreatePayment", request)
        card = request.card
        method = request.WhichOneof("payment_method")
        method_type, account = MethodType.CARD, ""
        if method == "upi":
            method_type, account = MethodType.UPI, request.upi.vpa.strip()
        elif method == "paypal_wallet":
            method_type, account = MethodType.PAYPAL_WALLET, request.paypal_wallet.email.strip()
        result = await self._payments.create(
            principal,
            CreatePayment(
                merchant_id=request.merchant_id,
                amount=request.amount_minor,
                currency=currency.normalize(request.currency_code),
                card=CardInput(
                    card.number,
                    card.exp_month,
                    card.exp_year,
                    card.cvc,
                    card.holder_name,
                    card.address_line1,
                    card.address_postal_code,
                ),
                customer_id=request.customer_id,
                description=request.description,
                metadata=dict(request.metadata),
                capture_method=payment_messages.capture_method_from_proto(request.capture_method),
                override=parse_override(override_metadata(context)),
                method_type=method_type,
                method_account=account,
                test_clock_id=request.test_clock_id,
            ),
            idem,
        )
        mark_replay(context, result)
        return payment_pb2.CreatePaymentResponse(payment=payment_messages.payment(result.payment))

    async def GetPayment(
        self, request: payment_pb2.GetPaymentRequest, context: Context
    ) -> payment_pb2.GetPaymentResponse:
        state = await self._payments.get(require_principal(), request.payment_id)
        return payment_pb2.GetPaymentResponse(payment=payment_messages.payment(state))

    async def ListPayments(
        self, request: payment_pb2.ListPaymentsRequest, context: Context
    ) -> payment_pb2.ListPaymentsResponse:
        principal = require_principal()
        v = Violations()
        f = payment_requests.payment_filter(v, request)
        v.raise_if_any()
        query = "payments"
        filters: tuple[object, ...] = (request.merchant_id, f)
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._payments.list_page(principal, request.merchant_id, f, cursor, limit)
        return payment_pb2.ListPaymentsResponse(
            payments=[payment_messages.payment(p) for p in rows],
            next_page_token=next_token(
                query, filters, [payment_requests.PageRow(p.id, p.created_at) for p in rows], more
            ),
        )

    async def CapturePayment(
        self, request: payment_pb2.CapturePaymentRequest, context: Context
    ) -> payment_pb2.CapturePaymentResponse:
        principal = require_principal()
        idem = idempotency_key(self._payments, context, _SERVICE + "CapturePayment", request)
        result = await self._payments.capture(principal, request.payment_id, request.amount_minor, idem)
        mark_replay(context, result)
        return payment_pb2.CapturePaymentResponse(payment=payment_messages.payment(result.payment))

    async def VoidPayment(
        self, request: payment_pb2.VoidPaymentRequest, context: Context
    ) -> payment_pb2.VoidPaymentResponse:
        principal = require_principal()
        idem = idempotency_key(self._payments, context, _SERVICE + "VoidPayment", request)
        result = await self._payments.void(principal, request.payment_id, idem)
        mark_replay(context, result)
        return payment_pb2.VoidPaymentResponse(payment=payment_messages.payment(result.payment))

    async def RefundPayment(
        self, request: payment_pb2.RefundPaymentRequest, context: Context
    ) -> payment_pb2.RefundPaymentResponse:
        principal = require_principal()
        idem = idempotency_key(self._payments, context, _SERVICE + "RefundPayment", request)
        result = await self._payments.refund(principal, request.payment_id, request.amount_minor, request.reason, idem)
        mark_replay(context, result)
        refund = result.refund
        assert refund is not None
        return payment_pb2.RefundPaymentResponse(
            refund=payment_messages.refund(result.payment, refund), payment=payment_messages.payment(result.payment)
        )

    async def ListRefunds(
        self, request: payment_pb2.ListRefundsRequest, context: Context
    ) -> payment_pb2.ListRefundsResponse:
        principal = require_principal()
        query, filters = "refunds", (request.payment_id,)
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        # A refund's cursor is its position in the payment's refunds, which only ever grow.
        after = int(cursor.id) if cursor is not None and cursor.id.isdigit() else 0
        state, refunds, more = await self._payments.refunds(principal, request.payment_id, after, limit)
        rows = [payment_requests.PageRow(str(after + n), r.created_at) for n, r in enumerate(refunds, start=1)]
        return payment_pb2.ListRefundsResponse(
            refunds=[payment_messages.refund(state, r) for r in refunds],
            next_page_token=next_token(query, filters, rows, more),
        )

    async def ListPaymentEvents(
        self, request: payment_pb2.ListPaymentEventsRequest, context: Context
    ) -> payment_pb2.ListPaymentEventsResponse:
        principal = require_principal()
        query, filters = "payment_events", (request.payment_id,)
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        after_version = int(cursor.id) if cursor is not None and cursor.id.isdigit() else 0
        state, rows, more = await self._payments.events(principal, request.payment_id, after_version, limit)
        return payment_pb2.ListPaymentEventsResponse(
            events=[
                payment_event(
                    event_id=e.id,
                    payment_id=e.aggregate_id,
                    merchant_id=state.merchant_id,
                    payment_version=e.version,
                    sequence=e.sequence,
                    created_at=e.created_at,
                    event=e.as_domain(),
                )
                for e in rows
            ],
            next_page_token=next_token(
                query, filters, [payment_requests.PageRow(str(e.version), e.created_at) for e in rows], more
            ),
        )
