"""The payment services wired over in-memory fakes (tests/support/fakes.py) and a clock that stands
still: the real PaymentService, router, breakers, faults and 3-D Secure, with no server, no database
and no sleep. Each test gets a fresh world with one merchant and its API-key principal."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pytest

from paysim.domain import ids
from paysim.domain.circuit_breaker import BreakerConfig
from paysim.domain.models import Merchant
from paysim.domain.payment_values import CaptureMethod
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from paysim.gateways.base import Gateway
from paysim.gateways.simulator import SimulatorGateway
from paysim.services.circuit_breakers import CircuitBreakers
from paysim.services.gateway_faults import GatewayFaultService
from paysim.services.idempotency import IdempotencyKey
from paysim.services.payment_commands import CardInput, CreatePayment, PaymentResult
from paysim.services.payments import PaymentService
from paysim.services.routing import GatewayRouter, Route
from paysim.services.threeds import ThreeDSAuthenticator, ThreeDSService
from paysim.store.unit_of_work import UnitOfWorkFactory
from tests.support.fakes import FixedClock, InMemoryDatabase, ScriptedGateway, unit_of_work_factory

T = TypeVar("T")

APPROVING_CARD = "4242424242424242"
BREAKER = BreakerConfig(failure_threshold=2, success_threshold=1)


@dataclass
class StaticRoutes:
    """Every merchant's enabled gateways, in the order to try them; a test changes the list."""

    order: list[str] = field(default_factory=lambda: ["simulator"])

    async def routes(self, merchant_id: str) -> list[Route]:
        return [Route(name) for name in self.order]


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    db: InMemoryDatabase
    clock: FixedClock
    routes: StaticRoutes
    primary: ScriptedGateway
    backup: ScriptedGateway
    breakers: CircuitBreakers
    faults: GatewayFaultService
    payments: PaymentService
    three_ds: ThreeDSService
    merchant: Merchant
    principal: Principal

    def run(self, step: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(step)

    def use(self, *gateways: str) -> None:
        """Route the merchant's payments to these gateways, in this order."""
        self.routes.order = list(gateways)

    def command(
        self,
        amount: int = 10_000,
        *,
        card: str = APPROVING_CARD,
        capture: CaptureMethod = CaptureMethod.MANUAL,
        holder: str = "Ada Lovelace",
    ) -> CreatePayment:
        return CreatePayment(
            merchant_id="",
            amount=amount,
            currency="EUR",
            card=CardInput(card, 12, 2034, "123", holder),
            customer_id="",
            description="",
            metadata={},
            capture_method=capture,
        )

    def key(self, key: str, method: str, body: bytes) -> IdempotencyKey:
        return IdempotencyKey(key, method, self.payments.request_fingerprint(method, body))

    def create(self, amount: int = 10_000, **options: Any) -> PaymentResult:
        return self.run(self.payments.create(self.principal, self.command(amount, **options), None))

    def authorized(self, amount: int = 10_000) -> str:
        """A payment authorized for ``amount``, not captured; its id."""
        result = self.create(amount)
        assert result.payment.status.value == "authorized", result.payment
        return result.payment.id

    def captured(self, amount: int = 10_000) -> str:
        payment_id = self.authorized(amount)
        self.run(self.payments.capture(self.principal, payment_id, 0, None))
        return payment_id


@pytest.fixture(params=[False, True], ids=["two-phase", "at-once"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Each test runs twice: creates in two transactions around the gateway call, and in one where
    the store takes concurrent writers (PostgreSQL) and the gateway answers at once."""
    loop = asyncio.new_event_loop()
    db = InMemoryDatabase()
    clock = FixedClock()
    uow = cast(UnitOfWorkFactory, unit_of_work_factory(db))
    merchant = Merchant(ids.new_id(ids.MERCHANT), "Shop", "shop@example.com", "EUR", True, clock(), clock(), 290, 30)
    db.merchants.rows[merchant.id] = merchant
    primary, backup = ScriptedGateway("primary"), ScriptedGateway("backup")
    gateways: dict[str, Gateway] = {"simulator": SimulatorGateway(), "primary": primary, "backup": backup}
    routes = StaticRoutes()
    breakers = CircuitBreakers(uow, clock, BREAKER)
    faults = GatewayFaultService(uow, clock)
    router = GatewayRouter(gateways, breakers, faults, routes, uow, clock)
    authenticator = ThreeDSAuthenticator(uow, b"s" * 32, clock, policy_cache_seconds=0)
    at_once = bool(request.param)
    payments = PaymentService(
        uow, router, b"f" * 32, clock, merchant_cache_seconds=0, three_ds=authenticator, concurrent_writers=at_once
    )
    principal = Principal(CredentialKind.API_KEY, Role.MERCHANT, merchant_id=merchant.id, api_key_id="key_test")
    try:
        yield World(
            loop,
            db,
            clock,
            routes,
            primary,
            backup,
            breakers,
            faults,
            payments,
            ThreeDSService(uow, payments, authenticator, clock),
            merchant,
            principal,
        )
    finally:
        loop.close()
