"""The composition root: every service built once from Settings and the adapters it is handed.

One function per group of services; each receives what it depends on, so a test can hand
``build_app`` fake adapters (a clock, gateways, an event bus) and get the real services over them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from paysim.app.adapters import Adapters
from paysim.app.container import App
from paysim.app.rate_limit import InProcessLimiter, NoLimit, RateLimiter, RedisLimiter
from paysim.config import Settings
from paysim.contract.webhook_messages import payment_json
from paysim.domain.circuit_breaker import BreakerConfig
from paysim.domain.messages import (
    GatewayConfigsChanged,
    MerchantChanged,
    PaymentEventsCommitted,
    WebhookDeliveriesWritten,
)
from paysim.domain.webhooks import TargetRules
from paysim.observability import metrics, tracing
from paysim.security.access_tokens import AccessTokenCodec
from paysim.security.passwords import PasswordHasher
from paysim.security.webhook_secrets import SecretBox
from paysim.services.accounts import AccountPolicy, AccountService
from paysim.services.analytics import AnalyticsService
from paysim.services.analytics_projector import AnalyticsProjector
from paysim.services.authentication import Authenticator, PrincipalCache
from paysim.services.authorization_expiry import AuthorizationExpiry
from paysim.services.chaos import ChaosService
from paysim.services.circuit_breakers import CircuitBreakers
from paysim.services.clock import Clock
from paysim.services.clock_transitions import (
    AuthorizationExpiryOnClock,
    ChallengeExpiryOnClock,
    RefundSettlementOnClock,
    WebhookAttemptsOnClock,
)
from paysim.services.customers import CustomerService
from paysim.services.disputes import DisputeService
from paysim.services.event_feed import EventFeed
from paysim.services.gateway_faults import GatewayFaultService
from paysim.services.gateway_routes import ConfiguredRoutes
from paysim.services.login_limits import LoginLimits
from paysim.services.merchants import MerchantService
from paysim.services.message_bus import MessageBus
from paysim.services.payments import PaymentService
from paysim.services.refund_settlement import RefundSettlement
from paysim.services.routing import GatewayRouter
from paysim.services.simulator_control import SimulatorControl
from paysim.services.subscriptions import Limits, SubscriptionService
from paysim.services.test_clocks import ClockTransitions, TestClockService
from paysim.services.threeds import ThreeDSAuthenticator, ThreeDSService
from paysim.services.webhook_dispatch import DispatchConfig, WebhookDispatcher
from paysim.services.webhook_sender import WebhookSender
from paysim.services.webhook_targets import TargetGuard
from paysim.services.webhooks import WebhookService
from paysim.store.analytics_reader import AnalyticsReader
from paysim.store.analytics_writer import AnalyticsWriter
from paysim.store.api_key_use import ApiKeyUse
from paysim.store.event_log import EventLog
from paysim.store.pg_analytics_writer import PgAnalyticsWriter
from paysim.store.pg_api_key_use import PgApiKeyUse
from paysim.store.pg_event_reads import PgEventReads
from paysim.store.pg_unit_of_work import PgPaymentUnitOfWork
from paysim.store.unit_of_work import UnitOfWork, UnitOfWorkFactory


def build_app(settings: Settings, adapters: Adapters) -> App:
    bus = MessageBus()
    uow = _units_of_work(adapters, bus)
    identity = _identity(settings, adapters, uow)
    payments = _payments(settings, adapters, uow, bus)
    webhooks = _webhooks(settings, adapters, uow)
    clock = adapters.clock
    disputes = DisputeService(uow, clock)
    _subscribe_handlers(bus, adapters, identity, payments, webhooks)
    three_ds = ThreeDSService(uow, payments.payments, payments.three_ds, clock)
    return App(
        settings=settings,
        adapters=adapters,
        accounts=identity.accounts,
        merchants=MerchantService(uow, identity.hasher, clock),
        customers=CustomerService(uow, clock),
        payments=payments.payments,
        three_ds=three_ds,
        simulator=SimulatorControl(uow, payments.faults, payments.breakers, payments.router, clock, payments.chaos),
        # Each source of what falls due on a test clock as it advances.
        test_clocks=TestClockService(
            uow,
            clock,
            [*_clock_transitions(uow, clock, three_ds), disputes, WebhookAttemptsOnClock(webhooks.dispatcher)],
        ),
        disputes=disputes,
        webhooks=webhooks.service,
        subscriptions=_subscriptions(settings, adapters, uow, payments.payments),
        authenticator=identity.authenticator,
        limiter=_counter(settings, adapters, settings.rate_limit_per_minute, "rl"),
        dispatcher=webhooks.dispatcher,
        webhook_sender=webhooks.sender,
        breakers=payments.breakers,
        hasher=identity.hasher,
        router=payments.router,
        faults=payments.faults,
        analytics=AnalyticsService(AnalyticsReader(adapters.engine)),
        projector=AnalyticsProjector(
            _event_log(adapters),
            _analytics_writer(adapters),
            adapters.bus,
            clock,
            poll_seconds=settings.event_poll_seconds,
        ),
    )


def _clock_transitions(uow: UnitOfWorkFactory, clock: Clock, three_ds: ThreeDSService) -> list[ClockTransitions]:
    """What falls due on a test clock's objects as it advances (services/clock_transitions.py)."""
    return [
        ChallengeExpiryOnClock(uow, three_ds),
        AuthorizationExpiryOnClock(uow, AuthorizationExpiry(uow, clock)),
        RefundSettlementOnClock(uow, RefundSettlement(uow, clock)),
    ]


