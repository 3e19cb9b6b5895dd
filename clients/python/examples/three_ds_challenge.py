"""3-D Secure: a card whose issuer challenges the cardholder. The payment comes back
REQUIRES_ACTION with the challenge; the simulated ACS plays the cardholder; completing the
challenge authorizes the payment (or fails it when the cardholder refuses).

    python clients/python/examples/three_ds_challenge.py  # PAYSIM_TARGET, PAYSIM_API_KEY: see _setup.py
"""

from __future__ import annotations

import sys

import paysim_client
from _setup import credentials, target
from paysim_client import errors
from paysim_client.types import AcsAction, CardInput, PaymentStatus, ThreeDSPolicyMode

CHALLENGE_CARD = CardInput(number="4000000000003220", exp_month=12, exp_year=2030, cvc="123")
PLAIN_VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")


def main() -> int:
    with paysim_client.Client.connect(target(), **credentials()) as client:
        payment = client.payments.create(amount_minor=2500, currency_code="EUR", card=CHALLENGE_CARD)
        challenge = payment.next_action.three_ds_challenge
        print(f"{payment.id}: {PaymentStatus.Name(payment.status)}, challenge {challenge.id} at {challenge.acs_url}")

        # What a browser would do: the cardholder approves at the ACS, which signs its result;
        # the merchant's backend completes the challenge with it.
        answer = client.three_ds.simulate_acs(payment.id, challenge.challenge_request, AcsAction.ACS_ACTION_APPROVE)
        done = client.three_ds.complete_challenge(payment.id, challenge.id, answer.acs_result)
        auth = done.three_ds
        print(f"completed: {PaymentStatus.Name(done.status)}, trans_status {auth.trans_status}, ECI {auth.eci}")

        # A challenge is answered once.
        try:
            client.three_ds.complete_challenge(payment.id, challenge.id, answer.acs_result)
        except errors.ThreeDSChallengeCompleted as error:
            print(f"refused: {error.reason}")

        # In a test, answer_challenge does both steps; a cardholder who refuses fails the payment.
        refused = client.three_ds.answer_challenge(
            client.payments.create(amount_minor=2500, card=CHALLENGE_CARD), AcsAction.ACS_ACTION_DENY
        )
        print(f"denied: {PaymentStatus.Name(refused.status)} ({refused.three_ds.trans_status_reason})")

        # The merchant may ask for 3-D Secure itself, e.g. above an amount per currency.
        client.three_ds.set_policy(ThreeDSPolicyMode.THREE_DS_POLICY_MODE_ABOVE_AMOUNT, thresholds={"USD": 10000})
        try:
            large = client.payments.create(amount_minor=25000, currency_code="USD", card=PLAIN_VISA)
            print(
                f"above the threshold: {PaymentStatus.Name(large.status)}, trans_status {large.three_ds.trans_status}"
            )
        finally:
            client.three_ds.set_policy(ThreeDSPolicyMode.THREE_DS_POLICY_MODE_NEVER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
