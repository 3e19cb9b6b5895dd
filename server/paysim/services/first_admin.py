"""The first admin account: created on start (PAYSIM_BOOTSTRAP_ADMIN_*) or by ``paysim admin create``."""

from __future__ import annotations

import logging

from paysim.domain.roles import Role
from paysim.domain.validation import Violations, check_email, check_password, normalize_email
from paysim.services.accounts import AccountService
from paysim.store.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("paysim.bootstrap")


def check_admin(email: str, password: str) -> str:
    """The normalized email of an admin account to create; InvalidArgument for a bad email or
    password (checked before any database is touched)."""
    email = normalize_email(email)
    v = Violations()
    check_email(v, "email", email)
    check_password(v, "password", password)
    v.raise_if_any()
    return email


async def ensure_admin(
    accounts: AccountService, uow: UnitOfWorkFactory, email: str, password: str, full_name: str = "Administrator"
) -> bool:
    """Create an admin account unless one with this email exists. True if it was created."""
    email = check_admin(email, password)
    async with uow() as work:
        if await work.users.get_by_email(email) is not None:
            return False
    await accounts.create_user(email, password, full_name, Role.ADMIN, None)
    log.info("admin account created", extra={"fields": {"email": email}})
    return True
