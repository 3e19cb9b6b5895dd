"""The composition root builds the real services over whatever adapters it is handed: here a
fixed clock, a gateway of the test's own and an in-process event bus, on a throw-away SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from paysim.app.adapters import Adapters, Keys
from paysim.app.bootstrap import ensure_admin
from paysim.app.wiring import build_app
from paysim.config import Settings
from paysim.domain.payment_methods import MethodType
from paysim.gateways.base import AuthorizationRequest, GatewayResult
from paysim.services.event_bus import InProcessBus
from paysim.store import migrate
from paysim.store.database import create_engine

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


class UnusedGateway:
    """A gateway no call may reach in this test: building the services calls none."""

    name = "simulator"

    def supports(self, method: MethodType) -> bool:
        return True

    async def authorize(self, request: AuthorizationRequest) -> GatewayResult:
        raise AssertionError("not called")

    async def capture(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        raise AssertionError("not called")

    async def void(self, downstream_key: str, reference: str) -> GatewayResult:
        raise AssertionError("not called")

    async def refund(self, downstream_key: str, reference: str, amount: int) -> GatewayResult:
        raise AssertionError("not called")

    async def status(self, downstream_key: str) -> GatewayResult | None:
        raise AssertionError("not called")

    async def healthy(self) -> bool:
        return True


def test_services_are_built_over_the_adapters_handed_in(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, bcrypt_rounds=4)
    gateway = UnusedGateway()

    async def scenario() -> None:
        adapters = Adapters(
            engine=create_engine(settings.effective_database_url),
            bus=InProcessBus(),
            gateways={"simulator": gateway},
            keys=Keys(signing=b"s" * 32, fingerprint=b"f" * 32, webhook=b"w" * 32),
            clock=lambda: NOW,
        )
        await migrate.upgrade(adapters.engine)
        app = build_app(settings, adapters)
        try:
            assert app.router.gateways == {"simulator": gateway}
            assert await ensure_admin(app, "root@example.com", "a long password")
            assert not await ensure_admin(app, "root@example.com", "a long password")
            async with app.unit_of_work() as uow:
                admin = await uow.users.get_by_email("root@example.com")
            assert admin is not None and admin.created_at == NOW
        finally:
            await app.close()

    asyncio.run(scenario())
    # Nothing else was written to the data directory: the keys were handed in, not generated.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paysim.db"]
