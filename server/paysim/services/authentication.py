"""Turns the ``authorization`` header into a Principal: a JWT access token or an API key."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Sequence
from datetime import timedelta

from paysim.domain.errors import PermissionDenied, Unauthenticated
from paysim.domain.principal import CredentialKind, Principal
from paysim.domain.roles import Role
from paysim.security import secrets
from paysim.security.access_tokens import AccessTokenCodec
from paysim.services.clock import Clock
from paysim.services.single_flight import SingleFlight
from paysim.services.ttl_cache import TtlCache
from paysim.store.api_key_use import ApiKeyUse, UowApiKeyUse
from paysim.store.unit_of_work import UnitOfWorkFactory

_WHITESPACE = re.compile(r"\s")

API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def bearer_credential(headers: Sequence[str]) -> str | None:
    """The credential of the ``authorization: Bearer …`` header; None when there is none.

    More than one credential (two headers, or two credentials in one, as a proxy that merges
    repeated headers would send them) is refused: which caller is meant cannot be known."""
    if not headers:
        return None
    if len(headers) > 1:
        raise _ambiguous()
    scheme, _, value = headers[0].strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise Unauthenticated("the authorization header must be 'Bearer <token>'", reason="MALFORMED_CREDENTIALS")
    # Tokens and API keys never contain these.
    if "," in value or _WHITESPACE.search(value):
        raise _ambiguous()
    return value


def _ambiguous() -> Unauthenticated:
    return Unauthenticated(
        "the call carries more than one credential; send exactly one 'authorization: Bearer <token>'",
        reason="AMBIGUOUS_CREDENTIALS",
    )


class PrincipalCache:
    """Recently authenticated credentials, so a hot client does not cost a database read per call.

    Entries live ``ttl`` seconds at most (and never past an access token's expiry). Revoking a key
    or deactivating a merchant clears the cache of this process at once; other server processes
    notice within ``ttl``. Keyed by a digest: the cache holds no credential.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._cache: TtlCache[Principal] = TtlCache(ttl, max_entries)

    def get(self, credential: str) -> Principal | None:
        return self._cache.get(secrets.digest(credential))

    def put(self, credential: str, principal: Principal, not_after: float | None = None) -> None:
        self._cache.put(secrets.digest(credential), principal, not_after)

    def clear(self) -> None:
        self._cache.clear()


class Authenticator:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_tokens: AccessTokenCodec,
        clock: Clock,
        cache: PrincipalCache,
        key_uses: ApiKeyUse | None = None,
    ) -> None:
        self._uow = uow
        self._key_uses = key_uses if key_uses is not None else UowApiKeyUse(uow)
        self._access = access_tokens
        self._clock = clock
        self._cache = cache
        # Calls that arrive together with one credential (a burst of streams) share one lookup.
        self._lookups: SingleFlight[str, Principal] = SingleFlight()

    async def authenticate(self, credential: str) -> Principal:
        cached = self._cache.get(credential)
        if cached is not None:
            return cached
        return await self._lookups.run(secrets.digest(credential), lambda: self._look_up(credential))

    async def _look_up(self, credential: str) -> Principal:
        if credential.startswith(secrets.API_KEY_PREFIX):
            principal = await self._api_key(credential)
            self._cache.put(credential, principal)
            return principal
        principal, lifetime = await self._access_token(credential)
        self._cache.put(credential, principal, time.monotonic() + lifetime)
        return principal

    async def _access_token(self, token: str) -> tuple[Principal, float]:
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
        principal = Principal(
            kind=CredentialKind.ACCESS_TOKEN, role=user.role, user_id=user.id, merchant_id=user.merchant_id
        )
        return principal, (claims.expires_at - self._clock()).total_seconds()

    async def _api_key(self, key: str) -> Principal:
        invalid = Unauthenticated("the API key is not valid", reason="INVALID_API_KEY")
        if not secrets.looks_like_api_key(key):
            raise invalid
        now = self._clock()
        secret_digest = secrets.digest(key)
        found = await self._key_uses.use(secrets.api_key_prefix(key), secret_digest, now, now - API_KEY_TOUCH_INTERVAL)
        if found is None or not hmac.compare_digest(secret_digest, found.secret_hash):
            raise invalid
        if found.revoked:
            raise Unauthenticated("the API key has been revoked", reason="API_KEY_REVOKED")
        if not found.merchant_active:
            raise PermissionDenied("the merchant is deactivated", reason="MERCHANT_INACTIVE")
        return Principal(
            kind=CredentialKind.API_KEY,
            role=Role.MERCHANT,
            merchant_id=found.merchant_id,
            api_key_id=found.key_id,
        )
