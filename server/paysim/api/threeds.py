"""paysim.v1.ThreeDSService."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_proto.v1 import threeds_pb2, threeds_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.api.payment import idempotency_key, mark_replay, override_metadata
from paysim.contract import payment_messages
from paysim.contract.timestamps import timestamp
from paysim.domain import currency
from paysim.domain.overrides import parse_override
from paysim.domain.threeds import AcsAction, Policy, PolicyMode, Threshold
from paysim.services.payments import PaymentService
from paysim.services.threeds import ThreeDSService
from paysim.store.repositories.three_ds_policies import StoredPolicy

Context = grpc.aio.ServicerContext[Any, Any]
T = threeds_pb2
_SERVICE = "/paysim.v1.ThreeDSService/"

ACTION_FROM_PROTO = {
    T.ACS_ACTION_APPROVE: AcsAction.APPROVE,
    T.ACS_ACTION_DENY: AcsAction.DENY,
    T.ACS_ACTION_WRONG_CODE: AcsAction.WRONG_CODE,
}
MODE_TO_PROTO = {
    PolicyMode.NEVER: T.THREE_DS_POLICY_MODE_NEVER,
    PolicyMode.ALWAYS: T.THREE_DS_POLICY_MODE_ALWAYS,
    PolicyMode.ABOVE_AMOUNT: T.THREE_DS_POLICY_MODE_ABOVE_AMOUNT,
}
MODE_FROM_PROTO = {v: k for k, v in MODE_TO_PROTO.items()}


def policy(stored: StoredPolicy) -> threeds_pb2.ThreeDSPolicy:
    return T.ThreeDSPolicy(
        merchant_id=stored.merchant_id,
        mode=MODE_TO_PROTO[stored.policy.mode],
        thresholds=[
            T.ThreeDSThreshold(currency_code=t.currency, amount_minor=t.amount) for t in stored.policy.thresholds
        ],
        update_time=timestamp(stored.updated_at),
    )


class ThreeDSServicer(threeds_pb2_grpc.ThreeDSServiceServicer):
    def __init__(self, three_ds: ThreeDSService, payments: PaymentService) -> None:
        self._three_ds = three_ds
        self._payments = payments

    async def GetChallenge(
        self, request: threeds_pb2.GetChallengeRequest, context: Context
    ) -> threeds_pb2.GetChallengeResponse:
        challenge, authentication = await self._three_ds.challenge(require_principal(), request.payment_id)
        return T.GetChallengeResponse(
            challenge=payment_messages.challenge(challenge), three_ds=payment_messages.authentication(authentication)
        )

    async def SimulateAcs(
        self, request: threeds_pb2.SimulateAcsRequest, context: Context
    ) -> threeds_pb2.SimulateAcsResponse:
        answer = await self._three_ds.simulate_acs(
            require_principal(), request.payment_id, request.challenge_request, ACTION_FROM_PROTO.get(request.action)
        )
        return T.SimulateAcsResponse(
            acs_result=answer.token,
            challenge_id=answer.result.challenge_id,
            trans_status=answer.result.trans_status.value,
        )

    async def CompleteChallenge(
        self, request: threeds_pb2.CompleteChallengeRequest, context: Context
    ) -> threeds_pb2.CompleteChallengeResponse:
        principal = require_principal()
        idem = idempotency_key(self._payments, context, _SERVICE + "CompleteChallenge", request)
        result = await self._three_ds.complete(
            principal,
            request.payment_id,
            request.challenge_id,
            request.acs_result,
            idem,
            parse_override(override_metadata(context)),
        )
        mark_replay(context, result)
        return T.CompleteChallengeResponse(payment=payment_messages.payment(result.payment))

    async def SetThreeDSPolicy(
        self, request: threeds_pb2.SetThreeDSPolicyRequest, context: Context
    ) -> threeds_pb2.SetThreeDSPolicyResponse:
        mode = MODE_FROM_PROTO.get(request.mode)
        thresholds = tuple(Threshold(currency.normalize(t.currency_code), t.amount_minor) for t in request.thresholds)
        wanted = None if mode is None else Policy(mode, thresholds)
        stored = await self._three_ds.set_policy(require_principal(), request.merchant_id, wanted)
        return T.SetThreeDSPolicyResponse(policy=policy(stored))

    async def GetThreeDSPolicy(
        self, request: threeds_pb2.GetThreeDSPolicyRequest, context: Context
    ) -> threeds_pb2.GetThreeDSPolicyResponse:
        stored = await self._three_ds.get_policy(require_principal(), request.merchant_id)
        return T.GetThreeDSPolicyResponse(policy=policy(stored))
