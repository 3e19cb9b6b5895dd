"""Manual capture and refunds with the asyncio client: authorize, capture part, refund twice,
refuse a refund above what is left, and read the payment's history.

    python clients/python/examples/refunds.py           # PAYSIM_TARGET, PAYSIM_API_KEY: see _setup.py
"""

from __future__ import annotations

import asyncio
import sys

import paysim_client
from _setup import credentials, target
from paysim_client import errors
from paysim_client.types import CaptureMethod, CardInput, PaymentStatus

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")


async def main() -> int:
    async with paysim_client.connect(target(), **credentials()) as client:
        payment = await client.payments.create(
            amount_minor=5000,
            currency_code="USD",
            card=VISA,
            capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL,
            description="order 1042",
        )
        print(f"{payment.id}: {PaymentStatus.Name(payment.status)} for {payment.authorized_amount_minor}")

        # Capture 30.00 of the 50.00 held; the rest of the authorization is released.
        payment = await client.payments.capture(payment.id, amount_minor=3000)
        print(
            f"captured {payment.captured_amount_minor}, fee {payment.fee_amount_minor}, net {payment.net_amount_minor}"
        )

        # Each mutation carries an idempotency key; pass your own to make a retry after a crash safe.
        first = await client.payments.refund(
            payment.id, amount_minor=1000, reason="one book returned", idempotency_key=f"{payment.id}-refund-1"
        )
        second = await client.payments.refund(payment.id, amount_minor=500, reason="shipping refunded")
        print(f"refunds {first.refund.id} and {second.refund.id}: {PaymentStatus.Name(second.payment.status)}")

        try:
            await client.payments.refund(payment.id, amount_minor=2000)
        except errors.AmountExceedsRefundable as error:
            print(f"refused: only {error.refundable_amount_minor} is left to refund")

        # The rest, then the history: every change of the payment is an event.
        rest = await client.payments.refund(payment.id)
        print(f"refunded the remaining {rest.refund.amount_minor}: {PaymentStatus.Name(rest.payment.status)}")
        async for event in client.payments.events(payment.id):
            print(f"  v{event.payment_version} {event.type}")
        refunded = [refund.amount_minor async for refund in client.payments.list_refunds(payment.id)]
        assert sum(refunded) == rest.payment.refunded_amount_minor == 3000
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
