"""``client.disputes``: the disputes of the caller's merchant; answer them with evidence or accept them.

A dispute opens when a payment made with one of Stripe's dispute test cards is captured. Evidence
moves it under review; ``winning_evidence`` in ``uncategorized_text`` wins it, anything else loses
it (a warning closes instead). Submitting the same evidence again, or accepting again, changes
nothing, so both are retried safely.
"""

from __future__ import annotations

from collections.abc import Sequence

from paysim_proto.v1 import dispute_pb2

from paysim_client._blocking import blocking, blocking_pager
from paysim_client._generated import rpcs
from paysim_client.config import RetryPolicy
from paysim_client.pagers import AsyncPager, Page
from paysim_client.resources._base import AsyncResource, BlockingResource


class AsyncDisputes(AsyncResource):
    """Disputes of the caller's merchant (an admin names the merchant in ``merchant_id``)."""

    def list(
        self,
        *,
        payment_id: str = "",
        statuses: Sequence[dispute_pb2.DisputeStatus.ValueType] = (),
        merchant_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[dispute_pb2.Dispute]:
        """The caller's disputes, newest first, filtered; ``async for`` fetches page after page."""
        return self._listing(
            rpcs.LIST_DISPUTES,
            lambda token: dispute_pb2.ListDisputesRequest(
                merchant_id=merchant_id,
                payment_id=payment_id,
                statuses=statuses,
                page_size=page_size,
                page_token=token,
            ),
            lambda reply: Page(reply.disputes, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    async def get(
        self, dispute_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> dispute_pb2.Dispute:
        """One dispute, as it stands."""
        request = dispute_pb2.GetDisputeRequest(dispute_id=dispute_id)
        reply = await self._transport.call(rpcs.GET_DISPUTE, request, timeout=timeout, retry=retry)
        return reply.dispute

    async def submit_evidence(
        self,
        /,  # positional-only, so that any evidence field name is free as a keyword
        dispute_id: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        **evidence: str,
    ) -> dispute_pb2.Dispute:
        """Answer the dispute with the text fields of Stripe's evidence object as keywords
        (``product_description=…``, ``uncategorized_text=…``); the dispute, under review."""
        request = dispute_pb2.SubmitDisputeEvidenceRequest(
            dispute_id=dispute_id, evidence=dispute_pb2.DisputeEvidence(**evidence)
        )
        reply = await self._transport.call(rpcs.SUBMIT_DISPUTE_EVIDENCE, request, timeout=timeout, retry=retry)
        return reply.dispute

    async def accept(
        self, dispute_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> dispute_pb2.Dispute:
        """Accept the dispute: a chargeback is lost, a warning closed."""
        request = dispute_pb2.AcceptDisputeRequest(dispute_id=dispute_id)
        reply = await self._transport.call(rpcs.ACCEPT_DISPUTE, request, timeout=timeout, retry=retry)
        return reply.dispute


class Disputes(BlockingResource[AsyncDisputes]):
    """Disputes of the caller's merchant (blocking); see :class:`AsyncDisputes`."""

    list = blocking_pager(AsyncDisputes.list)
    get = blocking(AsyncDisputes.get)
    submit_evidence = blocking(AsyncDisputes.submit_evidence)
    accept = blocking(AsyncDisputes.accept)
