"""One contract for every repository adapter of the payment use cases (store/ports.py), run
against real databases: the SQLAlchemy adapters on SQLite and on PostgreSQL, and the psycopg
adapters of the PostgreSQL payment unit of work; and against the in-memory fakes of the fast
service tests (tests/support/fakes.py), which keeps them honest. Also the store's promise to report a taken
unique value as the domain's exception, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar, cast

import pytest

from paysim.domain import ids, payment
from paysim.domain.circuit_breaker import reset
from paysim.domain.duplicates import ApiKeyNameTaken, DuplicateEmail, MerchantNameTaken
from paysim.domain.errors import Aborted
from paysim.domain.gateway_faults import PLATFORM_SCOPE, FaultMode, GatewayFaults
from paysim.domain.models import ApiKey, Customer, Merchant, User
from paysim.domain.payment_events import PaymentAttemptFailed, PaymentCreated
from paysim.domain.roles import Role
from paysim.domain.test_clocks import TestClock, start_advance
from paysim.store.database import create_engine
from paysim.store.pg_batch import KeyAlreadyClaimed
from paysim.store.pg_connection import DatabaseLimits
from paysim.store.pg_pool import create_pool
from paysim.store.pg_unit_of_work import PgPaymentUnitOfWork
from paysim.store.ports import PaymentStore
from paysim.store.repositories.idempotency import COMPLETED, IN_FLIGHT
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from paysim.store.unit_of_work import UnitOfWork
from tests.support import backends
from tests.support.fakes import InMemoryDatabase, unit_of_work_factory

T = TypeVar("T")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LIMITS = DatabaseLimits()


@dataclass(frozen=True)
class Adapter:
    """Which unit of work serves the payment use cases, on which database."""

    backend: str
    engine: str  # "sqlalchemy", "psycopg" or "fake" (in memory)
    database_url: str = ""

    @property
    def id(self) -> str:
        return f"{self.engine}-{self.backend}"


ADAPTERS = [Adapter(name, "sqlalchemy") for name in backends.available()]
if "postgres" in backends.available():
    ADAPTERS.append(Adapter("postgres", "psycopg"))
ADAPTERS.append(Adapter("memory", "fake"))


def _migrated(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with backends.migrated(name, tmp_path_factory.mktemp(name)) as database_url:
        yield database_url


@pytest.fixture(scope="module", params=ADAPTERS, ids=lambda a: a.id)
def adapter(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    chosen: Adapter = request.param
    if chosen.engine == "fake":
        yield chosen
        return
    for url in _migrated(chosen.backend, tmp_path_factory):
        yield replace(chosen, database_url=url)


@pytest.fixture(scope="module", params=backends.available())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _migrated(request.param, tmp_path_factory)


Body = Callable[[Callable[[], PaymentStore], Callable[[], UnitOfWork]], Awaitable[T]]


def run(adapter: Adapter, body: Body[T]) -> T:
    """Run ``body`` with a factory of the adapter's unit of work and one of the SQLAlchemy unit
    of work (to arrange and check rows), on a fresh event loop."""

    async def main() -> T:
        async with _units(adapter.database_url, adapter.engine) as (store, uow):
            return await body(store, uow)

    return asyncio.run(main())


@asynccontextmanager
async def _units(
    database_url: str, engine_kind: str
) -> AsyncIterator[tuple[Callable[[], PaymentStore], Callable[[], UnitOfWork]]]:
    if engine_kind == "fake":
        units = cast(Callable[[], UnitOfWork], unit_of_work_factory(InMemoryDatabase()))
        yield units, units
        return
    engine = create_engine(database_url, pool_size=2)
    try:
        if engine_kind == "sqlalchemy":
            yield (lambda: UnitOfWork(engine)), (lambda: UnitOfWork(engine))
            return
        pool = create_pool(database_url, 2, LIMITS)
        await pool.open()
        try:
            yield (lambda: PgPaymentUnitOfWork(pool)), (lambda: UnitOfWork(engine))
        finally:
            await pool.close()
    finally:
        await engine.dispose()


def _merchant(name: str | None = None) -> Merchant:
    mid = ids.new_id(ids.MERCHANT)
    return Merchant(mid, name or f"Shop {mid}", "shop@example.com", "EUR", True, NOW, NOW, 290, 30)


def _payment(merchant_id: str) -> payment.PaymentState:
    created = PaymentCreated(
        at=NOW,
        merchant_id=merchant_id,
        customer_id="",
        amount=1234,
        currency="EUR",
        capture_method=payment.CaptureMethod.MANUAL,
        card=payment.Card("visa", "424242", "4242", 12, 2030, "f", ""),
        description="",
        fee_percent_bps=0,
        fee_fixed=0,
    )
    return payment.create(created, ids.new_id("pay"))


def _events(count: int) -> list[payment.PaymentEvent]:
    return [PaymentAttemptFailed(at=NOW) for _ in range(count)]


async def _with_merchant(uow: Callable[[], UnitOfWork], merchant: Merchant | None = None) -> Merchant:
    merchant = merchant or _merchant()
    async with uow() as unit:
        await unit.merchants.add(merchant)
        await unit.commit()
    return merchant


# --- payments ------------------------------------------------------------------------------------


def test_a_saved_payment_reads_back_with_its_events(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        merchant = await _with_merchant(uow)
        created = _payment(merchant.id)
        after = replace(created, version=3)
        async with store() as unit:
            saved = await unit.payments.save(None, after, _events(3))
            assert unit.payments.wrote_events
            await unit.commit()
        assert [e.version for e in saved] == [1, 2, 3]
        async with store() as unit:
            assert await unit.payments.get(after.id) == after
            assert await unit.payments.get(after.id, for_update=True) == after
            assert await unit.payments.get("pay_missing") is None
        async with uow() as check:
            stored = await check.payments.events(after.id)
        assert [(e.id, e.version) for e in stored] == [(e.id, e.version) for e in saved]
        assert [e.sequence for e in stored] == sorted(e.sequence for e in stored)

    run(adapter, body)


def test_a_save_from_a_stale_version_is_a_concurrent_modification(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        merchant = await _with_merchant(uow)
        first = _payment(merchant.id)
        async with store() as unit:
            await unit.payments.save(None, first, _events(1))
            await unit.commit()
        moved = replace(first, version=2)
        async with store() as unit:
            await unit.payments.save(first, moved, _events(1))
            await unit.commit()
        with pytest.raises(Aborted) as raised:
            async with store() as unit:
                await unit.payments.save(first, moved, _events(1))
                await unit.commit()
        assert raised.value.reason == CONCURRENT_MODIFICATION
        async with store() as unit:
            assert await unit.payments.get(first.id) == moved

    run(adapter, body)


def test_a_payment_is_snapshotted_every_twenty_versions(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        merchant = await _with_merchant(uow)
        first = _payment(merchant.id)
        nineteen = replace(first, version=19)
        async with store() as unit:
            await unit.payments.save(None, nineteen, _events(19))
            await unit.commit()
        async with uow() as check:
            assert await check.payments.snapshot(first.id) is None
        twenty = replace(first, version=20, amount=999)
        async with store() as unit:
            await unit.payments.save(nineteen, twenty, _events(1))
            await unit.commit()
        async with uow() as check:
            assert await check.payments.snapshot(first.id) == twenty

    run(adapter, body)


def test_nothing_of_an_uncommitted_unit_of_work_is_kept(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        merchant = await _with_merchant(uow)
        uncommitted = _payment(merchant.id)
        async with store() as unit:
            await unit.payments.save(None, uncommitted, _events(1))
        async with store() as unit:
            assert await unit.payments.get(uncommitted.id) is None

    run(adapter, body)


# --- idempotency keys ----------------------------------------------------------------------------


def test_a_key_is_claimed_once_and_completed(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        owner, key, later = ids.new_id(ids.MERCHANT), ids.new_id("key"), NOW + timedelta(hours=1)
        async with store() as unit:
            assert await unit.idempotency.claim(owner, key, "Create", "fp", NOW, later, payment_id="pay_1") is None
            await unit.commit()
        async with store() as unit:
            existing = await unit.idempotency.claim(owner, key, "Create", "other", NOW, later)
            assert existing is not None
            assert (existing.fingerprint, existing.state, existing.payment_id) == ("fp", IN_FLIGHT, "pay_1")
            await unit.idempotency.complete(owner, key, 0, b"\x00answer", NOW)
            await unit.commit()
        async with store() as unit:
            done = await unit.idempotency.get(owner, key)
        assert done is not None
        assert (done.state, done.response_code, done.response_blob) == (COMPLETED, 0, b"\x00answer")
        assert done.expires_at == later

    run(adapter, body)


def test_an_expired_key_is_free_again(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        owner, key = ids.new_id(ids.MERCHANT), ids.new_id("key")
        async with store() as unit:
            await unit.idempotency.claim(owner, key, "Create", "old", NOW, NOW + timedelta(seconds=1))
            await unit.commit()
        later = NOW + timedelta(hours=1)
        async with store() as unit:
            assert await unit.idempotency.claim(owner, key, "Create", "new", later, later + timedelta(hours=1)) is None
            await unit.commit()
        async with store() as unit:
            renewed = await unit.idempotency.get(owner, key)
        assert renewed is not None and renewed.fingerprint == "new"

    run(adapter, body)


def test_a_reserved_key_is_claimed_and_a_taken_one_is_never_overwritten(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        owner, key, later = ids.new_id(ids.MERCHANT), ids.new_id("key"), NOW + timedelta(hours=1)
        async with store() as unit:
            assert await unit.idempotency.reserve(owner, key, "Create", "fp", NOW, later) is None
            await unit.commit()
        try:
            async with store() as unit:
                existing = await unit.idempotency.reserve(owner, key, "Create", "other", NOW, later)
                if existing is None:  # the reservation waits for the commit: the clash surfaces there
                    await unit.commit()
                    pytest.fail("a taken key was reserved again")
                assert existing.fingerprint == "fp"
        except KeyAlreadyClaimed:
            assert adapter.engine == "psycopg"
        async with store() as unit:
            kept = await unit.idempotency.get(owner, key)
        assert kept is not None and (kept.fingerprint, kept.state) == ("fp", IN_FLIGHT)

    run(adapter, body)


# --- what a payment reads of its merchant, customer and routing ---------------------------------


def test_the_merchant_and_customer_read_back_as_written(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        merchant = await _with_merchant(uow)
        customer = Customer(
            ids.new_id(ids.CUSTOMER), merchant.id, "c@example.com", "C", "+1", {"k": "v"}, None, NOW, NOW
        )
        async with uow() as unit:
            await unit.customers.add(customer)
            await unit.commit()
        async with store() as unit:
            assert await unit.merchants.get(merchant.id) == merchant
            assert await unit.customers.get(customer.id) == customer
            assert await unit.merchants.get("mer_missing") is None
            assert await unit.customers.get("cus_missing") is None

    run(adapter, body)


def test_a_test_clock_and_a_customer_on_it_read_back_as_written(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        merchant = await _with_merchant(uow)
        clock = TestClock(ids.new_id(ids.TEST_CLOCK), merchant.id, "checkout", NOW, NOW)
        advancing = start_advance(clock, NOW + timedelta(days=1))
        assert advancing is not None
        customer = Customer(
            ids.new_id(ids.CUSTOMER), merchant.id, "c@example.com", "C", "", {}, None, NOW, NOW, clock.id
        )
        async with uow() as unit:
            await unit.test_clocks.add(clock)
            await unit.test_clocks.save(advancing)
            await unit.customers.add(customer)
            await unit.commit()
        async with store() as unit:
            assert await unit.test_clocks.get(clock.id) == advancing
            assert await unit.customers.get(customer.id) == customer
            assert await unit.test_clocks.get("clk_missing") is None

    run(adapter, body)


def test_routing_reads_the_merchants_breakers_and_the_faults_in_force(adapter: Adapter) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        merchant = await _with_merchant(uow)
        own = GatewayFaults(merchant.id, "stripe_like", FaultMode.ERROR, None)
        platform = GatewayFaults(PLATFORM_SCOPE, "paypal_like", FaultMode.TIMEOUT, NOW + timedelta(hours=1))
        elsewhere = GatewayFaults(ids.new_id(ids.MERCHANT), "stripe_like", FaultMode.ERROR, None)
        async with uow() as unit:
            await unit.circuit_breakers.save(merchant.id, "stripe_like", reset(NOW), 0, now=NOW)
            for faults in (own, platform, elsewhere):
                await unit.gateway_faults.save(faults, NOW)
            await unit.commit()
        async with store() as unit:
            state = await unit.routing.load(merchant.id)
        assert list(state.breakers) == ["stripe_like"]
        assert state.breakers["stripe_like"].state == reset(NOW)
        assert state.breakers["stripe_like"].version == 1
        found = {(f.scope, f.gateway): (f.outage, f.outage_until) for f in state.faults}
        assert found == {
            (merchant.id, "stripe_like"): (FaultMode.ERROR, None),
            (PLATFORM_SCOPE, "paypal_like"): (FaultMode.TIMEOUT, NOW + timedelta(hours=1)),
        }

    run(adapter, body)


# --- unique values ------------------------------------------------------------------------------


def _user(email: str, merchant_id: str | None = None) -> User:
    return User(ids.new_id(ids.USER), email, "U", Role.CUSTOMER, True, merchant_id, NOW, NOW, "hash")


def test_a_taken_unique_value_is_the_domains_exception(database_url: str) -> None:
    async def body(store: Callable[[], PaymentStore], uow: Callable[[], UnitOfWork]) -> None:
        first = await _with_merchant(uow)
        with pytest.raises(MerchantNameTaken):
            async with uow() as unit:
                await unit.merchants.add(_merchant(f"  {first.name.upper()} "))
        other = await _with_merchant(uow)
        with pytest.raises(MerchantNameTaken):
            async with uow() as unit:
                await unit.merchants.update(replace(other, name=first.name))
        email = f"{ids.new_id('u')}@example.com"
        async with uow() as unit:
            await unit.users.add(_user(email))
            await unit.commit()
        with pytest.raises(DuplicateEmail):
            async with uow() as unit:
                await unit.users.add(_user(email))
        key = ApiKey(ids.new_id(ids.API_KEY), first.id, "ci", ids.new_id("p"), NOW, None, None, "h")
        async with uow() as unit:
            await unit.api_keys.add(key)
            await unit.commit()
        with pytest.raises(ApiKeyNameTaken):
            async with uow() as unit:
                await unit.api_keys.add(replace(key, id=ids.new_id(ids.API_KEY), prefix=ids.new_id("p")))

    run(Adapter("", "sqlalchemy", database_url), body)
