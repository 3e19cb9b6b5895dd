"""The one Settings object, built once from ``PAYSIM_*`` environment variables.

Defaults serve out of the box: SQLite in a data directory, in-process fallbacks for Redis.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

# What the rate limits do while Redis is unavailable: let calls through, or refuse them.
FAILURE_MODES = ("open", "closed")


class ConfigError(ValueError):
    """A setting has a value paysim cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    listen: str = "127.0.0.1:50051"
    workers: int = 1
    data_dir: Path = field(default_factory=lambda: Path(".paysim"))
    database_url: str = ""  # empty: SQLite file in data_dir
    redis_url: str = ""  # empty: in-process fallbacks
    redis_timeout_seconds: float = 0.25  # one Redis operation (connect, command) gives up after this
    redis_retry_seconds: float = 5.0  # once Redis has failed a few times, it is left alone this long
    jwt_secret: str = ""  # empty: a development key generated and kept in data_dir
    fingerprint_secret: str = ""  # keys card and request fingerprints; empty: generated like jwt_secret
    jwt_issuer: str = "paysim"
    jwt_audience: str = "paysim-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 7 * 24 * 3600
    bcrypt_rounds: int = 12
    password_hash_concurrency: int = 2  # bcrypt hashes at a time, per process
    password_hash_wait_seconds: float = 1.0  # a caller that gets no turn by then is told to retry
    login_max_failures: int = 10
    login_lockout_seconds: int = 30 * 60
    login_limit_per_email_per_minute: int = 20  # 0 disables
    login_limit_per_address_per_minute: int = 60  # 0 disables
    rate_limit_per_minute: int = 0  # per principal; 0 disables
    rate_limit_failure_mode: str = "open"  # while Redis is unavailable: "open" lets calls through, "closed" refuses
    auth_cache_seconds: float = 5.0  # how long another process may still accept a revoked key
    max_message_bytes: int = 1024 * 1024
    max_concurrent_streams: int = 1000
    # Calls accepted but not yet started; a burst of subscribes past it is refused (server.py).
    max_pending_requests: int = 20_000
    subscriptions_per_principal: int = 20  # open event streams per caller, per process
    subscriptions_per_process: int = 5000
    subscription_buffer_events: int = 1000  # undelivered events a stream may hold before it is ended
    subscription_heartbeat_seconds: float = 15.0  # an idle stream sends a heartbeat this often
    event_poll_seconds: float = 1.0  # the event feed reads the store at least this often
    keepalive_time_seconds: int = 30
    keepalive_timeout_seconds: int = 10
    grace_seconds: float = 10.0
    health_probe_seconds: float = 2.0
    health_probe_timeout_seconds: float = 2.0  # a probe query unanswered by then: NOT_SERVING
    maintenance_interval_seconds: float = 30.0
    recover_after_seconds: float = 30.0  # a payment silent this long after its gateway call is recovered
    idempotency_ttl_hours: float = 24.0
    # Circuit breakers per (merchant, gateway): CLOSED → OPEN after this many failures in the window.
    breaker_failure_threshold: int = 5
    breaker_window_seconds: float = 60.0
    breaker_cool_down_seconds: float = 30.0  # OPEN rejects at once this long, then HALF_OPEN
    breaker_half_open_probes: int = 1  # calls let through at a time while HALF_OPEN
    breaker_success_threshold: int = 2  # probe successes that close it again
    gateway_timeout_ms: int = 10_000  # a gateway call with no answer by then is a timeout (fails over)
    db_pool_size: int = 20
    # Every wait for the database is bounded (store/pg_connection.py): a database that stops
    # answering costs a call seconds and an UNAVAILABLE, not a hang.
    db_connect_timeout_seconds: int = 5
    db_statement_timeout_seconds: float = 5.0
    db_pool_timeout_seconds: float = 5.0  # for a free pooled connection; then DATABASE_BUSY
    # Webhooks: delivery from the outbox, its retry schedule (scaled), and where it may connect.
    webhook_dispatch: bool = True  # false: this process writes the outbox but sends nothing
    webhook_timeout_seconds: float = 10.0  # one attempt with no full answer by then failed
    webhook_lease_seconds: float = 60.0  # a claimed attempt not recorded by then is taken again
    webhook_backoff_scale: float = 1.0  # multiplies the retry schedule (tests compress it)
    webhook_max_attempts: int = 8
    webhook_poll_seconds: float = 1.0  # the fallback when no commit of this process woke it
    webhook_concurrency: int = 16  # attempts in flight per process
    webhook_secret_overlap_hours: float = 24.0  # a rotated secret keeps signing this long
    webhook_allow_loopback: bool = True
    webhook_allow_private: bool = False
    webhook_allow_link_local: bool = False
    webhook_secret_key: str = ""  # seals endpoint secrets at rest; empty: generated like jwt_secret
    log_level: str = "INFO"
    bootstrap_admin_email: str = ""
    bootstrap_admin_password: str = ""

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'paysim.db').resolve()}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        d = cls()
        settings = cls(
            listen=e.get("PAYSIM_LISTEN") or d.listen,
            workers=_int(e, "PAYSIM_WORKERS", d.workers, minimum=1),
            data_dir=Path(e.get("PAYSIM_DATA_DIR") or d.data_dir),
            database_url=e.get("PAYSIM_DATABASE_URL", ""),
            redis_url=e.get("PAYSIM_REDIS_URL", ""),
            redis_timeout_seconds=_float(e, "PAYSIM_REDIS_TIMEOUT_SECONDS", d.redis_timeout_seconds, minimum=0.001),
            redis_retry_seconds=_float(e, "PAYSIM_REDIS_RETRY_SECONDS", d.redis_retry_seconds, minimum=0.01),
            jwt_secret=e.get("PAYSIM_JWT_SECRET", ""),
            fingerprint_secret=e.get("PAYSIM_FINGERPRINT_SECRET", ""),
            jwt_issuer=e.get("PAYSIM_JWT_ISSUER") or d.jwt_issuer,
            jwt_audience=e.get("PAYSIM_JWT_AUDIENCE") or d.jwt_audience,
            access_token_ttl_seconds=_int(e, "PAYSIM_ACCESS_TOKEN_TTL_SECONDS", d.access_token_ttl_seconds, minimum=1),
            refresh_token_ttl_seconds=_int(
                e, "PAYSIM_REFRESH_TOKEN_TTL_SECONDS", d.refresh_token_ttl_seconds, minimum=1
            ),
            bcrypt_rounds=_int(e, "PAYSIM_BCRYPT_ROUNDS", d.bcrypt_rounds, minimum=4),
            password_hash_concurrency=_int(
                e, "PAYSIM_PASSWORD_HASH_CONCURRENCY", d.password_hash_concurrency, minimum=1
            ),
            password_hash_wait_seconds=_float(
                e, "PAYSIM_PASSWORD_HASH_WAIT_SECONDS", d.password_hash_wait_seconds, minimum=0.01
            ),
            login_max_failures=_int(e, "PAYSIM_LOGIN_MAX_FAILURES", d.login_max_failures, minimum=1),
            login_lockout_seconds=_int(e, "PAYSIM_LOGIN_LOCKOUT_SECONDS", d.login_lockout_seconds, minimum=1),
            login_limit_per_email_per_minute=_int(
                e, "PAYSIM_LOGIN_LIMIT_PER_EMAIL_PER_MINUTE", d.login_limit_per_email_per_minute
            ),
            login_limit_per_address_per_minute=_int(
                e, "PAYSIM_LOGIN_LIMIT_PER_ADDRESS_PER_MINUTE", d.login_limit_per_address_per_minute
            ),
            rate_limit_per_minute=_int(e, "PAYSIM_RATE_LIMIT_PER_MINUTE", d.rate_limit_per_minute),
            rate_limit_failure_mode=(e.get("PAYSIM_RATE_LIMIT_FAILURE_MODE") or d.rate_limit_failure_mode).lower(),
            auth_cache_seconds=_float(e, "PAYSIM_AUTH_CACHE_SECONDS", d.auth_cache_seconds),
            max_message_bytes=_int(e, "PAYSIM_MAX_MESSAGE_BYTES", d.max_message_bytes, minimum=1024),
            max_concurrent_streams=_int(e, "PAYSIM_MAX_CONCURRENT_STREAMS", d.max_concurrent_streams, minimum=1),
            max_pending_requests=_int(e, "PAYSIM_MAX_PENDING_REQUESTS", d.max_pending_requests, minimum=1),
            subscriptions_per_principal=_int(
                e, "PAYSIM_SUBSCRIPTIONS_PER_PRINCIPAL", d.subscriptions_per_principal, minimum=1
            ),
            subscriptions_per_process=_int(
                e, "PAYSIM_SUBSCRIPTIONS_PER_PROCESS", d.subscriptions_per_process, minimum=1
            ),
            subscription_buffer_events=_int(
                e, "PAYSIM_SUBSCRIPTION_BUFFER_EVENTS", d.subscription_buffer_events, minimum=1
            ),
            subscription_heartbeat_seconds=_float(
                e, "PAYSIM_SUBSCRIPTION_HEARTBEAT_SECONDS", d.subscription_heartbeat_seconds, minimum=0.01
            ),
            event_poll_seconds=_float(e, "PAYSIM_EVENT_POLL_SECONDS", d.event_poll_seconds, minimum=0.01),
            keepalive_time_seconds=_int(e, "PAYSIM_KEEPALIVE_TIME_SECONDS", d.keepalive_time_seconds, minimum=1),
            keepalive_timeout_seconds=_int(
                e, "PAYSIM_KEEPALIVE_TIMEOUT_SECONDS", d.keepalive_timeout_seconds, minimum=1
            ),
            grace_seconds=_float(e, "PAYSIM_GRACE_SECONDS", d.grace_seconds),
            health_probe_seconds=_float(e, "PAYSIM_HEALTH_PROBE_SECONDS", d.health_probe_seconds, minimum=0.05),
            health_probe_timeout_seconds=_float(
                e, "PAYSIM_HEALTH_PROBE_TIMEOUT_SECONDS", d.health_probe_timeout_seconds, minimum=0.05
            ),
            maintenance_interval_seconds=_float(
                e, "PAYSIM_MAINTENANCE_INTERVAL_SECONDS", d.maintenance_interval_seconds, minimum=1.0
            ),
            recover_after_seconds=_float(e, "PAYSIM_RECOVER_AFTER_SECONDS", d.recover_after_seconds),
            idempotency_ttl_hours=_float(e, "PAYSIM_IDEMPOTENCY_TTL_HOURS", d.idempotency_ttl_hours, minimum=24.0),
            breaker_failure_threshold=_int(
                e, "PAYSIM_BREAKER_FAILURE_THRESHOLD", d.breaker_failure_threshold, minimum=1
            ),
            breaker_window_seconds=_float(e, "PAYSIM_BREAKER_WINDOW_SECONDS", d.breaker_window_seconds, minimum=0.001),
            breaker_cool_down_seconds=_float(
                e, "PAYSIM_BREAKER_COOL_DOWN_SECONDS", d.breaker_cool_down_seconds, minimum=0.001
            ),
            breaker_half_open_probes=_int(e, "PAYSIM_BREAKER_HALF_OPEN_PROBES", d.breaker_half_open_probes, minimum=1),
            breaker_success_threshold=_int(
                e, "PAYSIM_BREAKER_SUCCESS_THRESHOLD", d.breaker_success_threshold, minimum=1
            ),
            gateway_timeout_ms=_int(e, "PAYSIM_GATEWAY_TIMEOUT_MS", d.gateway_timeout_ms, minimum=1),
            db_pool_size=_int(e, "PAYSIM_DB_POOL_SIZE", d.db_pool_size, minimum=1),
            db_connect_timeout_seconds=_int(
                e, "PAYSIM_DB_CONNECT_TIMEOUT_SECONDS", d.db_connect_timeout_seconds, minimum=2
            ),
            db_statement_timeout_seconds=_float(
                e, "PAYSIM_DB_STATEMENT_TIMEOUT_SECONDS", d.db_statement_timeout_seconds, minimum=0.1
            ),
            db_pool_timeout_seconds=_float(
                e, "PAYSIM_DB_POOL_TIMEOUT_SECONDS", d.db_pool_timeout_seconds, minimum=0.01
            ),
            webhook_dispatch=_bool(e, "PAYSIM_WEBHOOK_DISPATCH", d.webhook_dispatch),
            webhook_timeout_seconds=_float(
                e, "PAYSIM_WEBHOOK_TIMEOUT_SECONDS", d.webhook_timeout_seconds, minimum=0.01
            ),
            webhook_lease_seconds=_float(e, "PAYSIM_WEBHOOK_LEASE_SECONDS", d.webhook_lease_seconds, minimum=0.02),
            webhook_backoff_scale=_float(e, "PAYSIM_WEBHOOK_BACKOFF_SCALE", d.webhook_backoff_scale),
            webhook_max_attempts=_int(e, "PAYSIM_WEBHOOK_MAX_ATTEMPTS", d.webhook_max_attempts, minimum=1),
            webhook_poll_seconds=_float(e, "PAYSIM_WEBHOOK_POLL_SECONDS", d.webhook_poll_seconds, minimum=0.01),
            webhook_concurrency=_int(e, "PAYSIM_WEBHOOK_CONCURRENCY", d.webhook_concurrency, minimum=1),
            webhook_secret_overlap_hours=_float(
                e, "PAYSIM_WEBHOOK_SECRET_OVERLAP_HOURS", d.webhook_secret_overlap_hours
            ),
            webhook_allow_loopback=_bool(e, "PAYSIM_WEBHOOK_ALLOW_LOOPBACK", d.webhook_allow_loopback),
            webhook_allow_private=_bool(e, "PAYSIM_WEBHOOK_ALLOW_PRIVATE", d.webhook_allow_private),
            webhook_allow_link_local=_bool(e, "PAYSIM_WEBHOOK_ALLOW_LINK_LOCAL", d.webhook_allow_link_local),
            webhook_secret_key=e.get("PAYSIM_WEBHOOK_SECRET_KEY", ""),
            log_level=(e.get("PAYSIM_LOG_LEVEL") or d.log_level).upper(),
            bootstrap_admin_email=e.get("PAYSIM_BOOTSTRAP_ADMIN_EMAIL", ""),
            bootstrap_admin_password=e.get("PAYSIM_BOOTSTRAP_ADMIN_PASSWORD", ""),
        )
        if _bool(e, "PAYSIM_REQUIRE_JWT_SECRET", False) and not settings.jwt_secret:
            raise ConfigError("PAYSIM_REQUIRE_JWT_SECRET is set but PAYSIM_JWT_SECRET is empty")
        if settings.jwt_secret and len(settings.jwt_secret.encode()) < 32:
            raise ConfigError("PAYSIM_JWT_SECRET must be at least 32 bytes")
        if settings.fingerprint_secret and len(settings.fingerprint_secret.encode()) < 32:
            raise ConfigError("PAYSIM_FINGERPRINT_SECRET must be at least 32 bytes")
        if settings.webhook_lease_seconds <= settings.webhook_timeout_seconds:
            # Otherwise an attempt still waiting for its answer could be taken and sent again.
            raise ConfigError("PAYSIM_WEBHOOK_LEASE_SECONDS must be longer than PAYSIM_WEBHOOK_TIMEOUT_SECONDS")
        if settings.rate_limit_failure_mode not in FAILURE_MODES:
            raise ConfigError(
                f"PAYSIM_RATE_LIMIT_FAILURE_MODE must be open or closed, got {settings.rate_limit_failure_mode!r}"
            )
        if settings.webhook_secret_key and len(settings.webhook_secret_key.encode()) < 32:
            raise ConfigError("PAYSIM_WEBHOOK_SECRET_KEY must be at least 32 bytes")
        return settings
