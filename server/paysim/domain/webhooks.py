"""Webhooks, the pure part: endpoint rules, the retry schedule, the signature header and which
network addresses a delivery may go to."""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from paysim.domain.payment import EventType
from paysim.domain.validation import Violations

ALL_EVENTS = "*"
MAX_URL_CHARS = 2048
MAX_DESCRIPTION_CHARS = 200
MAX_ENDPOINTS_PER_MERCHANT = 16
MAX_OVERLAP = timedelta(days=7)
SIGNATURE_HEADER = "Paysim-Signature"
EVENT_ID_HEADER = "Paysim-Event-Id"
DELIVERY_ID_HEADER = "Paysim-Delivery-Id"
ENDPOINT_GONE = "ENDPOINT_GONE"

# The delay before each attempt, measured from the previous one: the first goes at once, the
# last about 28 hours after the event. Scaled by PAYSIM_WEBHOOK_BACKOFF_SCALE.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    merchant_id: str
    url: str
    event_types: tuple[str, ...]
    enabled: bool
    description: str
    disabled_reason: str
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    number: int
    at: datetime
    http_status: int  # 0: no status (see error)
    error: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: str
    endpoint_id: str
    merchant_id: str
    event_id: str
    event_type: str
    payment_id: str
    event_version: int
    sequence: int
    state: DeliveryState
    attempt_count: int
    next_attempt_at: datetime | None
    redelivery_of: str
    created_at: datetime
    updated_at: datetime
    attempts: tuple[WebhookAttempt, ...] = ()


# --- endpoint rules ------------------------------------------------------------------------------


def known_event_types() -> frozenset[str]:
    return frozenset(t.value for t in EventType)


def normalize_event_types(v: Violations, field: str, values: Iterable[str]) -> tuple[str, ...]:
    """Sorted, without duplicates; ``*`` only alone."""
    wanted = sorted({value.strip() for value in values})
    if not wanted:
        v.add(field, "must name at least one event type, or * for every type", "REQUIRED")
        return ()
    if ALL_EVENTS in wanted:
        if len(wanted) > 1:
            v.add(field, "* means every type and cannot be combined with others", "INVALID_EVENT_TYPE")
        return (ALL_EVENTS,)
    known = known_event_types()
    for value in wanted:
        if value not in known:
            v.add(field, f"unknown event type {value[:60]!r}; known: {', '.join(sorted(known))}", "INVALID_EVENT_TYPE")
    return tuple(wanted)


def encode_event_types(types: Sequence[str]) -> str:
    """The stored form: ``*``, or every type between commas (``,a,b,``) so that a database can
    match one type with a substring test and no JSON support."""
    if tuple(types) == (ALL_EVENTS,):
        return ALL_EVENTS
    return "," + ",".join(types) + ","


def decode_event_types(stored: str) -> tuple[str, ...]:
    if stored == ALL_EVENTS:
        return (ALL_EVENTS,)
    return tuple(t for t in stored.split(",") if t)


@dataclass(frozen=True, slots=True)
class Target:
    """A URL split into what a delivery connects to."""

    scheme: str
    host: str
    port: int


def check_url(v: Violations, field: str, url: str) -> Target | None:
    """The URL's syntax: http(s), a host, no credentials. Where it points is checked separately
    (after name resolution), at creation and again at every delivery."""
    if not url:
        v.add(field, "is required", "REQUIRED")
        return None
    if len(url) > MAX_URL_CHARS or any(ord(ch) <= 32 or ord(ch) == 127 for ch in url):
        v.add(field, f"must be a URL of at most {MAX_URL_CHARS} characters without spaces", "INVALID_URL")
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        v.add(field, "is not a valid URL", "INVALID_URL")
        return None
    if parts.scheme not in {"http", "https"}:
        v.add(field, "must be an http or https URL", "INVALID_URL_SCHEME")
        return None
    if not parts.hostname:
        v.add(field, "must name a host", "INVALID_URL")
        return None
    if parts.username is not None or parts.password is not None:
        v.add(field, "must not carry a user name or password", "INVALID_URL")
        return None
    if parts.fragment:
        v.add(field, "must not have a fragment", "INVALID_URL")
        return None
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


# --- where deliveries may go ---------------------------------------------------------------------


class AddressKind(enum.StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice


def address_kind(address: str) -> AddressKind:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address in IPv6 clothing is that IPv4 address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
    if ip.is_unspecified:
        return AddressKind.UNSPECIFIED
    if ip.is_loopback:
        return AddressKind.LOOPBACK
    if ip.is_link_local:
        return AddressKind.LINK_LOCAL
    if ip.is_multicast:
        return AddressKind.MULTICAST
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return AddressKind.PRIVATE
    if ip.is_reserved:
        return AddressKind.RESERVED
    if ip.is_private:
        # Python counts documentation, benchmarking and other special ranges as private too;
        # only the ranges a real receiver can live on are "private" here.
        if isinstance(ip, ipaddress.IPv4Address):
            private = any(ip in ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
        else:
            private = ip in ipaddress.ip_network("fc00::/7")
        return AddressKind.PRIVATE if private else AddressKind.RESERVED
    if not ip.is_global:
        return AddressKind.RESERVED
    return AddressKind.PUBLIC


@dataclass(frozen=True, slots=True)
class TargetRules:
    """Which kinds of address deliveries may reach. Multicast, unspecified and reserved
    addresses are never allowed: no receiver can legitimately live there."""

    allow_loopback: bool = True
    allow_private: bool = False
    allow_link_local: bool = False

    def allows(self, kind: AddressKind) -> bool:
        return kind is AddressKind.PUBLIC or {
            AddressKind.LOOPBACK: self.allow_loopback,
            AddressKind.PRIVATE: self.allow_private,
            AddressKind.LINK_LOCAL: self.allow_link_local,
        }.get(kind, False)

    def refusal(self, addresses: Sequence[str]) -> str | None:
        """Why these resolved addresses may not be reached (every one must be allowed), or None."""
        if not addresses:
            return "the host resolves to no address"
        for address in addresses:
            kind = address_kind(address)
            if not self.allows(kind):
                return f"the host resolves to a {kind.value} address ({address}), which is not allowed"
        return None


# --- schedule and signature ----------------------------------------------------------------------


def retry_delay(attempts_made: int, scale: float, max_attempts: int = len(RETRY_SCHEDULE)) -> timedelta | None:
    """How long after attempt number ``attempts_made`` the next one goes; None after the last.
    Attempts past the schedule's end (a larger ``max_attempts``) wait its last delay."""
    if attempts_made >= max_attempts:
        return None
    return RETRY_SCHEDULE[min(attempts_made, len(RETRY_SCHEDULE) - 1)] * scale


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with the whole secret string, as Stripe
    signs its webhooks (so its libraries verify ours)."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """``t=<unix seconds>,v1=<sig>[,v1=<sig>]``: one signature per secret that currently signs."""
    return ",".join([f"t={timestamp}", *(f"v1={signature(s, timestamp, body)}" for s in secrets)])
