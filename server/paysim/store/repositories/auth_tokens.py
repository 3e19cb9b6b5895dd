"""Refresh tokens (stored as hashes, rotated, revoked by family) and login throttles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.models import LoginThrottle, RefreshToken
from paysim.store.repositories._common import dialect_insert
from paysim.store.schema import login_throttles, refresh_tokens


def _token(row: Row[Any]) -> RefreshToken:
    return RefreshToken(
        id=row.id,
        family_id=row.family_id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


class RefreshTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, token: RefreshToken, token_hash: str) -> None:
        await self._conn.execute(
            insert(refresh_tokens).values(
                id=token.id,
                token_hash=token_hash,
                family_id=token.family_id,
                user_id=token.user_id,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=None,
                revoked_at=None,
            )
        )

    async def find(self, token_hash: str) -> RefreshToken | None:
        row = (
            await self._conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash))
        ).first()
        return _token(row) if row else None

    async def use(self, token_id: str, now: datetime) -> bool:
        """Mark a live token used. False if it was used, revoked or expired in the meantime: the
        guarded update lets exactly one of two concurrent refreshes win."""
        result = await self._conn.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.id == token_id,
                refresh_tokens.c.used_at.is_(None),
                refresh_tokens.c.revoked_at.is_(None),
                refresh_tokens.c.expires_at > now,
            )
            .values(used_at=now)
        )
        return result.rowcount == 1

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user(self, user_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def delete_expired(self, now: datetime, revoked_before: datetime) -> int:
        """Delete tokens past their expiry, and revoked ones once they are old enough that
        keeping them for reuse detection no longer matters."""
        result = await self._conn.execute(
            delete(refresh_tokens).where(
                or_(refresh_tokens.c.expires_at <= now, refresh_tokens.c.revoked_at <= revoked_before)
            )
        )
        return int(result.rowcount or 0)


class LoginThrottleRepository:
    """Failed-login counters per email, decided in the database so that every process agrees.

    Each login attempt is counted as a failure *before* its password is compared (``reserve``)
    and settled afterwards (``settle_failure`` / ``settle_success``): guesses in flight together
    can never add up to more than ``max_failures``, however many arrive at once or on however
    many processes.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, email_hash: str) -> LoginThrottle | None:
        row = (
            await self._conn.execute(select(login_throttles).where(login_throttles.c.email_hash == email_hash))
        ).first()
        return LoginThrottle(row.failures, row.locked_until) if row else None

    async def reserve(self, email_hash: str, now: datetime, max_failures: int) -> int | None:
        """Count one more attempt as failed, unless the email is locked or ``max_failures``
        attempts (finished or still in flight) are counted already: then None.

        Returns the attempt's position in the count, which ``settle_success`` needs. One
        conditional upsert, so the check and the count cannot be separated by another attempt.
        A lock that has run out starts a fresh count."""
        table = login_throttles
        expired_lock = and_(table.c.locked_until.is_not(None), table.c.locked_until <= now)
        upsert = dialect_insert(self._conn.dialect.name, table).values(
            email_hash=email_hash, failures=1, locked_until=None, updated_at=now
        )
        stmt = upsert.on_conflict_do_update(
            index_elements=[table.c.email_hash],
            set_={
                "failures": case((expired_lock, 1), else_=table.c.failures + 1),
                "locked_until": None,
                "updated_at": now,
            },
            where=or_(expired_lock, and_(table.c.locked_until.is_(None), table.c.failures < max_failures)),
        ).returning(table.c.failures)
        row = (await self._conn.execute(stmt)).first()
        return int(row.failures) if row else None

    async def settle_failure(
        self, email_hash: str, now: datetime, max_failures: int, lock_until: datetime
    ) -> LoginThrottle:
        """A reserved attempt failed: it stays counted, and once ``max_failures`` attempts are
        counted the email is locked. Returns the email's state after this failure."""
        table = login_throttles
        await self._conn.execute(
            update(table)
            .where(table.c.email_hash == email_hash, table.c.locked_until.is_(None), table.c.failures >= max_failures)
            .values(locked_until=lock_until, updated_at=now)
        )
        return await self.get(email_hash) or LoginThrottle(0, None)

    async def settle_success(self, email_hash: str, now: datetime, position: int) -> bool:
        """A reserved attempt succeeded: forget the attempts counted up to and including it
        (those counted after it, still in flight, stay counted). False when the email was locked
        while it was in flight: a locked email refuses even the right password."""
        table = login_throttles
        unlocked = or_(table.c.locked_until.is_(None), table.c.locked_until <= now)
        mine = table.c.email_hash == email_hash
        deleted = await self._conn.execute(delete(table).where(mine, unlocked, table.c.failures <= position))
        if deleted.rowcount == 1:
            return True
        lowered = await self._conn.execute(
            update(table)
            .where(mine, unlocked, table.c.failures > position)
            .values(failures=table.c.failures - position, updated_at=now)
        )
        if lowered.rowcount == 1:
            return True
        state = await self.get(email_hash)
        return state is None or state.locked_until is None or state.locked_until <= now

    async def delete_idle(self, before: datetime) -> int:
        result = await self._conn.execute(
            delete(login_throttles).where(
                login_throttles.c.updated_at < before,
                or_(login_throttles.c.locked_until.is_(None), login_throttles.c.locked_until < before),
            )
        )
        return int(result.rowcount or 0)
