"""Roles, permissions and which role holds which permission: the one RBAC table."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    MERCHANT = "merchant"
    CUSTOMER = "customer"


class Permission(enum.StrEnum):
    PROFILE_READ = "profile:read"
    PASSWORD_CHANGE = "password:change"
    MERCHANT_READ = "merchant:read"
    MERCHANT_WRITE = "merchant:write"
    MERCHANT_ADMIN = "merchant:admin"
    API_KEY_MANAGE = "api_key:manage"
    CUSTOMER_READ = "customer:read"
    CUSTOMER_WRITE = "customer:write"
    PAYMENT_READ = "payment:read"
    PAYMENT_WRITE = "payment:write"
    SIMULATOR_CONTROL = "simulator:control"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Admins bypass the table (see has_permission); listed for completeness.
    Role.ADMIN: frozenset(Permission),
    Role.MERCHANT: frozenset(
        {
            Permission.PROFILE_READ,
            Permission.PASSWORD_CHANGE,
            Permission.MERCHANT_READ,
            Permission.MERCHANT_WRITE,
            Permission.API_KEY_MANAGE,
            Permission.CUSTOMER_READ,
            Permission.CUSTOMER_WRITE,
            Permission.PAYMENT_READ,
            Permission.PAYMENT_WRITE,
            Permission.SIMULATOR_CONTROL,
        }
    ),
    Role.CUSTOMER: frozenset(
        {
            Permission.PROFILE_READ,
            Permission.PASSWORD_CHANGE,
            Permission.CUSTOMER_READ,
            Permission.PAYMENT_READ,
        }
    ),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return role is Role.ADMIN or permission in ROLE_PERMISSIONS[role]
