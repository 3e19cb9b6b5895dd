"""A login session keeps itself valid: refresh before expiry, refresh on UNAUTHENTICATED, one
refresh for many calls, rotation, and a new login when the refresh token is no longer good."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from paysim_client import AsyncClient, Client, errors

from tests.sdk.conftest import wait_for
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle


def _session(client: Client | AsyncClient) -> Any:
    auth = client.auth if isinstance(client, AsyncClient) else client.auth._async
    return auth._session


def test_the_access_token_is_refreshed_before_it_expires_and_rotation_is_enforced(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server(access_token_ttl_seconds=2)
    account = register_merchant(server.stubs())
    with Client.connect(server.target, email=account.email, password=account.password) as client:
        first = client.auth.tokens
        assert first is not None
        expires = first.access_token_expire_time.ToMicroseconds() / 1e6

        def refreshed() -> bool:
            assert client.auth.me().user.email == account.email  # every call keeps succeeding
            return client.auth.tokens is not None and client.auth.tokens.access_token != first.access_token

        wait_for(refreshed, timeout=10, what="a refresh")
        # The server accepts a token until 5 s past its expiry: a renewal seen before then was
        # not prompted by a refusal (it normally comes halfway through the 2 s lifetime).
        assert time.time() < expires + 4, "refreshed ahead of the expiry, not after a refusal"
        second = client.auth.tokens
        assert second is not None and second.refresh_token != first.refresh_token
        assert _session(client).refreshes == 1

        # The spent refresh token is refused, and presenting it revokes the whole session …
        with pytest.raises(errors.Unauthenticated) as caught:
            client.auth.refresh(first.refresh_token)
        assert caught.value.reason == "REFRESH_TOKEN_REUSED"
        # … so the next renewal cannot refresh: the session logs in again by itself.
        wait_for(
            lambda: (
                refreshed()
                and client.auth.tokens is not None
                and client.auth.tokens.refresh_token not in {first.refresh_token, second.refresh_token}
            ),
            timeout=10,
            what="a new login",
        )
        assert client.auth.me().user.email == account.email


def test_an_expired_access_token_is_refreshed_once_for_many_concurrent_calls(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    account = register_merchant(server.stubs())

    async def scenario() -> None:
        # Tokens issued an hour in the past: expired on arrival, so only the server's
        # UNAUTHENTICATED (TOKEN_EXPIRED) can prompt the renewal.
        server.clock.advance(timedelta(hours=-1))
        try:
            client = await AsyncClient.connect(server.target, email=account.email, password=account.password)
        finally:
            server.clock.advance(timedelta(hours=1))
        async with client:
            stale = client.auth.tokens
            assert stale is not None
            replies = await asyncio.gather(*(client.auth.me() for _ in range(8)))
            assert {reply.user.email for reply in replies} == {account.email}
            assert _session(client).refreshes == 1
            fresh = client.auth.tokens
            assert fresh is not None
            assert fresh.access_token != stale.access_token and fresh.refresh_token != stale.refresh_token

    asyncio.run(scenario())


def test_logout_ends_the_session(server: ServerHandle) -> None:
    account = register_merchant(server.stubs())
    with Client.connect(server.target, email=account.email, password=account.password) as client:
        tokens = client.auth.tokens
        assert tokens is not None
        client.auth.logout()
        assert client.auth.tokens is None
        with pytest.raises(errors.Unauthenticated) as caught:
            client.auth.me()
        assert caught.value.reason == "CREDENTIALS_MISSING"
        with pytest.raises(errors.Unauthenticated):
            client.auth.refresh(tokens.refresh_token)


def test_a_session_whose_password_changed_fails_to_renew(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(access_token_ttl_seconds=2)
    account = register_merchant(server.stubs())
    with Client.connect(server.target, email=account.email, password=account.password) as client:
        first = client.auth.tokens
        assert first is not None
        with Client.connect(server.target, email=account.email, password=account.password) as other:
            other.auth.change_password(account.password, "a brand new passphrase")
        client.auth.logout(first.refresh_token)  # the refresh token is gone too: only a login could help

        def renewal_failed() -> bool:
            try:
                client.auth.me()
            except errors.InvalidCredentials:
                return True
            return False

        wait_for(renewal_failed, timeout=10, what="the renewal's failure")
