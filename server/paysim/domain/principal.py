"""Who is calling: the result of authentication, consulted by authorization and services."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from paysim.domain.roles import Permission, Role, has_permission


class CredentialKind(enum.Enum):
    ACCESS_TOKEN = "access_token"
    API_KEY = "api_key"


# An API key acts for its merchant but cannot mint or manage keys, nor change a password:
# a leaked key must not be able to entrench itself.
_API_KEY_EXCLUDED = frozenset({Permission.API_KEY_MANAGE, Permission.PASSWORD_CHANGE})


@dataclass(frozen=True, slots=True)
class Principal:
    kind: CredentialKind
    role: Role
    user_id: str | None = None
    merchant_id: str | None = None
    api_key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def subject(self) -> str:
        """A non-secret identifier for logs."""
        return self.api_key_id or self.user_id or "anonymous"

    def can(self, permission: Permission) -> bool:
        if self.kind is CredentialKind.API_KEY and permission in _API_KEY_EXCLUDED:
            return False
        return has_permission(self.role, permission)
