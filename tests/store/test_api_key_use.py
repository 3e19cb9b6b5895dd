"""Both adapters of ``ApiKeyUse`` on real databases: the SQLAlchemy one on SQLite and PostgreSQL, the
one-statement psycopg one on PostgreSQL. A key's use is recorded only for its own secret, on a key
not revoked, of an active merchant, and at most once per interval."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from paysim.domain import ids
from paysim.domain.models import ApiKey, Merchant
from paysim.security import secrets
from paysim.store.api_key_use import ApiKeyUse, KeyUse, UowApiKeyUse
from paysim.store.database import create_engine
from paysim.store.pg_api_key_use import PgApiKeyUse
from paysim.store.pg_connection import DatabaseLimits
from paysim.store.pg_pool import create_pool
from paysim.store.unit_of_work import UnitOfWork
from tests.support import backends

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class Adapter:
    backend: str
    kind: str  # "sqlalchemy" or "psycopg"
    database_url: str = ""


ADAPTERS = [Adapter(name, "sqlalchemy") for name in backends.available()]
if "postgres" in backends.available():
    ADAPTERS.append(Adapter("postgres", "psycopg"))


@pytest.fixture(scope="module", params=ADAPTERS, ids=lambda a: f"{a.kind}-{a.backend}")
def adapter(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    chosen: Adapter = request.param
    with backends.migrated(chosen.backend, tmp_path_factory.mktemp(chosen.backend)) as database_url:
        yield replace(chosen, database_url=database_url)


@dataclass
class Key:
    secret: str
    record: ApiKey
    merchant: Merchant

    @property
    def prefix(self) -> str:
        return secrets.api_key_prefix(self.secret)


Body = Callable[[ApiKeyUse, Callable[[], UnitOfWork]], Awaitable[None]]


def run(adapter: Adapter, body: Body) -> None:
    async def main() -> None:
        async with _adapter(adapter) as (uses, uow):
            await body(uses, uow)

    asyncio.run(main())


@asynccontextmanager
async def _adapter(adapter: Adapter) -> AsyncIterator[tuple[ApiKeyUse, Callable[[], UnitOfWork]]]:
    engine = create_engine(adapter.database_url, pool_size=2)
    try:

        def uow() -> UnitOfWork:
            return UnitOfWork(engine)

        if adapter.kind == "sqlalchemy":
            yield UowApiKeyUse(uow), uow
            return
        pool = create_pool(adapter.database_url, 2, DatabaseLimits())
        await pool.open()
        try:
            yield PgApiKeyUse(pool), uow
        finally:
            await pool.close()
    finally:
        await engine.dispose()


async def _key(uow: Callable[[], UnitOfWork], *, merchant_active: bool = True) -> Key:
    mid = ids.new_id(ids.MERCHANT)
    merchant = Merchant(mid, f"Shop {mid}", "shop@example.com", "EUR", merchant_active, NOW, NOW, 290, 30)
    secret, prefix = secrets.new_api_key()
    record = ApiKey(
        id=ids.new_id("key"),
        merchant_id=mid,
        name="main",
        prefix=prefix,
        created_at=NOW,
        last_used_at=None,
        revoked_at=None,
        secret_hash=secrets.digest(secret),
    )
    async with uow() as unit:
        await unit.merchants.add(merchant)
        await unit.api_keys.add(record)
        await unit.commit()
    return Key(secret, record, merchant)


async def _last_used(uow: Callable[[], UnitOfWork], key: Key) -> datetime | None:
    async with uow() as unit:
        stored = await unit.api_keys.get(key.record.id)
    assert stored is not None
    return stored.last_used_at


async def _use(uses: ApiKeyUse, key: Key, at: datetime, secret: str | None = None) -> KeyUse | None:
    return await uses.use(key.prefix, secrets.digest(secret or key.secret), at, at - INTERVAL)


def test_an_unknown_prefix_finds_nothing(adapter: Adapter) -> None:
    async def body(uses: ApiKeyUse, uow: Callable[[], UnitOfWork]) -> None:
        missing, _ = secrets.new_api_key()
        assert await uses.use(secrets.api_key_prefix(missing), secrets.digest(missing), NOW, NOW - INTERVAL) is None

    run(adapter, body)


def test_a_good_key_is_found_and_its_use_recorded(adapter: Adapter) -> None:
    async def body(uses: ApiKeyUse, uow: Callable[[], UnitOfWork]) -> None:
        key = await _key(uow)
        found = await _use(uses, key, NOW)
        assert found == KeyUse(key.record.id, key.merchant.id, key.record.secret_hash, False, True)
        assert await _last_used(uow, key) == NOW

    run(adapter, body)


def test_a_use_is_recorded_at_most_once_per_interval(adapter: Adapter) -> None:
    async def body(uses: ApiKeyUse, uow: Callable[[], UnitOfWork]) -> None:
        key = await _key(uow)
        await _use(uses, key, NOW)
        await _use(uses, key, NOW + INTERVAL - timedelta(seconds=1))
        assert await _last_used(uow, key) == NOW
        later = NOW + INTERVAL + timedelta(seconds=1)
        await _use(uses, key, later)
        assert await _last_used(uow, key) == later

    run(adapter, body)


def test_a_wrong_secret_finds_the_key_but_records_no_use(adapter: Adapter) -> None:
    async def body(uses: ApiKeyUse, uow: Callable[[], UnitOfWork]) -> None:
        key = await _key(uow)
        forged = key.prefix + "x" * secrets.API_KEY_SECRET_CHARS
        found = await _use(uses, key, NOW, secret=forged)
        assert found is not None
        assert found.secret_hash == key.record.secret_hash != secrets.digest(forged)
        assert await _last_used(uow, key) is None

    run(adapter, body)


def test_a_revoked_key_is_reported_and_its_use_not_recorded(adapter: Adapter) -> None:
    async def body(uses: ApiKeyUse, uow: Callable[[], UnitOfWork]) -> None:
        key = await _key(uow)
        async with uow() as unit:
            await unit.api_keys.revoke(key.record.id, NOW)
            await unit.commit()
        found = await _use(uses, key, NOW + INTERVAL)
        assert found is not None and found.revoked and found.merchant_active
        assert await _last_used(uow, key) is None

    run(adapter, body)


def test_a_deactivated_merchants_key_is_reported_and_its_use_not_recorded(adapter: Adapter) -> None:
    async def body(uses: ApiKeyUse, uow: Callable[[], UnitOfWork]) -> None:
        key = await _key(uow, merchant_active=False)
        found = await _use(uses, key, NOW)
        assert found is not None and not found.merchant_active and not found.revoked
        assert await _last_used(uow, key) is None

    run(adapter, body)
