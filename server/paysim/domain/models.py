"""Identity records as the service layer sees them (no storage or wire types)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from paysim.domain.card_issuers import UnknownCards
from paysim.domain.gateway_settings import LATENCY_MS, TIMEOUT_MS, setting
from paysim.domain.roles import Role


@dataclass(frozen=True, slots=True)
class Merchant:
    id: str
    name: str
    support_email: str
    default_currency: str
    active: bool
    created_at: datetime
    updated_at: datetime
    fee_percent_bps: int = 290
    fee_fixed: int = 30
    unknown_cards: UnknownCards = UnknownCards.APPROVE


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    full_name: str
    role: Role
    active: bool
    merchant_id: str | None
    created_at: datetime
    updated_at: datetime
    password_hash: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    merchant_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    secret_hash: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    merchant_id: str
    email: str
    name: str
    phone: str
    metadata: dict[str, str]
    user_id: str | None
    created_at: datetime
    updated_at: datetime
    # The test clock it lives on (its payments too); "" for real time.
    test_clock_id: str = ""


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: str
    family_id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """How one merchant uses one gateway. Routing tries the enabled ones by ``priority`` (1 first,
    ties by gateway name); see domain/gateway_settings.py for the rules."""

    merchant_id: str
    gateway: str  # a name of gateways/registry.py GATEWAY_NAMES
    enabled: bool
    priority: int
    settings: Mapping[str, str]  # validated by gateway_settings.check_settings
    created_at: datetime
    updated_at: datetime

    @property
    def timeout_ms(self) -> int:
        """How long routing waits for this gateway before it fails over (default 10000)."""
        return setting(self.settings, TIMEOUT_MS)

    @property
    def latency_ms(self) -> int:
        """Simulated latency added to every call to this gateway (default 0)."""
        return setting(self.settings, LATENCY_MS)
