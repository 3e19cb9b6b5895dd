"""Wiring: build every dependency from Settings once, explicitly (no module-level globals)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.app.rate_limit import InProcessLimiter, NoLimit, RateLimiter, RedisLimiter
from paysim.app.redis_guard import GuardedRedis, connect
from paysim.config import Settings
from paysim.contract.webhook_messages import payment_json
from paysim.domain.circuit_breaker import BreakerConfig
from paysim.domain.roles import Role
from paysim.domain.webhooks import TargetRules
from paysim.gateways.registry import build_gateways
from paysim.security import signing_key
from paysim.security.access_tokens import AccessTokenCodec
from paysim.security.passwords import PasswordHasher
from paysim.security.webhook_secrets import SecretBox
from paysim.services.accounts import AccountPolicy, AccountService
from paysim.services.authentication import Authenticator, PrincipalCache
from paysim.services.circuit_breakers import CircuitBreakers
from paysim.services.clock import Clock, system_clock
from paysim.services.customers import CustomerService
from paysim.services.event_bus import EventBus, InProcessBus, PostgresBus
from paysim.services.event_feed import EventFeed
from paysim.services.gateway_faults import GatewayFaultService
from paysim.services.gateway_routes import ConfiguredRoutes
from paysim.services.login_limits import LoginLimits
from paysim.services.merchants import MerchantService
from paysim.services.payments import PaymentService
from paysim.services.routing import GatewayRouter
from paysim.services.simulator_control import SimulatorControl
from paysim.services.subscriptions import Limits, SubscriptionService
from paysim.services.threeds import ThreeDSAuthenticator, ThreeDSService
from paysim.services.webhook_dispatch import DispatchConfig, WebhookDispatcher
from paysim.services.webhook_sender import WebhookSender
from paysim.services.webhook_targets import TargetGuard
from paysim.services.webhooks import WebhookService
from paysim.store import migrate
from paysim.store.database import create_engine, is_sqlite
from paysim.store.event_log import EventLog
from paysim.store.pg_connection import DatabaseLimits
from paysim.store.pg_unit_of_work import PgPaymentUnitOfWork, create_pool
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger("paysim.bootstrap")


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    hasher: PasswordHasher
    accounts: AccountService
    merchants: MerchantService
    customers: CustomerService
    payments: PaymentService
    router: GatewayRouter
    breakers: CircuitBreakers
    faults: GatewayFaultService
    simulator: SimulatorControl
    three_ds: ThreeDSService
    authenticator: Authenticator
    limiter: RateLimiter
    webhooks: WebhookService
    dispatcher: WebhookDispatcher
    webhook_sender: WebhookSender
    subscriptions: SubscriptionService
    clock: Clock = field(default=system_clock)
    payment_pool: AsyncConnectionPool[Any] | None = None
    redis: GuardedRedis | None = None  # the rate limiters' shared counters, when configured

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
        if self.redis is not None:
            await self.redis.close()
        self.hasher.close()
        if self.payment_pool is not None:
            await self.payment_pool.close()
        await self.engine.dispose()


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


def _limiter(settings: Settings, redis: GuardedRedis | None) -> RateLimiter:
    return _counter(settings, redis, settings.rate_limit_per_minute, "rl")


def _login_limits(settings: Settings, redis: GuardedRedis | None) -> LoginLimits:
    return LoginLimits(
        per_address=_counter(settings, redis, settings.login_limit_per_address_per_minute, "login"),
        per_email=_counter(settings, redis, settings.login_limit_per_email_per_minute, "login"),
    )


def _counter(settings: Settings, redis: GuardedRedis | None, per_minute: int, namespace: str) -> RateLimiter:
    if per_minute <= 0:
        return NoLimit()
    if redis is not None:
        # Counters are shared by the processes of one deployment (one database), never by two
        # deployments that happen to share a Redis.
        database = hashlib.sha256(settings.effective_database_url.encode()).hexdigest()[:16]
        return RedisLimiter(
            redis,
            per_minute,
            namespace=f"paysim:{namespace}:{database}",
            fail_open=settings.rate_limit_failure_mode == "open",
        )
    return InProcessLimiter(per_minute)


def _breaker_config(settings: Settings) -> BreakerConfig:
    return BreakerConfig(
        failure_threshold=settings.breaker_failure_threshold,
        window=timedelta(seconds=settings.breaker_window_seconds),
        cool_down=timedelta(seconds=settings.breaker_cool_down_seconds),
        max_probes=settings.breaker_half_open_probes,
        success_threshold=settings.breaker_success_threshold,
    )


def _dispatch_config(settings: Settings) -> DispatchConfig:
    return DispatchConfig(
        lease=timedelta(seconds=settings.webhook_lease_seconds),
        backoff_scale=settings.webhook_backoff_scale,
        max_attempts=settings.webhook_max_attempts,
        poll_seconds=settings.webhook_poll_seconds,
        concurrency=settings.webhook_concurrency,
    )


def database_limits(settings: Settings) -> DatabaseLimits:
    return DatabaseLimits(
        connect_seconds=settings.db_connect_timeout_seconds,
        statement_seconds=settings.db_statement_timeout_seconds,
        pool_seconds=settings.db_pool_timeout_seconds,
    )


def _event_bus(url: str, limits: DatabaseLimits) -> EventBus:
    # SQLite serves one process: its commits announce themselves in-process. On PostgreSQL
    # they are also announced to every other process (services/event_bus.py says how and why).
    return InProcessBus() if is_sqlite(url) else PostgresBus(url, limits)


async def bootstrap(settings: Settings, *, clock: Clock = system_clock, run_migrations: bool = True) -> App:
    url = settings.effective_database_url
    payment_pool = None
    # Rung after every commit of this process that wrote webhook deliveries: the dispatcher
    # sends them at once instead of at its next poll.
    outbox_doorbell = asyncio.Event()
    limits = database_limits(settings)
    bus = _event_bus(url, limits)
    if is_sqlite(url):
        engine = create_engine(url, pool_size=settings.db_pool_size, limits=limits)
    else:
        # Payments take their connections from a psycopg pool of their own; everything else
        # shares a smaller SQLAlchemy pool.
        engine = create_engine(url, pool_size=max(4, settings.db_pool_size // 2), limits=limits)
        payment_pool = create_pool(url, settings.db_pool_size, limits)
    if run_migrations:
        await migrate.upgrade(engine)
    if payment_pool is not None:
        await payment_pool.open(wait=False)

        def payment_uow() -> PgPaymentUnitOfWork:
            return PgPaymentUnitOfWork(payment_pool, outbox_written=outbox_doorbell.set, events_committed=bus.committed)

    def uow() -> UnitOfWork:
        return UnitOfWork(engine, outbox_written=outbox_doorbell.set, events_committed=bus.committed)

    key = signing_key.load_or_create(settings.jwt_secret, settings.data_dir)
    # paysim is its merchants' 3DS server: challenge messages are signed with keys derived from the
    # server secret, so every process (and a restart) verifies what another signed.
    three_ds = ThreeDSAuthenticator(uow, key, clock, policy_cache_seconds=settings.auth_cache_seconds)
    access = AccessTokenCodec(
        key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
    hasher = PasswordHasher(
        settings.bcrypt_rounds,
        concurrency=settings.password_hash_concurrency,
        wait_seconds=settings.password_hash_wait_seconds,
    )
    principals = PrincipalCache(settings.auth_cache_seconds)
    redis = _redis(settings)
    policy = AccountPolicy(
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        max_failures=settings.login_max_failures,
        lockout=timedelta(seconds=settings.login_lockout_seconds),
    )
    breakers = CircuitBreakers(uow, clock, _breaker_config(settings))
    faults = GatewayFaultService(uow, clock)
    routes = ConfiguredRoutes(uow, settings.gateway_timeout_ms, settings.auth_cache_seconds)
    router = GatewayRouter(build_gateways(), breakers, faults, routes, uow, clock)
    payments = PaymentService(
        uow,
        router,
        signing_key.load_or_create(settings.fingerprint_secret, settings.data_dir, signing_key.FINGERPRINT_KEY_FILE),
        clock,
        # Stripe keeps keys at least 24 hours; a longer lifetime may be configured, not a shorter one.
        idempotency_ttl=timedelta(hours=max(settings.idempotency_ttl_hours, 24.0)),
        recover_after=timedelta(seconds=settings.recover_after_seconds),
        payment_uow=payment_uow if payment_pool is not None else None,
        merchant_cache_seconds=settings.auth_cache_seconds,
        three_ds=three_ds,
    )

    def merchants_changed() -> None:
        principals.clear()
        payments.merchants_changed()

    def gateway_configs_changed(merchant_id: str) -> None:
        """A merchant's gateway configurations were set or deleted in this process: routing drops
        its cached copy for ``merchant_id``."""
        routes.changed(merchant_id)

    webhook_box = SecretBox(
        signing_key.load_or_create(settings.webhook_secret_key, settings.data_dir, signing_key.WEBHOOK_KEY_FILE)
    )
    webhook_guard = TargetGuard(
        TargetRules(
            allow_loopback=settings.webhook_allow_loopback,
            allow_private=settings.webhook_allow_private,
            allow_link_local=settings.webhook_allow_link_local,
        )
    )
    webhook_sender = WebhookSender(webhook_guard, settings.webhook_timeout_seconds)
    dispatcher = WebhookDispatcher(
        uow, webhook_sender, webhook_box, payment_json, clock, _dispatch_config(settings), outbox_doorbell
    )
    events = EventLog(engine)
    subscriptions = SubscriptionService(
        uow,
        events,
        EventFeed(events, bus, poll_seconds=settings.event_poll_seconds),
        payments.get,
        Limits(
            per_principal=settings.subscriptions_per_principal,
            per_process=settings.subscriptions_per_process,
            buffer_events=settings.subscription_buffer_events,
            heartbeat_seconds=settings.subscription_heartbeat_seconds,
        ),
    )

    app = App(
        settings=settings,
        engine=engine,
        hasher=hasher,
        accounts=AccountService(uow, hasher, access, policy, clock, _login_limits(settings, redis)),
        merchants=MerchantService(
            uow, hasher, clock, merchants_changed, gateway_configs_changed=gateway_configs_changed
        ),
        customers=CustomerService(uow, clock),
        payments=payments,
        router=router,
        breakers=breakers,
        faults=faults,
        simulator=SimulatorControl(uow, faults, breakers, router, clock),
        three_ds=ThreeDSService(uow, payments, three_ds, clock),
        authenticator=Authenticator(uow, access, clock, principals),
        limiter=_limiter(settings, redis),
        webhooks=WebhookService(
            uow,
            webhook_box,
            webhook_guard,
            clock,
            default_overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
            deliveries_due=dispatcher.wake,
        ),
        dispatcher=dispatcher,
        webhook_sender=webhook_sender,
        subscriptions=subscriptions,
        clock=clock,
        payment_pool=payment_pool,
        redis=redis,
    )
    if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
        await ensure_admin(app, settings.bootstrap_admin_email, settings.bootstrap_admin_password)
    return app


def check_admin(email: str, password: str) -> str:
    """The normalized email of an admin account to create; InvalidArgument for a bad email or
    password (checked before any database is touched)."""
    from paysim.domain.validation import Violations, check_email, check_password, normalize_email

    email = normalize_email(email)
    v = Violations()
    check_email(v, "email", email)
    check_password(v, "password", password)
    v.raise_if_any()
    return email


async def ensure_admin(app: App, email: str, password: str, full_name: str = "Administrator") -> bool:
    """Create an admin account unless one with this email exists. True if it was created."""
    email = check_admin(email, password)
    async with app.unit_of_work() as uow:
        if await uow.users.get_by_email(email) is not None:
            return False
    await app.accounts.create_user(email, password, full_name, Role.ADMIN, None)
    log.info("admin account created", extra={"fields": {"email": email}})
    return True