def _subscribe_handlers(
    bus: MessageBus, adapters: Adapters, identity: _Identity, payments: _Payments, webhooks: _Webhooks
) -> None:
    """What this process does after a commit, by what the commit said (domain/messages.py)."""
    # Streams of this process read at once; on PostgreSQL the others are told with a NOTIFY.
    bus.subscribe(PaymentEventsCommitted, lambda _: adapters.bus.committed())
    # The dispatcher sends new deliveries now instead of at its next poll.
    bus.subscribe(WebhookDeliveriesWritten, lambda _: webhooks.dispatcher.wake())
    # Cached authentications and merchant settings are stale (other processes: within their TTL).
    bus.subscribe(MerchantChanged, lambda _: identity.principals.clear())
    bus.subscribe(MerchantChanged, lambda _: payments.payments.merchants_changed())
    bus.subscribe(GatewayConfigsChanged, lambda message: payments.routes.changed(message.merchant_id))


def _units_of_work(adapters: Adapters, bus: MessageBus) -> UnitOfWorkFactory:
    def uow() -> UnitOfWork:
        return UnitOfWork(adapters.engine, publish=bus.publish)

    return tracing.traced_units_of_work(uow)  # uow itself while tracing is off


@dataclass(frozen=True, slots=True)
class _Identity:
    hasher: PasswordHasher
    principals: PrincipalCache
    accounts: AccountService
    authenticator: Authenticator


