"""Periodic housekeeping: expired refresh tokens and login throttles, idempotency keys past their
lifetime, payments whose gateway outcome was never recorded, 3-D Secure challenges nobody
completed in time, authorizations nobody captured in time, asynchronous refunds due to settle (all
four on real time: objects on a test clock move with their clock), and test clock advances whose
process stopped midway."""

from __future__ import annotations

import asyncio
import logging

from paysim.domain.errors import Unavailable
from paysim.services.accounts import AccountService
from paysim.services.disputes import DisputeService
from paysim.services.payments import PaymentService
from paysim.services.task_stopping import stop_tasks
from paysim.services.test_clocks import TestClockService
from paysim.services.threeds import ThreeDSService

log = logging.getLogger("paysim.maintenance")


class Maintenance:
    def __init__(
        self,
        accounts: AccountService,
        payments: PaymentService,
        interval_seconds: float,
        three_ds: ThreeDSService | None = None,
        test_clocks: TestClockService | None = None,
        disputes: DisputeService | None = None,
    ) -> None:
        self._disputes = disputes
        self._accounts = accounts
        self._payments = payments
        self._three_ds = three_ds
        self._test_clocks = test_clocks
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """One round; returns the number of refresh tokens removed (the other counts are logged)."""
        removed = await self._accounts.purge_expired()
        keys = await self._payments.prune_idempotency_keys()
        recovered = await self._payments.recover_stuck()
        await self._payments.flush_gateway_statistics()
        expired = await self._three_ds.expire_challenges() if self._three_ds is not None else 0
        authorizations = await self._payments.expire_authorizations()
        refunds = await self._payments.settle_refunds()
        clocks = await self._test_clocks.finish_advancing() if self._test_clocks is not None else 0
        disputes = await self._disputes.sweep() if self._disputes is not None else 0
        if keys or recovered or expired or authorizations or refunds or clocks or disputes:
            counts = {
                "idempotency_keys_pruned": keys,
                "payments_recovered": recovered,
                "challenges_expired": expired,
                "authorizations_expired": authorizations,
                "refunds_settled": refunds,
                "clock_advances_finished": clocks,
                "dispute_transitions": disputes,
            }
            log.info("maintenance", extra={"fields": counts})
        return removed

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="paysim-maintenance")

    async def _run(self) -> None:
        while not self._stopping:
            try:
                removed = await self.run_once()
                if removed:
                    log.info("expired refresh tokens removed", extra={"fields": {"count": removed}})
            except Unavailable as error:  # the database is away or busy: try again next round
                log.warning("maintenance round failed", extra={"fields": {"reason": error.reason}})
            except Exception:  # housekeeping must never take the server down; try again next round
                log.exception("maintenance round failed")
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        self._stopping = True  # ends the loop even if its cancellation is lost (task_stopping.py)
        if self._task is not None:
            await stop_tasks([self._task])
