"""Accounts and sessions: registration, login with lockout, refresh rotation, logout."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from paysim.domain import ids
from paysim.domain.duplicates import DuplicateEmail
from paysim.domain.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
    Unauthenticated,
)
from paysim.domain.models import LoginThrottle, RefreshToken, User
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from paysim.domain.validation import (
    MAX_NAME_CHARS,
    Violations,
    check_email,
    check_password,
    check_text,
    normalize_email,
)
from paysim.security import secrets
from paysim.security.access_tokens import AccessTokenCodec
from paysim.security.passwords import PasswordHasher
from paysim.services.clock import Clock
from paysim.services.login_limits import LoginLimits
from paysim.store.unit_of_work import UnitOfWork, UnitOfWorkFactory

INVALID_CREDENTIALS = "the email or password is not correct"


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    refresh_ttl: timedelta
    max_failures: int
    lockout: timedelta


def email_hash(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


def _could_be_registered(email: str) -> bool:
    v = Violations()
    check_email(v, "email", email)
    return not v.items


def _locked(retry_after: timedelta) -> ResourceExhausted:
    return ResourceExhausted(
        "too many failed logins for this email; try again later",
        reason="LOGIN_LOCKED",
        retry_after_seconds=retry_after.total_seconds(),
        quota_subject="login:email",
    )


def email_taken() -> AlreadyExists:
    return AlreadyExists("an account with this email exists", reason="EMAIL_TAKEN")


class AccountService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        access_tokens: AccessTokenCodec,
        policy: AccountPolicy,
        clock: Clock,
        limits: LoginLimits,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._limits = limits
        self._access = access_tokens
        self._policy = policy
        self._clock = clock

    async def register_customer(self, email: str, password: str, full_name: str) -> User:
        email = normalize_email(email)
        v = Violations()
        check_email(v, "email", email)
        check_password(v, "password", password)
        check_text(v, "full_name", full_name, max_chars=MAX_NAME_CHARS)
        v.raise_if_any()
        return await self.create_user(email, password, full_name, Role.CUSTOMER, None)

    async def create_user(self, email: str, password: str, full_name: str, role: Role, merchant_id: str | None) -> User:
        password_hash = await self._hasher.hash(password)
        now = self._clock()
        user = User(
            id=ids.new_id(ids.USER),
            email=email,
            full_name=full_name.strip(),
            role=role,
            active=True,
            merchant_id=merchant_id,
            created_at=now,
            updated_at=now,
            password_hash=password_hash,
        )
        try:
            async with self._uow() as uow:
                await uow.users.add(user)
                await uow.commit()
        except DuplicateEmail:
            raise email_taken() from None
        return user

    async def login(self, email: str, password: str, *, client_address: str) -> tuple[User, Tokens]:
        email = normalize_email(email)
        v = Violations()
        if not email:
            v.add("email", "is required", "REQUIRED")
        if not password:
            v.add("password", "is required", "REQUIRED")
        v.raise_if_any()
        key = email_hash(email)
        await self._limits.admit(client_address, key)
        # The email's own turn at the hasher: its guesses wait for each other, not for everyone.
        async with self._hasher.turn(key) as hashing:
            now = self._clock()
            async with self._uow() as uow:
                # An email no account can have (e.g. with a NUL, which PostgreSQL cannot even
                # compare) is simply unknown: same path, same answer, no query.
                user = await uow.users.get_by_email(email) if _could_be_registered(email) else None
                position = await self._reserve_attempt(uow, key, now)
                await uow.commit()
            # Always verify, against a dummy hash when the email is unknown: both paths take the
            # same time and end in the same error.
            ok = await hashing.verify(password, user.password_hash if user else None)
        async with self._uow() as uow:
            if ok and user is not None and user.active and await self._merchant_usable(uow, user):
                await self._attempt_succeeded(uow, key, now, position)
                tokens = await self._open_session(uow, user, ids.new_id(ids.REFRESH_FAMILY), now)
                await uow.commit()
                return user, tokens
        await self._attempt_failed(key, now)
        raise Unauthenticated(INVALID_CREDENTIALS, reason="INVALID_CREDENTIALS")

    # Every password check of an account (a login, a password change) is an attempt on its
    # email's failure count: reserved before the compare, settled after it.

    async def _reserve_attempt(self, uow: UnitOfWork, key: str, now: datetime) -> int:
        """Count the attempt as a failure until its password proves right; LOGIN_LOCKED if the
        count admits no more. Counted before the compare, so that concurrent guesses cannot all
        pass a check made before any of them failed."""
        position = await uow.login_throttles.reserve(key, now, self._policy.max_failures)
        if position is None:
            raise self._refusal(await uow.login_throttles.get(key), now)
        return position

    async def _attempt_failed(self, key: str, now: datetime) -> None:
        """The attempt stays counted; LOGIN_LOCKED if it is the one that locks the email."""
        async with self._uow() as uow:
            state = await uow.login_throttles.settle_failure(
                key, now, self._policy.max_failures, now + self._policy.lockout
            )
            await uow.commit()
        if state.locked_until is not None and state.locked_until > now:
            raise _locked(state.locked_until - now)

    async def _attempt_succeeded(self, uow: UnitOfWork, key: str, now: datetime, position: int) -> None:
        """Forgive the failures counted up to this attempt; LOGIN_LOCKED if the email was locked
        while it was in flight."""
        if not await uow.login_throttles.settle_success(key, now, position):
            raise self._refusal(await uow.login_throttles.get(key), now)

    def _refusal(self, state: LoginThrottle | None, now: datetime) -> ResourceExhausted:
        """The answer to an attempt the email's failure count did not admit."""
        if state is not None and state.locked_until is not None and state.locked_until > now:
            return _locked(state.locked_until - now)
        # Not locked (yet): every attempt the count admits is in flight, each counted as a
        # failure until it ends. Most likely they are guesses that will lock the email.
        return _locked(self._policy.lockout)

    async def _merchant_usable(self, uow: UnitOfWork, user: User) -> bool:
        return user.merchant_id is None or await uow.merchants.is_active(user.merchant_id)

    async def _open_session(self, uow: UnitOfWork, user: User, family_id: str, now: datetime) -> Tokens:
        access, access_expires = self._access.issue(
            user_id=user.id, role=user.role, merchant_id=user.merchant_id, now=now
        )
        refresh = secrets.new_refresh_token()
        record = RefreshToken(
            id=ids.new_id("rtk"),
            family_id=family_id,
            user_id=user.id,
            created_at=now,
            expires_at=now + self._policy.refresh_ttl,
            used_at=None,
            revoked_at=None,
        )
        await uow.refresh_tokens.add(record, secrets.digest(refresh))
        return Tokens(access, access_expires, refresh, record.expires_at)

    async def refresh(self, refresh_token: str) -> Tokens:
        if not refresh_token:
            raise InvalidArgument([FieldViolation("refresh_token", "is required", "REQUIRED")])
        now = self._clock()
        invalid = Unauthenticated("the refresh token is not valid", reason="INVALID_REFRESH_TOKEN")
        async with self._uow() as uow:
            record = await uow.refresh_tokens.find(secrets.digest(refresh_token))
            if record is None:
                raise invalid
            if record.used_at is not None and record.revoked_at is None:
                # A used token presented again: someone holds a copy. End the whole session.
                await uow.refresh_tokens.revoke_family(record.family_id, now)
                await uow.commit()
                raise Unauthenticated(
                    "the refresh token was already used; the session has been revoked",
                    reason="REFRESH_TOKEN_REUSED",
                )
            if record.revoked_at is not None:
                raise Unauthenticated("the session has been revoked", reason="REFRESH_TOKEN_REVOKED")
            if record.expires_at <= now:
                raise Unauthenticated("the refresh token has expired", reason="REFRESH_TOKEN_EXPIRED")
            user = await uow.users.get(record.user_id)
            if user is None or not user.active or not await self._merchant_usable(uow, user):
                raise invalid
            if not await uow.refresh_tokens.use(record.id, now):
                # Lost a race with a concurrent refresh of the same token: that is reuse too.
                await uow.refresh_tokens.revoke_family(record.family_id, now)
                await uow.commit()
                raise Unauthenticated(
                    "the refresh token was already used; the session has been revoked",
                    reason="REFRESH_TOKEN_REUSED",
                )
            tokens = await self._open_session(uow, user, record.family_id, now)
            await uow.commit()
        return tokens

    async def logout(self, refresh_token: str) -> None:
        if not refresh_token:
            raise InvalidArgument([FieldViolation("refresh_token", "is required", "REQUIRED")])
        async with self._uow() as uow:
            record = await uow.refresh_tokens.find(secrets.digest(refresh_token))
            if record is None:
                raise Unauthenticated("the refresh token is not valid", reason="INVALID_REFRESH_TOKEN")
            await uow.refresh_tokens.revoke_family(record.family_id, self._clock())
            await uow.commit()

    async def current_user(self, principal: Principal) -> User | None:
        if principal.kind is not CredentialKind.ACCESS_TOKEN or principal.user_id is None:
            return None
        async with self._uow() as uow:
            user = await uow.users.get(principal.user_id)
        if user is None:
            raise Unauthenticated("the account no longer exists", reason="INVALID_TOKEN")
        return user

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        v = Violations()
        if not current:
            v.add("current_password", "is required", "REQUIRED")
        check_password(v, "new_password", new)
        v.raise_if_any()
        user = await self.current_user(principal)
        if user is None:
            raise Unauthenticated("changing a password needs a user access token", reason="USER_TOKEN_REQUIRED")
        key = email_hash(user.email)
        # The current password is checked like a login's, so a stolen session cannot guess it
        # without limit.
        async with self._hasher.turn(key) as hashing:
            now = self._clock()
            async with self._uow() as uow:
                position = await self._reserve_attempt(uow, key, now)
                await uow.commit()
            ok = await hashing.verify(current, user.password_hash)
            new_hash = await hashing.hash(new) if ok else ""
        if not ok:
            await self._attempt_failed(key, now)
            raise InvalidArgument(
                [FieldViolation("current_password", "is not correct", "WRONG_PASSWORD")],
                reason="WRONG_PASSWORD",
            )
        async with self._uow() as uow:
            await self._attempt_succeeded(uow, key, now, position)
            await uow.users.set_password(user.id, new_hash, now)
            await uow.refresh_tokens.revoke_user(user.id, now)
            await uow.commit()

    async def purge_expired(self) -> int:
        """Delete expired refresh tokens and idle login throttles; returns tokens removed."""
        now = self._clock()
        async with self._uow() as uow:
            removed = await uow.refresh_tokens.delete_expired(now, now - self._policy.refresh_ttl)
            await uow.login_throttles.delete_idle(now - self._policy.lockout)
            await uow.commit()
        return removed