def _identity(settings: Settings, adapters: Adapters, uow: UnitOfWorkFactory) -> _Identity:
    access = AccessTokenCodec(
        adapters.keys.signing,
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
    policy = AccountPolicy(
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        max_failures=settings.login_max_failures,
        lockout=timedelta(seconds=settings.login_lockout_seconds),
    )
    login_limits = LoginLimits(
        per_address=_counter(settings, adapters, settings.login_limit_per_address_per_minute, "login"),
        per_email=_counter(settings, adapters, settings.login_limit_per_email_per_minute, "login"),
    )
    return _Identity(
        hasher=hasher,
        principals=principals,
        accounts=AccountService(uow, hasher, access, policy, adapters.clock, login_limits),
        authenticator=Authenticator(uow, access, adapters.clock, principals, _api_key_uses(adapters)),
    )


def _api_key_uses(adapters: Adapters) -> ApiKeyUse | None:
    pool = adapters.payment_pool
    return PgApiKeyUse(pool) if pool is not None else None


def _counter(settings: Settings, adapters: Adapters, per_minute: int, namespace: str) -> RateLimiter:
    if per_minute <= 0:
        return NoLimit()
    if adapters.redis is not None:
        # Counters are shared by the processes of one deployment (one database), never by two
        # deployments that happen to share a Redis.
        database = hashlib.sha256(settings.effective_database_url.encode()).hexdigest()[:16]
        return RedisLimiter(
            adapters.redis,
            per_minute,
            namespace=f"paysim:{namespace}:{database}",
            fail_open=settings.rate_limit_failure_mode == "open",
        )
    return InProcessLimiter(per_minute)


@dataclass(frozen=True, slots=True)
class _Payments:
    three_ds: ThreeDSAuthenticator
    breakers: CircuitBreakers
    faults: GatewayFaultService
    chaos: ChaosService
    routes: ConfiguredRoutes
    router: GatewayRouter
    payments: PaymentService


def _payments(settings: Settings, adapters: Adapters, uow: UnitOfWorkFactory, bus: MessageBus) -> _Payments:
    clock = adapters.clock
    # paysim is its merchants' 3DS server: challenge messages are signed with keys derived from the
    # server secret, so every process (and a restart) verifies what another signed.
    three_ds = ThreeDSAuthenticator(uow, adapters.keys.signing, clock, policy_cache_seconds=settings.auth_cache_seconds)
    breakers = CircuitBreakers(uow, clock, _breaker_config(settings))
    faults = GatewayFaultService(uow, clock)
    chaos = ChaosService(uow, clock)
    routes = ConfiguredRoutes(uow, settings.gateway_timeout_ms, settings.auth_cache_seconds)
    router = GatewayRouter(adapters.gateways, breakers, faults, routes, uow, clock, chaos)
    payments = PaymentService(
        uow,
        router,
        adapters.keys.fingerprint,
        clock,
        # Stripe keeps keys at least 24 hours; a longer lifetime may be configured, not a shorter one.
        idempotency_ttl=timedelta(hours=max(settings.idempotency_ttl_hours, 24.0)),
        recover_after=timedelta(seconds=settings.recover_after_seconds),
        payment_uow=_payment_units_of_work(adapters, bus),
        merchant_cache_seconds=settings.auth_cache_seconds,
        three_ds=three_ds,
        # PostgreSQL takes writes from other transactions while one is open; SQLite has one writer.
        concurrent_writers=adapters.payment_pool is not None,
    )
    return _Payments(three_ds, breakers, faults, chaos, routes, router, payments)


def _payment_units_of_work(adapters: Adapters, bus: MessageBus) -> Callable[[], PgPaymentUnitOfWork] | None:
    """The payment use cases' units of work, on PostgreSQL; None on SQLite (the ordinary ones)."""
    pool = adapters.payment_pool
    if pool is None:
        return None

    def payment_uow() -> PgPaymentUnitOfWork:
        return PgPaymentUnitOfWork(pool, publish=bus.publish)

    return tracing.traced_units_of_work(metrics.counted_payment_connections(payment_uow))


def _breaker_config(settings: Settings) -> BreakerConfig:
    return BreakerConfig(
        failure_threshold=settings.breaker_failure_threshold,
        window=timedelta(seconds=settings.breaker_window_seconds),
        cool_down=timedelta(seconds=settings.breaker_cool_down_seconds),
        max_probes=settings.breaker_half_open_probes,
        success_threshold=settings.breaker_success_threshold,
    )


@dataclass(frozen=True, slots=True)
class _Webhooks:
    sender: WebhookSender
    dispatcher: WebhookDispatcher
    service: WebhookService


def _webhooks(settings: Settings, adapters: Adapters, uow: UnitOfWorkFactory) -> _Webhooks:
    box = SecretBox(adapters.keys.webhook)
    guard = TargetGuard(
        TargetRules(
            allow_loopback=settings.webhook_allow_loopback,
            allow_private=settings.webhook_allow_private,
            allow_link_local=settings.webhook_allow_link_local,
        )
    )
    sender = WebhookSender(guard, settings.webhook_timeout_seconds)
    dispatch = DispatchConfig(
        lease=timedelta(seconds=settings.webhook_lease_seconds),
        backoff_scale=settings.webhook_backoff_scale,
        max_attempts=settings.webhook_max_attempts,
        poll_seconds=settings.webhook_poll_seconds,
        concurrency=settings.webhook_concurrency,
    )
    dispatcher = WebhookDispatcher(uow, sender, box, payment_json, adapters.clock, dispatch)
    service = WebhookService(
        uow,
        box,
        guard,
        adapters.clock,
        default_overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
    )
    return _Webhooks(sender, dispatcher, service)


def _analytics_writer(adapters: Adapters) -> AnalyticsWriter:
    pool = adapters.payment_pool
    return PgAnalyticsWriter(adapters.engine, pool) if pool is not None else AnalyticsWriter(adapters.engine)


def _event_log(adapters: Adapters) -> EventLog:
    pool = adapters.payment_pool
    return EventLog(adapters.engine, PgEventReads(pool) if pool is not None else None)


def _subscriptions(
    settings: Settings, adapters: Adapters, uow: UnitOfWorkFactory, payments: PaymentService
) -> SubscriptionService:
    events = _event_log(adapters)
    return SubscriptionService(
        uow,
        events,
        EventFeed(events, adapters.bus, poll_seconds=settings.event_poll_seconds),
        payments.get,
        Limits(
            per_principal=settings.subscriptions_per_principal,
            per_process=settings.subscriptions_per_process,
            buffer_events=settings.subscription_buffer_events,
            heartbeat_seconds=settings.subscription_heartbeat_seconds,
        ),
    )
