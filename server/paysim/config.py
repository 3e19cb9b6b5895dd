"""The one Settings object, built once from ``PAYSIM_*`` environment variables.

Each setting is declared once, below: its field's name gives its variable, its annotation the
type, its default the default, and ``setting()`` what README's settings table says of it, its
bounds and its command-line flag (config_values.py derives the rest). Defaults serve out of the
box: SQLite in a data directory, in-process fallbacks for Redis.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from paysim.config_values import ConfigError, Flag, setting, values_from_env

__all__ = ["FAILURE_MODES", "ConfigError", "Settings"]

# What the rate limits do while Redis is unavailable: let calls through, or refuse them.
FAILURE_MODES = ("open", "closed")


@dataclass(frozen=True, slots=True)
class Settings:
    listen: str = setting(
        "127.0.0.1:50051",
        "`HOST:PORT` to serve on (`0.0.0.0:50051` for every interface, `[::1]:50051` for an IPv6 address). A name is "
        "served on all its addresses, each of which must be free. Plaintext on an address other than loopback needs "
        "`PAYSIM_INSECURE` (or TLS, below).",
        flag=Flag("--listen", "HOST:PORT to listen on"),
    )
    workers: int = setting(
        1,
        "Server processes sharing the port (`paysim serve --workers N`). More than one needs PostgreSQL: the embedded"
        " SQLite database serves a single process. The parent checks the port, applies migrations and generates "
        "development keys once, then starts the workers. Workers never outlive the parent: when it dies, even by "
        "SIGKILL, they drain and exit as on SIGTERM.",
        minimum=1,
        flag=Flag("--workers", "server processes sharing the port; more than one needs PostgreSQL"),
    )
    tls_cert: str = setting(
        "",
        "PEM certificate chain to serve TLS with (with `PAYSIM_TLS_KEY`). Re-read on SIGHUP and whenever the files "
        "change: new connections get the new certificate, open ones keep theirs.",
        shown="empty: plaintext",
        flag=Flag("--tls-cert", "PEM certificate chain to serve TLS with"),
    )
    tls_key: str = setting(
        "",
        "PEM private key of that certificate (unencrypted).",
        flag=Flag("--tls-key", "PEM private key of --tls-cert"),
    )
    tls_client_ca: str = setting(
        "",
        "PEM CA certificates: with it, every client must present a certificate they signed (mutual TLS).",
        shown="empty: no client certificates",
        flag=Flag("--tls-client-ca", "require client certificates signed by these CAs (mTLS)"),
    )
    insecure: bool = setting(
        False,
        "Serve plaintext on an address other than loopback (e.g. behind a proxy that terminates TLS); without it "
        "`paysim serve` refuses to.",
        flag=Flag("--insecure", "allow plaintext on a non-loopback address"),
    )
    data_dir: Path = setting(  # noqa: RUF009 (setting() is dataclasses.field, the default a Path)
        Path(".paysim"),
        "Directory for the SQLite database and the generated development keys. Relative to the working directory. "
        "Created 0700, its files 0600.",
        flag=Flag("--data-dir", "where the SQLite file and development keys live"),
    )
    database_url: str = setting(
        "",
        "`postgresql://user:password@host:5432/dbname` or `sqlite:///path/to/file.db`.",
        shown="empty: `sqlite:///<data dir>/paysim.db`",
        flag=Flag("--database-url", "postgresql://… or sqlite:///…"),
    )
    redis_url: str = setting(
        "",
        "`redis://host:6379/0`. Shares the rate-limit counters between the server processes of one deployment (those "
        "on the same database; deployments on other databases sharing the Redis keep separate counters).",
        shown="empty: in-process",
    )
    redis_timeout_seconds: float = setting(
        0.25,
        "How long one Redis operation (connecting, counting a call) may take before it counts as failed.",
        minimum=0.001,
    )
    redis_retry_seconds: float = setting(
        5.0,
        "After 3 Redis failures within 30 seconds, calls leave Redis alone this long, then one call tries it again: a"
        " Redis that hangs costs the first few calls the timeout, the rest nothing.",
        minimum=0.01,
    )
    jwt_secret: str = setting(
        "",
        "Key that signs access tokens (HS256), at least 32 bytes. Set it when several processes serve one database.",
        shown="empty: generated into `<data dir>/jwt-signing.key`",
    )
    require_jwt_secret: bool = setting(
        False,
        "`true` refuses to start without `PAYSIM_JWT_SECRET` (no generated key by accident).",
    )
    fingerprint_secret: str = setting(
        "",
        "Key for card and request fingerprints, at least 32 bytes. Set it when several processes serve one database.",
        shown="empty: generated into `<data dir>/fingerprint.key`",
    )
    jwt_issuer: str = setting(
        "paysim",
        "`iss` claim of access tokens, checked on every call.",
    )
    jwt_audience: str = setting(
        "paysim-api",
        "`aud` claim of access tokens, checked on every call.",
    )
    access_token_ttl_seconds: int = setting(
        900,
        "Lifetime of an access token (15 minutes).",
        minimum=1,
    )
    refresh_token_ttl_seconds: int = setting(
        604800,
        "Lifetime of a refresh token (7 days); each use rotates it.",
        minimum=1,
    )
    bcrypt_rounds: int = setting(
        12,
        "bcrypt cost for passwords (minimum 4). Lower it only to speed up tests.",
        minimum=4,
    )
    password_hash_concurrency: int = setting(
        2,
        "Passwords one process hashes or checks at a time; a login takes one of them, and one email never more than "
        "one.",
        minimum=1,
    )
    password_hash_wait_seconds: float = setting(
        1.0,
        "How long a call may wait for its turn to hash or check a password; then it is answered `UNAVAILABLE`, reason"
        " `PASSWORD_CHECKS_BUSY`, with `RetryInfo`.",
        minimum=0.01,
    )
    login_max_failures: int = setting(
        10,
        "Failed logins for one email (or wrong current passwords in `ChangePassword`) before it is locked. An attempt"
        " counts as failed from the moment it arrives until its password proves right, so guesses sent at once (to "
        "one process or several) cannot get past the limit; a successful login forgives the failures counted before "
        "it.",
        minimum=1,
    )
    login_lockout_seconds: int = setting(
        1800,
        "How long such a lock lasts.",
        minimum=1,
    )
    login_limit_per_email_per_minute: int = setting(
        20,
        "Login attempts per minute for one email, right or wrong (then `RESOURCE_EXHAUSTED`, reason `RATE_LIMITED`); "
        "`0` turns the limit off. Counted in Redis when `PAYSIM_REDIS_URL` is set, else by each process.",
    )
    login_limit_per_address_per_minute: int = setting(
        60,
        "Login attempts per minute from one client address (behind a proxy, every client has the proxy's address); "
        "`0` turns the limit off. Counted like the one above.",
    )
    rate_limit_per_minute: int = setting(
        0,
        "Calls per minute per caller (user or API key; without credentials: per client address).",
        shown="`0` (off)",
    )
    rate_limit_failure_mode: str = setting(
        "open",
        "What the rate limits (per caller, and the login limits) do while a configured Redis is unavailable: `open` "
        "lets calls through uncounted, `closed` refuses them (`UNAVAILABLE`, reason `RATE_LIMITER_UNAVAILABLE`, with "
        "`RetryInfo`). Redis becoming unavailable, and available again, is logged once each (logger `paysim.redis`).",
        choices=FAILURE_MODES,
        case="lower",
    )
    auth_cache_seconds: float = setting(
        5.0,
        "How long a process reuses a successful authentication of a key or token. Revocation applies at once in the "
        "process that revoked; other processes notice within this time. `0` disables the cache.",
    )
    max_message_bytes: int = setting(
        1048576,
        "Largest request or response message (minimum 1024).",
        minimum=1024,
    )
    max_concurrent_streams: int = setting(
        1000,
        "Concurrent calls per client connection (HTTP/2 streams).",
        minimum=1,
    )
    max_pending_requests: int = setting(
        20000,
        "Calls the server accepts before a handler picks them up (twice as many as a hard limit); raised from gRPC's "
        "1000 so thousands of event streams can (re)connect at once.",
        minimum=1,
    )
    subscriptions_per_principal: int = setting(
        20,
        "Open event streams per caller (user or API key) on one process.",
        minimum=1,
    )
    subscriptions_per_process: int = setting(
        10_000,
        "Open event streams on one process.",
        minimum=1,
    )
    subscription_buffer_events: int = setting(
        1000,
        "Events waiting for one slow stream before it is ended (`RESOURCE_EXHAUSTED`, `SUBSCRIBER_TOO_SLOW`).",
        minimum=1,
    )
    subscription_heartbeat_seconds: float = setting(
        15.0,
        "An idle event stream sends a heartbeat after this long without a message (at most a tenth later).",
        minimum=0.01,
    )
    event_poll_seconds: float = setting(
        1.0,
        "The event feed reads the store at least this often, notification or not.",
        minimum=0.01,
    )
    keepalive_time_seconds: int = setting(
        30,
        "Interval of the server's HTTP/2 keepalive pings.",
        minimum=1,
    )
    keepalive_timeout_seconds: int = setting(
        10,
        "How long a keepalive ping may go unanswered before the connection is closed.",
        minimum=1,
    )
    grace_seconds: float = setting(
        10.0,
        "On SIGTERM/SIGINT, how long calls in flight may take to finish while health answers `NOT_SERVING` (event "
        "streams end at once, asking clients to resume). Work a call started that outlives it is given as long again "
        "to end before it is cancelled.",
    )
    health_probe_seconds: float = setting(
        2.0,
        "How often health checks the database.",
        minimum=0.05,
    )
    health_probe_timeout_seconds: float = setting(
        2.0,
        "How long health's query may go unanswered before the server reports `NOT_SERVING`. The probe has a "
        "connection of its own, outside the pool.",
        minimum=0.05,
    )
    maintenance_interval_seconds: float = setting(
        30.0,
        "How often housekeeping runs: expired refresh tokens and login counters, idempotency keys past their "
        "lifetime, recovery of stuck payments.",
        minimum=1.0,
    )
    recover_after_seconds: float = setting(
        30.0,
        "A payment still `PROCESSING` this long after its gateway call (e.g. the process died mid-call) is finished "
        "by housekeeping, which asks the gateway for the outcome.",
    )
    idempotency_ttl_hours: float = setting(
        24.0,
        "How long `idempotency-key`s are remembered (never less than 24).",
        minimum=24.0,
    )
    breaker_failure_threshold: int = setting(
        5,
        "Gateway failures within the window that open a merchant's circuit breaker for that gateway.",
        minimum=1,
    )
    breaker_window_seconds: float = setting(
        60.0,
        "The window those failures are counted in.",
        minimum=0.001,
    )
    breaker_cool_down_seconds: float = setting(
        30.0,
        "How long an open breaker rejects calls before it half-opens.",
        minimum=0.001,
    )
    breaker_half_open_probes: int = setting(
        1,
        "Calls let through at a time while half-open.",
        minimum=1,
    )
    breaker_success_threshold: int = setting(
        2,
        "Probe successes that close a half-open breaker.",
        minimum=1,
    )
    gateway_timeout_ms: int = setting(
        10000,
        "How long a gateway call may take before it counts as a timeout (the payment fails over); a gateway "
        "configuration's `timeout_ms` overrides it per merchant.",
        minimum=1,
    )
    db_pool_size: int = setting(
        20,
        "PostgreSQL connections kept per process (half as many again on bursts).",
        minimum=1,
    )
    db_connect_timeout_seconds: int = setting(
        5,
        "How long opening a PostgreSQL connection may take (at least 2).",
        minimum=2,
    )
    db_statement_timeout_seconds: float = setting(
        5.0,
        "How long one PostgreSQL statement may take: PostgreSQL cancels it then (`statement_timeout`), and the server"
        " gives up waiting for an answer a second later, so a database that stops answering costs a call seconds and "
        "an `UNAVAILABLE` (reason `DATABASE_UNAVAILABLE`), not a hang. Migrations are exempt.",
        minimum=0.1,
    )
    db_pool_timeout_seconds: float = setting(
        5.0,
        "How long a call waits for a free pooled connection before it is answered `UNAVAILABLE` (reason "
        "`DATABASE_BUSY`).",
        minimum=0.01,
    )
    webhook_dispatch: bool = setting(
        True,
        "Whether this process sends webhooks. Every process writes the outbox either way.",
    )
    webhook_timeout_seconds: float = setting(
        10.0,
        "How long one delivery attempt may take, connection to answer, before it fails (`timeout`).",
        minimum=0.01,
    )
    webhook_lease_seconds: float = setting(
        60.0,
        "How long a claimed attempt is held before any dispatcher may make it again (a process died). Must be longer "
        "than the timeout.",
        minimum=0.02,
    )
    webhook_backoff_scale: float = setting(
        1.0,
        "Multiplies the retry schedule (1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); `0.001` for tests.",
    )
    webhook_max_attempts: int = setting(
        8,
        "Attempts before a delivery is `DEAD` (past the schedule's end, each waits its last delay).",
        minimum=1,
    )
    webhook_poll_seconds: float = setting(
        1.0,
        "Longest a dispatcher goes without looking for due deliveries (its own process's commits wake it at once).",
        minimum=0.01,
    )
    webhook_concurrency: int = setting(
        16,
        "Attempts in flight per process.",
        minimum=1,
    )
    webhook_secret_overlap_hours: float = setting(
        24.0,
        "How long a rotated-out secret keeps signing, unless `RotateWebhookSecret` says otherwise.",
    )
    webhook_allow_loopback: bool = setting(
        True,
        "Endpoints may point at loopback addresses (a receiver on this machine).",
    )
    webhook_allow_private: bool = setting(
        False,
        "Endpoints may point at private-network addresses.",
    )
    webhook_allow_link_local: bool = setting(
        False,
        "Endpoints may point at link-local addresses (including cloud metadata services).",
    )
    webhook_secret_key: str = setting(
        "",
        "Seals webhook signing secrets at rest, at least 32 bytes. Set it when several processes serve one database.",
        shown="empty: generated into `<data dir>/webhook-secrets.key`",
    )
    metrics_listen: str = setting(
        "",
        "`HOST:PORT` to serve Prometheus metrics on (`GET /metrics`), e.g. `127.0.0.1:9464`. With `--workers N` "
        "the parent process serves the sum of every worker's (README, Metrics).",
        shown="empty: off",
        flag=Flag("--metrics", "HOST:PORT to serve Prometheus metrics on"),
    )
    http_listen: str = setting(
        "",
        "`HOST:PORT` to serve the browser dashboard and gRPC-Web on (`python3 server/dev.py serve` turns it on at "
        "`127.0.0.1:8080`). The browser's calls reach the same RPCs, through the same interceptors, as gRPC clients' "
        "(README, Dashboard). Plain HTTP: keep it on loopback or behind a proxy that terminates TLS.",
        shown="empty: off",
        flag=Flag("--http", "HOST:PORT to serve the dashboard and gRPC-Web on"),
    )
    dashboard_dir: str = setting(
        "",
        "Directory of the dashboard's built files (`index.html`, `assets/`), which `server/dev.py` builds from "
        "`clients/dashboard`.",
        shown="empty: `server/paysim/web/static`",
    )
    log_level: str = setting(
        "INFO",
        "`DEBUG`, `INFO`, `WARNING` or `ERROR`.",
        case="upper",
    )
    bootstrap_admin_email: str = setting(
        "",
        "With the password below: the admin to create on start if missing.",
    )
    bootstrap_admin_password: str = setting(
        "",
        "That admin's password.",
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'paysim.db').resolve()}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def checked(self) -> Settings:
        """These settings, once the rules between settings hold (ConfigError otherwise): for
        settings changed after ``from_env``, e.g. by command-line flags."""
        _check_together(self)
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        settings = cls(**values_from_env(cls, os.environ if env is None else env))
        _check_together(settings)
        return settings


def _check_together(settings: Settings) -> None:
    """What one setting's own bounds cannot say: secrets' lengths, settings that depend on another."""
    if settings.require_jwt_secret and not settings.jwt_secret:
        raise ConfigError("PAYSIM_REQUIRE_JWT_SECRET is set but PAYSIM_JWT_SECRET is empty")
    if settings.jwt_secret and len(settings.jwt_secret.encode()) < 32:
        raise ConfigError("PAYSIM_JWT_SECRET must be at least 32 bytes")
    if settings.fingerprint_secret and len(settings.fingerprint_secret.encode()) < 32:
        raise ConfigError("PAYSIM_FINGERPRINT_SECRET must be at least 32 bytes")
    if settings.webhook_lease_seconds <= settings.webhook_timeout_seconds:
        # Otherwise an attempt still waiting for its answer could be taken and sent again.
        raise ConfigError("PAYSIM_WEBHOOK_LEASE_SECONDS must be longer than PAYSIM_WEBHOOK_TIMEOUT_SECONDS")
    if settings.http_listen:
        host, _, port = settings.http_listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            given = settings.http_listen
            raise ConfigError(f"PAYSIM_HTTP_LISTEN (--http) must be HOST:PORT, e.g. 127.0.0.1:8080, not {given!r}")
    if settings.http_listen and settings.workers > 1:
        # Each worker would relay to its own gRPC server through a socket of its own; sharing one
        # HTTP port between them is not built yet.
        raise ConfigError("PAYSIM_HTTP_LISTEN (--http) serves from one process: it cannot be combined with --workers")
    if settings.webhook_secret_key and len(settings.webhook_secret_key.encode()) < 32:
        raise ConfigError("PAYSIM_WEBHOOK_SECRET_KEY must be at least 32 bytes")
