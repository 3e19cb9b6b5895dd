"""``client.auth``: accounts, the current caller, passwords and sessions.

A client opened with ``email=``/``password=`` manages its own session (refresh before expiry
and on UNAUTHENTICATED, rotation, logging in again when the refresh token is spent); ``tokens``
shows the current pair. ``login`` and ``refresh`` are the raw RPCs, for tools that keep tokens
themselves: they do not change this client's credentials.
"""

from __future__ import annotations

from paysim_proto.v1 import auth_pb2

from paysim_client._auth import Session
from paysim_client._blocking import blocking
from paysim_client._generated import rpcs
from paysim_client._transport import Transport
from paysim_client.config import RetryPolicy
from paysim_client.resources._base import AsyncResource, BlockingResource


class AsyncAuth(AsyncResource):
    """Accounts and sessions."""

    def __init__(self, transport: Transport, session: Session | None = None) -> None:
        super().__init__(transport)
        self._session = session

    @property
    def tokens(self) -> auth_pb2.TokenPair | None:
        """The session's current token pair; None for an API key or an anonymous client."""
        return self._session.tokens if self._session is not None else None

    async def register(
        self,
        *,
        email: str,
        password: str,
        full_name: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> auth_pb2.User:
        """Create a customer account (merchants register with ``merchants.register``)."""
        request = auth_pb2.RegisterRequest(email=email, password=password, full_name=full_name)
        reply = await self._transport.call(rpcs.REGISTER, request, timeout=timeout, retry=retry)
        return reply.user

    async def login(
        self, email: str, password: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> auth_pb2.LoginResponse:
        """Log in and return the token pair and the user, without changing this client's credentials.

        Raises :class:`~paysim_client.errors.InvalidCredentials` for a wrong email or password and
        :class:`~paysim_client.errors.LoginLocked` after too many of them.
        """
        request = auth_pb2.LoginRequest(email=email, password=password)
        return await self._transport.call(rpcs.LOGIN, request, timeout=timeout, retry=retry)

    async def refresh(
        self, refresh_token: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> auth_pb2.TokenPair:
        """Trade a refresh token for a new pair (the old refresh token is spent)."""
        request = auth_pb2.RefreshTokenRequest(refresh_token=refresh_token)
        reply = await self._transport.call(rpcs.REFRESH_TOKEN, request, timeout=timeout, retry=retry)
        return reply.tokens

    async def logout(
        self, refresh_token: str | None = None, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> None:
        """Revoke ``refresh_token``; without it, end this client's own session.

        After its session ends the client calls without credentials.
        """
        if refresh_token is not None:
            request = auth_pb2.LogoutRequest(refresh_token=refresh_token)
            await self._transport.call(rpcs.LOGOUT, request, timeout=timeout, retry=retry)
        elif self._session is not None:
            await self._session.logout()

    async def me(
        self, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> auth_pb2.GetCurrentUserResponse:
        """Who the credentials belong to: the user (none for an API key), role, merchant, kind."""
        return await self._transport.call(
            rpcs.GET_CURRENT_USER, auth_pb2.GetCurrentUserRequest(), timeout=timeout, retry=retry
        )

    async def change_password(
        self,
        current_password: str,
        new_password: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Change the logged-in user's password (an access token is needed, not an API key)."""
        request = auth_pb2.ChangePasswordRequest(current_password=current_password, new_password=new_password)
        await self._transport.call(rpcs.CHANGE_PASSWORD, request, timeout=timeout, retry=retry)


class Auth(BlockingResource[AsyncAuth]):
    """Accounts and sessions (blocking); see :class:`AsyncAuth`."""

    @property
    def tokens(self) -> auth_pb2.TokenPair | None:
        """The session's current token pair; None for an API key or an anonymous client."""
        return self._async.tokens

    register = blocking(AsyncAuth.register)
    login = blocking(AsyncAuth.login)
    refresh = blocking(AsyncAuth.refresh)
    logout = blocking(AsyncAuth.logout)
    me = blocking(AsyncAuth.me)
    change_password = blocking(AsyncAuth.change_password)
