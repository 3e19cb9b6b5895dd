"""``client.three_ds``: 3-D Secure challenges, the simulated ACS, and the merchant's policy.

A payment that needs the cardholder comes back from ``payments.create`` in
``PAYMENT_STATUS_REQUIRES_ACTION`` with ``next_action.three_ds_challenge``. In a test,
:meth:`AsyncThreeDS.answer_challenge` plays the cardholder and completes the challenge in one
call; :meth:`simulate_acs` and :meth:`complete_challenge` are the two steps it takes.
"""

from __future__ import annotations

from collections.abc import Mapping

from paysim_proto.v1 import payment_pb2, threeds_pb2

from paysim_client._blocking import blocking
from paysim_client._generated import rpcs
from paysim_client.config import RetryPolicy
from paysim_client.resources._base import AsyncResource, BlockingResource


class AsyncThreeDS(AsyncResource):
    """3-D Secure 2."""

    async def get_challenge(
        self, payment_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> threeds_pb2.GetChallengeResponse:
        """The payment's challenge (pending, completed or expired) and its authentication."""
        request = threeds_pb2.GetChallengeRequest(payment_id=payment_id)
        return await self._transport.call(rpcs.GET_CHALLENGE, request, timeout=timeout, retry=retry)

    async def simulate_acs(
        self,
        payment_id: str,
        challenge_request: str,
        action: threeds_pb2.AcsAction.ValueType = threeds_pb2.ACS_ACTION_APPROVE,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> threeds_pb2.SimulateAcsResponse:
        """Play the cardholder at the ACS: approve, deny or enter a wrong code. Returns the ACS's
        signed ``acs_result`` for :meth:`complete_challenge`; changes nothing by itself."""
        request = threeds_pb2.SimulateAcsRequest(
            payment_id=payment_id, challenge_request=challenge_request, action=action
        )
        return await self._transport.call(rpcs.SIMULATE_ACS, request, timeout=timeout, retry=retry)

    async def complete_challenge(
        self,
        payment_id: str,
        challenge_id: str,
        acs_result: str,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> payment_pb2.Payment:
        """Complete the challenge with the ACS's result and return the payment: authorized (and
        captured, with automatic capture) or declined when authenticated, failed otherwise.

        A challenge is completed once (:class:`~paysim_client.errors.ThreeDSChallengeCompleted`
        afterwards, unless the same idempotency key replays the first answer).
        """
        request = threeds_pb2.CompleteChallengeRequest(
            payment_id=payment_id, challenge_id=challenge_id, acs_result=acs_result
        )
        reply = await self._transport.call(
            rpcs.COMPLETE_CHALLENGE, request, idempotency_key=idempotency_key, timeout=timeout, retry=retry
        )
        return reply.payment

    async def answer_challenge(
        self,
        payment: payment_pb2.Payment,
        action: threeds_pb2.AcsAction.ValueType = threeds_pb2.ACS_ACTION_APPROVE,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> payment_pb2.Payment:
        """Answer a ``REQUIRES_ACTION`` payment's challenge as the cardholder would (``action``)
        and complete it: :meth:`simulate_acs` then :meth:`complete_challenge`."""
        if not payment.next_action.HasField("three_ds_challenge"):
            raise ValueError(f"payment {payment.id} has no 3-D Secure challenge to answer")
        challenge = payment.next_action.three_ds_challenge
        answer = await self.simulate_acs(payment.id, challenge.challenge_request, action, timeout=timeout, retry=retry)
        return await self.complete_challenge(
            payment.id,
            challenge.id,
            answer.acs_result,
            idempotency_key=idempotency_key,
            timeout=timeout,
            retry=retry,
        )

    async def set_policy(
        self,
        mode: threeds_pb2.ThreeDSPolicyMode.ValueType,
        *,
        thresholds: Mapping[str, int] | None = None,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> threeds_pb2.ThreeDSPolicy:
        """Replace the merchant's policy: ``THREE_DS_POLICY_MODE_NEVER``, ``…_ALWAYS``, or
        ``…_ABOVE_AMOUNT`` with ``thresholds`` such as ``{"USD": 10000, "EUR": 9000}`` (payments of
        more than that many minor units are authenticated)."""
        request = threeds_pb2.SetThreeDSPolicyRequest(
            merchant_id=merchant_id,
            mode=mode,
            thresholds=[
                threeds_pb2.ThreeDSThreshold(currency_code=currency, amount_minor=amount)
                for currency, amount in (thresholds or {}).items()
            ],
        )
        reply = await self._transport.call(rpcs.SET_THREE_DS_POLICY, request, timeout=timeout, retry=retry)
        return reply.policy

    async def get_policy(
        self, *, merchant_id: str = "", timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> threeds_pb2.ThreeDSPolicy:
        """The merchant's policy (``THREE_DS_POLICY_MODE_NEVER`` if never set)."""
        request = threeds_pb2.GetThreeDSPolicyRequest(merchant_id=merchant_id)
        reply = await self._transport.call(rpcs.GET_THREE_DS_POLICY, request, timeout=timeout, retry=retry)
        return reply.policy


class ThreeDS(BlockingResource[AsyncThreeDS]):
    """3-D Secure 2 (blocking); see :class:`AsyncThreeDS`."""

    get_challenge = blocking(AsyncThreeDS.get_challenge)
    simulate_acs = blocking(AsyncThreeDS.simulate_acs)
    complete_challenge = blocking(AsyncThreeDS.complete_challenge)
    answer_challenge = blocking(AsyncThreeDS.answer_challenge)
    set_policy = blocking(AsyncThreeDS.set_policy)
    get_policy = blocking(AsyncThreeDS.get_policy)
