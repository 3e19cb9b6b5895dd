"""The adapters: everything the services reach outside the process (database, event bus, Redis,
payment gateways, key files) and time. ``open_adapters`` makes the real ones from Settings; a test
builds ``Adapters`` itself to hand the composition root (wiring.py) fakes instead."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.app.redis_guard import GuardedRedis, connect
from paysim.config import Settings
from paysim.gateways.base import Gateway
from paysim.gateways.registry import build_gateways
from paysim.observability import metrics
from paysim.security import signing_key
from paysim.services.clock import Clock, system_clock
from paysim.services.event_bus import EventBus, InProcessBus, PostgresBus
from paysim.store.database import create_engine, is_sqlite
from paysim.store.pg_connection import DatabaseLimits
from paysim.store.pg_pool import create_pool


@dataclass(frozen=True, slots=True)
class Keys:
    """The server's secrets: configured, or development keys kept in the data directory."""

    signing: bytes  # access tokens, and the 3DS server's challenge messages
    fingerprint: bytes  # card and request fingerprints
    webhook: bytes  # seals webhook endpoint secrets at rest


@dataclass(slots=True)
class Adapters:
    engine: AsyncEngine
    bus: EventBus  # announces this process's commits of events (to other processes too, on PostgreSQL)
    gateways: Mapping[str, Gateway]
    keys: Keys
    clock: Clock = field(default=system_clock)
    # PostgreSQL only: the payment use cases' own psycopg pool (opened by the composition root).
    payment_pool: AsyncConnectionPool[Any] | None = None
    redis: GuardedRedis | None = None  # the rate limiters' shared counters, when configured

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()
        if self.payment_pool is not None:
            await self.payment_pool.close()
        await self.engine.dispose()


def open_adapters(settings: Settings, clock: Clock = system_clock) -> Adapters:
    """The real adapters that ``settings`` describes; nothing is connected yet."""
    url = settings.effective_database_url
    limits = database_limits(settings)
    if is_sqlite(url):
        engine, payment_pool = create_engine(url, pool_size=settings.db_pool_size, limits=limits), None
    else:
        # Payments take their connections from a psycopg pool of their own; everything else
        # shares a smaller SQLAlchemy pool.
        engine = create_engine(url, pool_size=max(4, settings.db_pool_size // 2), limits=limits)
        payment_pool = create_pool(url, settings.db_pool_size, limits)
    metrics.watch_engine_pool(engine)
    return Adapters(
        engine=engine,
        bus=_event_bus(url, limits),
        gateways=build_gateways(),
        keys=load_keys(settings),
        clock=clock,
        payment_pool=payment_pool,
        redis=_redis(settings),
    )


def database_limits(settings: Settings) -> DatabaseLimits:
    return DatabaseLimits(
        connect_seconds=settings.db_connect_timeout_seconds,
        statement_seconds=settings.db_statement_timeout_seconds,
        pool_seconds=settings.db_pool_timeout_seconds,
    )


def load_keys(settings: Settings) -> Keys:
    def key(configured: str, filename: str) -> bytes:
        return signing_key.load_or_create(configured, settings.data_dir, filename)

    return Keys(
        signing=key(settings.jwt_secret, signing_key.KEY_FILE),
        fingerprint=key(settings.fingerprint_secret, signing_key.FINGERPRINT_KEY_FILE),
        webhook=key(settings.webhook_secret_key, signing_key.WEBHOOK_KEY_FILE),
    )


def _event_bus(url: str, limits: DatabaseLimits) -> EventBus:
    # SQLite serves one process: its commits announce themselves in-process. On PostgreSQL
    # they are also announced to every other process (services/event_bus.py says how and why).
    return InProcessBus() if is_sqlite(url) else PostgresBus(url, limits)


def _redis(settings: Settings) -> GuardedRedis | None:
    if not settings.redis_url:
        return None
    fail_open = settings.rate_limit_failure_mode == "open"
    return GuardedRedis(
        connect(settings.redis_url, settings.redis_timeout_seconds),
        timeout=settings.redis_timeout_seconds,
        retry_seconds=settings.redis_retry_seconds,
        clock=system_clock,
        consequence="rate limits are not enforced" if fail_open else "rate-limited calls are refused",
    )
