"""Identity records as the service layer sees them (no storage or wire types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
