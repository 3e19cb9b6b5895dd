"""paysim.v1.DisputeService: a merchant's disputes."""

from __future__ import annotations

from typing import Any

import grpc
from paysim_proto.v1 import dispute_pb2, dispute_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.api.pages import next_token, read_page_request
from paysim.api.payment_requests import PageRow
from paysim.contract import dispute_messages
from paysim.domain.validation import Violations
from paysim.services.disputes import DisputeService
from paysim.store.repositories.disputes import DisputeFilter

Context = grpc.aio.ServicerContext[Any, Any]
D = dispute_pb2


def _filter(request: dispute_pb2.ListDisputesRequest) -> DisputeFilter:
    v = Violations()
    statuses: set[str] = set()
    for i, value in enumerate(request.statuses):
        if value not in dispute_messages.STATUS_FROM_PROTO:
            v.add(f"statuses[{i}]", f"unknown dispute status {value}", "INVALID_STATUS")
        else:
            statuses.add(dispute_messages.STATUS_FROM_PROTO[value].value)
    v.raise_if_any()
    return DisputeFilter(payment_id=request.payment_id, statuses=tuple(sorted(statuses)))


class DisputeServicer(dispute_pb2_grpc.DisputeServiceServicer):
    def __init__(self, disputes: DisputeService) -> None:
        self._disputes = disputes

    async def ListDisputes(self, request: dispute_pb2.ListDisputesRequest, context: Context) -> D.ListDisputesResponse:
        principal = require_principal()
        f = _filter(request)
        query, filters = "disputes", (request.merchant_id, f)
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._disputes.list_page(principal, request.merchant_id, f, cursor, limit)
        disputes = [dispute_messages.of_payment(p) for p in rows]
        page = [PageRow(d.id, d.created_at) for p in rows if (d := p.dispute) is not None]
        return D.ListDisputesResponse(disputes=disputes, next_page_token=next_token(query, filters, page, more))

    async def GetDispute(self, request: dispute_pb2.GetDisputeRequest, context: Context) -> D.GetDisputeResponse:
        state = await self._disputes.get(require_principal(), request.dispute_id)
        return D.GetDisputeResponse(dispute=dispute_messages.of_payment(state))

    async def SubmitDisputeEvidence(
        self, request: dispute_pb2.SubmitDisputeEvidenceRequest, context: Context
    ) -> D.SubmitDisputeEvidenceResponse:
        evidence = dispute_messages.evidence_from(request.evidence)
        state = await self._disputes.submit_evidence(require_principal(), request.dispute_id, evidence)
        return D.SubmitDisputeEvidenceResponse(dispute=dispute_messages.of_payment(state))

    async def AcceptDispute(
        self, request: dispute_pb2.AcceptDisputeRequest, context: Context
    ) -> D.AcceptDisputeResponse:
        state = await self._disputes.accept(require_principal(), request.dispute_id)
        return D.AcceptDisputeResponse(dispute=dispute_messages.of_payment(state))
