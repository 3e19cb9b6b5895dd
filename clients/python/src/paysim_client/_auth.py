"""Credentials for the transport: an API key, or a login session that keeps itself valid.

A session refreshes its access token shortly before it expires, and again whenever the server
answers UNAUTHENTICATED because the token expired or stopped being valid (a server restarted
with a new signing key). Each refresh rotates the refresh token; paysim revokes the whole
session when a rotated one is used again, so refreshes are serialised, never retried blindly,
and a refresh that raced with another one is not repeated. When the refresh token itself is no
longer accepted, the session logs in again with the password it was opened with; a session
resumed from a :class:`~paysim_client.token_store.TokenStore` without one ends there
(``Unauthenticated``). With a store, every new pair is saved to it, and a refresh first adopts
a pair that another process sharing the store saved meanwhile (its refresh token is the live
one now).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import nullcontext

from paysim_proto.v1 import auth_pb2

from paysim_client._generated import rpcs
from paysim_client._transport import Transport
from paysim_client.config import RetryPolicy
from paysim_client.errors import RpcError, Unauthenticated
from paysim_client.token_store import TokenStore

# Reasons after which a renewed access token can succeed where the old one failed.
RENEWABLE_REASONS = frozenset({"TOKEN_EXPIRED", "INVALID_TOKEN"})
# Refresh this long before the access token expires (at most half of its lifetime).
REFRESH_MARGIN_SECONDS = 60.0
_ONE_ATTEMPT = RetryPolicy.disabled()


class ApiKeyCredentials:
    """A merchant API key (``sk_test_…``), sent as the bearer of every call."""

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        self._api_key = api_key

    async def authorization(self) -> str | None:
        return self._api_key

    async def renew(self, used: str | None, error: Unauthenticated) -> bool:
        return False  # a revoked or unknown key stays that way

    def __repr__(self) -> str:
        return f"ApiKeyCredentials({self._api_key[:12]}…)"


class Session:
    """A user's login session: an access token kept fresh and a refresh token rotated on use."""

    def __init__(
        self,
        transport: Transport,
        email: str | None,
        password: str | None,
        *,
        store: TokenStore | None = None,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._email = email
        self._password = password
        self._token_store = store
        self._margin = refresh_margin
        self._wall = wall_clock
        self._monotonic = monotonic
        self._lock = asyncio.Lock()
        self.tokens: auth_pb2.TokenPair | None = None
        self.user: auth_pb2.User | None = None
        self.refreshes = 0
        self._refresh_at: float | None = None
        self._expires_at: float | None = None

    def __repr__(self) -> str:  # the password and the tokens never appear
        return f"Session(email={self._email!r}, active={self.tokens is not None})"

    def _keep(self, tokens: auth_pb2.TokenPair, *, save: bool = True) -> None:
        self.tokens = tokens
        if save and self._token_store is not None:
            self._token_store.save(tokens)
        # The lifetime is measured from the expiry the server states against this machine's clock
        # when the pair arrives. A token that looks expired on arrival (skewed clocks) is never
        # refreshed ahead of time, or every call would refresh: the server's UNAUTHENTICATED
        # answer then drives the renewal instead.
        lifetime = tokens.access_token_expire_time.ToMicroseconds() / 1e6 - self._wall()
        now = self._monotonic()
        if lifetime > 0:
            self._expires_at = now + lifetime
            self._refresh_at = now + lifetime - min(self._margin, lifetime / 2)
        else:
            self._expires_at = self._refresh_at = None

    async def login(self) -> auth_pb2.LoginResponse:
        if self._email is None or self._password is None:
            raise ValueError("this session was resumed without a password and cannot log in")
        reply = await self._transport.call(
            rpcs.LOGIN, auth_pb2.LoginRequest(email=self._email, password=self._password)
        )
        self._keep(reply.tokens)
        self.user = reply.user
        return reply

    def resume(self) -> None:
        """Take up the session saved in the store (ValueError when it holds none)."""
        tokens = self._token_store.load() if self._token_store is not None else None
        if tokens is None:
            raise ValueError("the token store holds no session: log in first")
        self._keep(tokens, save=False)

    async def authorization(self) -> str | None:
        tokens = self.tokens
        if tokens is None:
            return None
        if self._refresh_at is not None and self._monotonic() >= self._refresh_at:
            await self._renew(tokens.access_token, ahead_of_expiry=True)
            tokens = self.tokens
        return tokens.access_token if tokens is not None else None

    async def renew(self, used: str | None, error: Unauthenticated) -> bool:
        if error.reason not in RENEWABLE_REASONS or used is None or self.tokens is None:
            return False
        await self._renew(used, ahead_of_expiry=False)
        return True

    def _still_valid(self) -> bool:
        return self._expires_at is not None and self._monotonic() < self._expires_at

    async def _renew(self, used: str, *, ahead_of_expiry: bool) -> None:
        async with self._lock:
            if self.tokens is None or self.tokens.access_token != used:
                return  # another call renewed it while this one waited
            with self._token_store.lock() if self._token_store is not None else nullcontext():
                saved = self._token_store.load() if self._token_store is not None else None
                if saved is not None and saved.refresh_token != self.tokens.refresh_token:
                    # Another process refreshed (or logged in) meanwhile: its pair is the live one,
                    # and ours is spent or about to be revoked with it.
                    self._keep(saved, save=False)
                    return
                try:
                    reply = await self._transport.call(
                        rpcs.REFRESH_TOKEN,
                        auth_pb2.RefreshTokenRequest(refresh_token=self.tokens.refresh_token),
                        retry=_ONE_ATTEMPT,
                    )
                except Unauthenticated:
                    # The refresh token expired, was revoked, or its family was revoked for reuse.
                    if self._password is None:
                        raise
                    await self.login()
                    return
                except RpcError:
                    if ahead_of_expiry and self._still_valid():
                        return  # the current token still works; the next call tries again
                    raise
                self._keep(reply.tokens)
                self.refreshes += 1

    async def logout(self) -> None:
        """Revoke the refresh token on the server; later calls go without credentials."""
        async with self._lock:
            tokens, self.tokens = self.tokens, None
            self._refresh_at = self._expires_at = None
            if self._token_store is not None:
                with self._token_store.lock():
                    tokens = self._token_store.load() or tokens  # the live pair, if another process rotated it
                    self._token_store.save(None)
        if tokens is not None:
            await self._transport.call(rpcs.LOGOUT, auth_pb2.LogoutRequest(refresh_token=tokens.refresh_token))
