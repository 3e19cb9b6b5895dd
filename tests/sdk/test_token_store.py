"""``token_store=``: a login session kept between processes — saved at login, resumed without the
password, rotated tokens saved back, a pair another process rotated adopted instead of spending a
refresh token twice, forgotten at logout."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from paysim_client import Client, errors
from paysim_client.types import TokenPair

from tests.support.factories import MerchantAccount, login, register_merchant
from tests.support.harness import ServerHandle


class MemoryStore:
    """A store shared by clients in one test, standing for a file shared by processes."""

    def __init__(self, tokens: TokenPair | None = None) -> None:
        self.tokens = tokens
        self.saves = 0
        self._lock = threading.Lock()

    def load(self) -> TokenPair | None:
        return self.tokens

    def save(self, tokens: TokenPair | None) -> None:
        self.tokens = tokens
        self.saves += 1

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield


def _session(client: Client) -> Any:
    return client.auth._async._session


def _stale_pair(server: ServerHandle, account: MerchantAccount) -> TokenPair:
    """A pair from a login an hour ago: its access token has expired."""
    server.clock.advance(timedelta(hours=-1))
    try:
        return login(server.stubs(), account.email).tokens
    finally:
        server.clock.advance(timedelta(hours=1))


def test_a_login_is_saved_and_resumed_without_the_password(server: ServerHandle, merchant: MerchantAccount) -> None:
    store = MemoryStore()
    with Client.connect(server.target, email=merchant.email, password=merchant.password, token_store=store) as first:
        assert store.tokens is not None and store.tokens == first.auth.tokens
    with Client.connect(server.target, token_store=store) as resumed:
        assert resumed.auth.me().user.email == merchant.email
        assert resumed.auth.tokens == store.tokens
        resumed.auth.logout()
    assert store.tokens is None
    with pytest.raises(ValueError, match="holds no session"):
        Client.connect(server.target, token_store=store)
    with pytest.raises(ValueError, match="not both"):
        Client.connect(server.target, api_key=merchant.api_key, token_store=store)


def test_the_rotated_pair_is_saved_and_another_process_adopts_it(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    store = MemoryStore(_stale_pair(server, account))
    stale = store.tokens
    assert stale is not None
    with Client.connect(server.target, token_store=store) as a, Client.connect(server.target, token_store=store) as b:
        # A's call meets the expired token, refreshes, and saves the new pair.
        assert a.auth.me().user.email == account.email
        assert _session(a).refreshes == 1
        fresh = store.tokens
        assert fresh is not None and fresh.refresh_token != stale.refresh_token
        # B still holds the spent pair: it adopts the saved one instead of presenting the spent
        # refresh token, which would make the server revoke the whole session.
        assert b.auth.me().user.email == account.email
        assert _session(b).refreshes == 0
        assert b.auth.tokens == fresh
        assert a.auth.me().user.email == account.email  # the session is alive for both


def test_a_resumed_session_ends_when_its_refresh_token_is_refused(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    stale = _stale_pair(server, account)
    store = MemoryStore(stale)
    with Client.connect(server.target, token_store=store) as client:
        client.auth.logout(stale.refresh_token)  # revoked elsewhere; the client still holds it
        with pytest.raises(errors.Unauthenticated) as caught:
            client.auth.me()
        assert caught.value.reason != "TOKEN_EXPIRED"  # the refresh's refusal, not the first one
    assert store.tokens == stale  # nothing better to save
