"""Object-level authorization: which merchant a request may act on."""

from __future__ import annotations

from paysim.domain.errors import FieldViolation, InvalidArgument, NotFound
from paysim.domain.principal import Principal


def target_merchant(principal: Principal, requested: str, *, field: str = "merchant_id") -> str:
    """The merchant a request acts on. Another tenant's id is NOT_FOUND, never FORBIDDEN."""
    if principal.is_admin:
        if not requested:
            raise InvalidArgument([FieldViolation(field, "is required for admins", "REQUIRED")])
        return requested
    if not principal.merchant_id:
        raise NotFound("merchant", requested or "(none)")
    if requested and requested != principal.merchant_id:
        raise NotFound("merchant", requested)
    return principal.merchant_id


def visible_merchant(principal: Principal, merchant_id: str, kind: str, object_id: str) -> None:
    """Raise NOT_FOUND unless the caller may see an object of ``merchant_id``."""
    if principal.is_admin:
        return
    if principal.merchant_id != merchant_id:
        raise NotFound(kind, object_id)
