"""App: what a server process needs, built once by the composition root (wiring.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.app.adapters import Adapters
from paysim.app.rate_limit import RateLimiter
from paysim.app.redis_guard import GuardedRedis
from paysim.config import Settings
from paysim.security.passwords import PasswordHasher
from paysim.services.accounts import AccountService
from paysim.services.analytics import AnalyticsService
from paysim.services.analytics_projector import AnalyticsProjector
from paysim.services.authentication import Authenticator
from paysim.services.circuit_breakers import CircuitBreakers
from paysim.services.clock import Clock
from paysim.services.customers import CustomerService
from paysim.services.disputes import DisputeService
from paysim.services.gateway_faults import GatewayFaultService
from paysim.services.merchants import MerchantService
from paysim.services.payments import PaymentService
from paysim.services.routing import GatewayRouter
from paysim.services.simulator_control import SimulatorControl
from paysim.services.subscriptions import SubscriptionService
from paysim.services.test_clocks import TestClockService
from paysim.services.threeds import ThreeDSService
from paysim.services.webhook_dispatch import WebhookDispatcher
from paysim.services.webhook_sender import WebhookSender
from paysim.services.webhooks import WebhookService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger("paysim.bootstrap")


@dataclass
class App:
    settings: Settings
    adapters: Adapters
    # The use cases the servicers call.
    accounts: AccountService
    merchants: MerchantService
    customers: CustomerService
    payments: PaymentService
    three_ds: ThreeDSService
    simulator: SimulatorControl
    test_clocks: TestClockService
    disputes: DisputeService
    webhooks: WebhookService
    subscriptions: SubscriptionService
    # The security interceptor's.
    authenticator: Authenticator
    limiter: RateLimiter
    # Started and stopped with the server, or released by close().
    dispatcher: WebhookDispatcher
    webhook_sender: WebhookSender
    breakers: CircuitBreakers
    hasher: PasswordHasher
    # Beneath the simulator's controls: tests reach the gateways and faults through them.
    router: GatewayRouter
    faults: GatewayFaultService
    # The analytics read model: its queries, and the projector started with the server.
    analytics: AnalyticsService
    projector: AnalyticsProjector

    @property
    def engine(self) -> AsyncEngine:
        return self.adapters.engine

    @property
    def clock(self) -> Clock:
        return self.adapters.clock

    @property
    def payment_pool(self) -> AsyncConnectionPool[Any] | None:
        return self.adapters.payment_pool

    @property
    def redis(self) -> GuardedRedis | None:
        return self.adapters.redis

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    async def close(self) -> None:
        await self.subscriptions.close()
        try:
            await self.breakers.flush()
        except Exception:  # statistics only: never keep the server from closing
            log.exception("circuit breaker statistics not written")
        await self.dispatcher.stop()
        await self.webhook_sender.close()
        await self.limiter.close()
        self.hasher.close()
        await self.adapters.close()
