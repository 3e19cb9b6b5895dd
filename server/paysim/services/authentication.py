"""Turns the ``authorization`` header into a Principal: a JWT access token or an API key."""

from __future__ import annotations

from datetime import timedelta

from paysim.domain.errors import PermissionDenied, Unauthenticated
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from paysim.security import secrets
from paysim.security.access_tokens import AccessTokenCodec
from paysim.services.clock import Clock
from paysim.store.unit_of_work import UnitOfWorkFactory

API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def bearer_credential(header: str | None) -> str | None:
    """The credential of an ``authorization: Bearer …`` header; None when the header is absent."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the authorization header must be 'Bearer <token>'", reason="MALFORMED_CREDENTIALS")
    return value.strip()


class Authenticator:
    def __init__(self, uow: UnitOfWorkFactory, access_tokens: AccessTokenCodec, clock: Clock) -> None:
        self._uow = uow
        self._access = access_tokens
        self._clock = clock

    async def authenticate(self, credential: str) -> Principal:
        if credential.startswith(secrets.API_KEY_PREFIX):
            return await self._api_key(credential)
        return await self._access_token(credential)

    async def _access_token(self, token: str) -> Principal:
        claims = self._access.verify(token)
        async with self._uow() as uow:
            user = await uow.users.get(claims.user_id)
            merchant_active = user is not None and (
                user.merchant_id is None or await uow.merchants.is_active(user.merchant_id)
            )
        if user is None or not user.active:
            raise Unauthenticated("the account is not active", reason="ACCOUNT_INACTIVE")
        if not merchant_active:
            raise PermissionDenied("the merchant is deactivated", reason="MERCHANT_INACTIVE")
        # The stored role wins over the token's claim, so a role change takes effect at once.
        return Principal(
            kind=CredentialKind.ACCESS_TOKEN, role=user.role, user_id=user.id, merchant_id=user.merchant_id
        )

    async def _api_key(self, key: str) -> Principal:
        invalid = Unauthenticated("the API key is not valid", reason="INVALID_API_KEY")
        if not secrets.looks_like_api_key(key):
            raise invalid
        now = self._clock()
        async with self._uow() as uow:
            record = await uow.api_keys.find_by_prefix(secrets.api_key_prefix(key))
            if record is None or not secrets.matches(key, record.secret_hash):
                raise invalid
            if record.revoked_at is not None:
                raise Unauthenticated("the API key has been revoked", reason="API_KEY_REVOKED")
            if not await uow.merchants.is_active(record.merchant_id):
                raise PermissionDenied("the merchant is deactivated", reason="MERCHANT_INACTIVE")
            if record.last_used_at is None or record.last_used_at < now - API_KEY_TOUCH_INTERVAL:
                await uow.api_keys.touch(record.id, now, now - API_KEY_TOUCH_INTERVAL)
                await uow.commit()
        return Principal(
            kind=CredentialKind.API_KEY,
            role=Role.MERCHANT,
            merchant_id=record.merchant_id,
            api_key_id=record.id,
        )
