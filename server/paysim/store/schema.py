"""The relational schema, one definition for PostgreSQL and SQLite.

Migrations under ``migrations/versions`` create exactly this; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(40)

merchants = Table(
    "merchants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    # Case folding can triple a character ("ΐ" folds to three), so the key column is wider.
    Column("name_key", String(600), nullable=False, unique=True),
    Column("support_email", String(254), nullable=False, default=""),
    Column("default_currency", String(3), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("fee_percent_bps", Integer, nullable=False, server_default="290"),
    Column("fee_fixed_minor", BigInteger, nullable=False, server_default="30"),
    Column("unknown_cards", String(16), nullable=False, server_default="approve"),
    Index(None, "created_at", "id"),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(100), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("merchant_id", ID, ForeignKey("merchants.id"), nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Failed logins are counted per email whether or not an account exists, so a locked-out
# unknown email looks exactly like a locked-out real one.
login_throttles = Table(
    "login_throttles",
    metadata,
    Column("email_hash", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("family_id", ID, nullable=False, index=True),
    Column("user_id", ID, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    Column("used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("merchant_id", ID, ForeignKey("merchants.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("merchant_id", "name"),
    Index(None, "merchant_id", "created_at", "id"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("merchant_id", ID, ForeignKey("merchants.id"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("name", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("metadata_json", Text, nullable=False),
    Column("user_id", ID, ForeignKey("users.id"), nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The test clock it lives on; NULL for real time.
    Column("test_clock_id", String(40), nullable=True, index=True),
    Index(None, "merchant_id", "created_at", "id"),
    Index(None, "merchant_id", "email"),
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a 64-bit identity.
Sequence64 = BigInteger().with_variant(Integer, "sqlite")

# The payment projection: filterable columns plus the whole aggregate state as JSON. Rebuilt
# from payment_events at any time; written in the same transaction as the events.
payments = Table(
    "payments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("merchant_id", ID, ForeignKey("merchants.id"), nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("status", String(24), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("card_last4", String(4), nullable=False),
    # True while a gateway call's outcome is outstanding (processing, or a capture, void or refund
    # requested): what the recovery sweep looks for after a crash.
    Column("in_progress", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("state_json", Text, nullable=False),
    # The test clock it lives on; NULL for real time (what the real-time sweeps look for).
    Column("test_clock_id", String(40), nullable=True),
    # When its next asynchronous refund settles; NULL when none waits.
    Column("refund_settles_at", UtcDateTime, nullable=True, index=True),
    Index(None, "merchant_id", "created_at", "id"),
    Index(None, "created_at", "id"),
    Index(None, "test_clock_id", "status"),
    Index(None, "in_progress", "updated_at"),
    Index(None, "customer_id"),
    # What the 3-D Secure expiry sweep looks for: payments waiting for their customer since long ago.
    Index(None, "status", "updated_at"),
)

# The append-only event store. ``seq`` is the global order (the cursor of event streams);
# UNIQUE(aggregate_id, version) is the optimistic-concurrency guard.
payment_events = Table(
    "payment_events",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("aggregate_id", ID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("merchant_id", ID, nullable=False),
    Column("data_json", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("aggregate_id", "version"),
)

# Disputes (domain/disputes.py): a projection of the payment's dispute, written with its events,
# for lists and for the sweep that finds what falls due (``due_at``; NULL once closed). A dispute
# on a test clock (``test_clock_id``) falls due as its clock advances, never on real time.
disputes = Table(
    "disputes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("payment_id", ID, ForeignKey("payments.id"), nullable=False, unique=True),
    Column("merchant_id", ID, nullable=False),
    Column("status", String(32), nullable=False),
    Column("test_clock_id", ID, nullable=True),
    Column("due_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "merchant_id", "created_at", "id"),
    Index(None, "created_at", "id"),
    Index(None, "test_clock_id", "due_at"),
)

# The latest snapshot of a long-lived payment, so replay starts from it.
payment_snapshots = Table(
    "payment_snapshots",
    metadata,
    Column("aggregate_id", ID, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state_json", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Durable idempotency keys, each unique within its owner. The primary key is the race guard: a claim is
# an INSERT, never a check-then-set.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # Whose key it is: the merchant's id, or "adm:<user id>" for an administrator's requests.
    Column("owner", ID, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("method", String(120), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("payment_id", String(40), nullable=True),
    Column("recovery_point", String(40), nullable=True),
    Column("response_code", Integer, nullable=True),
    Column("response_blob", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
    # The test clock of the payment the key's request was about: ``expires_at`` is then that
    # clock's time, and the key expires when the clock passes it, never on real time.
    Column("test_clock_id", String(40), nullable=True, index=True),
)

# A merchant's 3-D Secure policy: never (the default, when there is no row), always, or above an
# amount per currency (``thresholds_json``: [{"currency": "USD", "amount": 5000}, …]).
three_ds_policies = Table(
    "three_ds_policies",
    metadata,
    Column("merchant_id", ID, ForeignKey("merchants.id"), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("thresholds_json", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Test clocks (domain/test_clocks.py): in the database so every server process sees the same time.
test_clocks = Table(
    "test_clocks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("merchant_id", ID, ForeignKey("merchants.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("frozen_time", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("advancing_to", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "merchant_id", "created_at", "id"),
    Index(None, "status"),
)

# One circuit breaker per (scope, gateway), shared by every server process. ``scope`` is a merchant
# id, or "platform" for platform-wide breakers. ``version`` guards read-modify-write races.
circuit_breakers = Table(
    "circuit_breakers",
    metadata,
    Column("scope", ID, primary_key=True),
    Column("gateway", String(40), primary_key=True),
    Column("state_json", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Simulated faults per (scope, gateway): an outage and a script of next outcomes, shared by every
# server process so that an outage set through one process acts on calls made by all of them.
gateway_faults = Table(
    "gateway_faults",
    metadata,
    Column("scope", ID, primary_key=True),
    Column("gateway", String(40), primary_key=True),
    Column("faults_json", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Seeded chaos profiles per (merchant, gateway) (domain/chaos.py). ``draws`` counts the calls the
# profile has drawn for; it is advanced with one UPDATE … RETURNING, so every process takes a
# different draw and the sequence survives a restart.
chaos_profiles = Table(
    "chaos_profiles",
    metadata,
    Column("merchant_id", ID, ForeignKey("merchants.id"), primary_key=True),
    Column("gateway", String(40), primary_key=True),
    Column("settings_json", Text, nullable=False),
    Column("draws", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# How each merchant uses each gateway: routing tries the enabled rows by priority, then gateway name.
# No rows means the simulator alone. ``settings_json`` is a flat object of validated strings.
merchant_gateways = Table(
    "merchant_gateways",
    metadata,
    Column("merchant_id", ID, ForeignKey("merchants.id"), primary_key=True),
    Column("gateway", String(40), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("settings_json", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Where each merchant receives webhooks. ``event_types`` is ``*`` or the wanted types between commas
# (``,payment.captured,refund.succeeded,``) so the outbox insert can match a type with a substring
# test on both databases. Secrets are sealed (security/webhook_secrets.py), never stored in clear.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column("merchant_id", ID, ForeignKey("merchants.id"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("event_types", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("description", String(200), nullable=False),
    Column("disabled_reason", String(40), nullable=False),
    Column("secret_sealed", Text, nullable=False),
    Column("previous_secret_sealed", Text, nullable=True),
    Column("previous_secret_expires_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "merchant_id", "created_at", "id"),
)

# The webhook outbox: one row per (event, endpoint), written in the transaction that appends the
# event, and one more per redelivery. While ``pending``, ``next_attempt_at`` is when a dispatcher
# may take it: a dispatcher that claims it pushes it one lease ahead, so a crashed dispatcher's
# attempt is taken again once the lease runs out.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("endpoint_id", ID, ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("merchant_id", ID, nullable=False),
    Column("event_id", String(40), nullable=False, index=True),
    Column("event_type", String(40), nullable=False),
    Column("payment_id", ID, nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempt_count", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("redelivery_of", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The test clock of the delivery's payment, if it lives on one: ``next_attempt_at`` is then
    # that clock's time, and the lease of an attempt in flight (real time) is ``lease_until``.
    Column("test_clock_id", String(40), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Index(None, "state", "next_attempt_at"),
    Index(None, "test_clock_id", "state"),
    Index(None, "merchant_id", "created_at", "id"),
)

# Every attempt of every delivery, as it happened.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("http_status", Integer, nullable=False),
    Column("error", String(200), nullable=False),
    Column("duration_ms", Integer, nullable=False),
)

# --- the analytics read model (services/analytics_projector.py), rebuilt from payment_events ---

# How far the projector has read the event store: every event with seq <= position is counted
# in the tables below, and none after it. Advanced by compare-and-set in the transaction that
# adds the events' counts, so two processes never count one event twice.
analytics_checkpoints = Table(
    "analytics_checkpoints",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# What the projector needs to know of each payment to attribute its later events, and what the
# search and top-customer queries read. ``search_text`` is the lowercased searchable text.
analytics_payments = Table(
    "analytics_payments",
    metadata,
    Column("id", ID, primary_key=True),
    Column("merchant_id", ID, nullable=False),
    Column("customer_id", String(40), nullable=False),
    Column("status", String(24), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(24), nullable=False),
    Column("card_brand", String(24), nullable=False),
    Column("card_last4", String(4), nullable=False),
    Column("gateway", String(40), nullable=False),
    Column("description", String(500), nullable=False),
    Column("search_text", Text, nullable=False),
    Column("captured_amount", BigInteger, nullable=False),
    # Refunds requested and not yet settled, {refund id: amount}: refund.succeeded names only the id.
    Column("refunds_json", Text, nullable=False),
    Column("authorized_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "merchant_id", "created_at", "id"),
    Index(None, "created_at", "id"),
)

# Payment totals per (merchant, bucket size, dimension, value, bucket start). ``merchant_id`` ""
# holds the platform's totals and ``dimension`` "" the unsplit series, so every query is one
# range scan of the primary key. Sizes: "m" minute, "h" hour, "d" day. ``start`` is in seconds since
# the epoch (UTC): a month of hourly buckets reads as plain integers, not as 720 parsed timestamps.
analytics_payment_buckets = Table(
    "analytics_payment_buckets",
    metadata,
    Column("merchant_id", String(40), primary_key=True),
    Column("size", String(1), primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("value", String(40), primary_key=True),
    Column("start", BigInteger, primary_key=True),
    Column("payments", BigInteger, nullable=False),
    Column("volume", BigInteger, nullable=False),
    Column("authorized", BigInteger, nullable=False),
    Column("authorized_volume", BigInteger, nullable=False),
    Column("captured", BigInteger, nullable=False),
    Column("captured_volume", BigInteger, nullable=False),
    Column("declined", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("voided", BigInteger, nullable=False),
    Column("refunds", BigInteger, nullable=False),
    Column("refunded_volume", BigInteger, nullable=False),
    Column("capture_latency_ms", BigInteger, nullable=False),
)

# Gateway call totals per (merchant, bucket size, gateway, bucket start), with a fixed latency
# histogram (``lat_0`` … ``lat_10``: the bounds in domain/analytics.py) that gives percentiles.
analytics_gateway_buckets = Table(
    "analytics_gateway_buckets",
    metadata,
    Column("merchant_id", String(40), primary_key=True),
    Column("size", String(1), primary_key=True),
    Column("gateway", String(40), primary_key=True),
    Column("start", BigInteger, primary_key=True),
    Column("attempts", BigInteger, nullable=False),
    Column("approved", BigInteger, nullable=False),
    Column("declined", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("timeouts", BigInteger, nullable=False),
    Column("breaker_rejections", BigInteger, nullable=False),
    Column("latency_ms", BigInteger, nullable=False),
    Column("latency_max_ms", BigInteger, nullable=False),
    *(Column(f"lat_{i}", BigInteger, nullable=False) for i in range(11)),
)
