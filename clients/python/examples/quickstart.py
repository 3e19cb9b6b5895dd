"""Quick start: connect, take a payment, see a decline, handle an error, list payments.

python3 server/dev.py serve                        # in another terminal
python clients/python/examples/quickstart.py       # PAYSIM_TARGET, PAYSIM_API_KEY: see _setup.py
"""

from __future__ import annotations

import sys

import paysim_client
from _setup import credentials, target
from paysim_client import errors
from paysim_client.types import CardInput, PaymentStatus

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123", holder_name="Ada Lovelace")
INSUFFICIENT_FUNDS = CardInput(number="4000000000009995", exp_month=12, exp_year=2030, cvc="123")


def main() -> int:
    with paysim_client.Client.connect(target(), **credentials()) as client:
        me = client.auth.me()
        print(f"acting for merchant {me.merchant_id}")

        # Amounts are integers in the currency's minor unit: 1999 is $19.99.
        payment = client.payments.create(amount_minor=1999, currency_code="USD", card=VISA, description="quick start")
        print(
            f"{payment.id}: {PaymentStatus.Name(payment.status)}, fee {payment.fee_amount_minor}, "
            f"net {payment.net_amount_minor} (card {payment.card.brand} …{payment.card.last4})"
        )

        # A decline is a result, not an exception: the payment says why.
        declined = client.payments.create(amount_minor=1999, card=INSUFFICIENT_FUNDS)
        assert declined.status == PaymentStatus.PAYMENT_STATUS_DECLINED
        print(f"{declined.id}: declined, {declined.decline.code}: {declined.decline.message}")

        # A request that cannot be processed raises, with the reason and each bad field.
        try:
            client.payments.create(
                amount_minor=1999, card=CardInput(number="4242424242424241", exp_month=12, exp_year=2030, cvc="1")
            )
        except errors.InvalidArgument as error:
            for violation in error.field_violations:
                print(f"refused: {violation.field}: {violation.description} ({violation.reason})")
            print(f"  the server logged it as request {error.request_id}")

        # Pagers fetch page after page as the loop goes.
        for listed in client.payments.list(page_size=10):
            print(f"  {listed.id} {listed.amount_minor:>6} {listed.currency_code} {PaymentStatus.Name(listed.status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
