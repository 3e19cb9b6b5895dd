"""connect(): by API key, by login, anonymously; both clients; context managers close the channel."""

from __future__ import annotations

import asyncio
import threading

import pytest
from paysim_client import AsyncClient, Client, connect, errors
from paysim_client.types import CredentialKind, PaymentStatus, Role

from tests.sdk.conftest import VISA
from tests.support.factories import PASSWORD, MerchantAccount, unique, unique_email
from tests.support.harness import ServerHandle


def test_connect_by_api_key_blocking(server: ServerHandle, merchant: MerchantAccount) -> None:
    with Client.connect(server.target, api_key=merchant.api_key) as client:
        me = client.auth.me()
        assert me.credential_kind == CredentialKind.CREDENTIAL_KIND_API_KEY
        assert me.merchant_id == merchant.merchant_id and me.api_key_id == merchant.api_key_id
        assert client.auth.tokens is None
        payment = client.payments.create(amount_minor=1999, currency_code="USD", card=VISA)
        assert payment.status == PaymentStatus.PAYMENT_STATUS_CAPTURED
    with pytest.raises(RuntimeError, match="closed"):
        client.payments.get(payment.id)


def test_connect_by_api_key_async(server: ServerHandle, merchant: MerchantAccount) -> None:
    async def scenario() -> None:
        async with connect(server.target, api_key=merchant.api_key) as client:
            assert isinstance(client, AsyncClient)
            payment = await client.payments.create(amount_minor=500, card=VISA)
            assert (await client.payments.get(payment.id)).id == payment.id
        with pytest.raises(RuntimeError, match="closed"):
            await client.payments.get(payment.id)
        # Awaiting instead of entering: the caller closes it.
        client = await connect(server.target, api_key=merchant.api_key)
        try:
            assert (await client.auth.me()).merchant_id == merchant.merchant_id
        finally:
            await client.close()

    asyncio.run(scenario())


def test_connect_by_login_blocking_and_async(server: ServerHandle, merchant: MerchantAccount) -> None:
    with Client.connect(server.target, email=merchant.email, password=merchant.password) as client:
        me = client.auth.me()
        assert me.credential_kind == CredentialKind.CREDENTIAL_KIND_ACCESS_TOKEN
        assert me.user.email == merchant.email and me.role == Role.ROLE_MERCHANT
        assert client.auth.tokens is not None and client.auth.tokens.refresh_token

    async def scenario() -> None:
        async with AsyncClient.connect(server.target, email=merchant.email, password=merchant.password) as client:
            assert (await client.auth.me()).user.email == merchant.email

    asyncio.run(scenario())


def test_a_wrong_password_fails_connect_with_invalid_credentials(
    server: ServerHandle, merchant: MerchantAccount
) -> None:
    with pytest.raises(errors.InvalidCredentials) as caught:
        Client.connect(server.target, email=merchant.email, password="not the password")
    assert caught.value.request_id and caught.value.reason == "INVALID_CREDENTIALS"


def test_anonymous_client_registers_a_merchant_then_a_key_client_uses_it(server: ServerHandle) -> None:
    email = unique_email("sdk-owner")
    with Client.connect(server.target) as anonymous:
        registered = anonymous.merchants.register(name=unique("SDK Shop"), owner_email=email, owner_password=PASSWORD)
        assert registered.owner.email == email
        with pytest.raises(errors.Unauthenticated) as caught:
            anonymous.payments.list().pages().__next__()
        assert caught.value.reason == "CREDENTIALS_MISSING"
        login = anonymous.auth.login(email, PASSWORD)
        assert login.user.merchant_id == registered.merchant.id
    with Client.connect(server.target, email=email, password=PASSWORD) as owner:
        key = owner.merchants.api_keys.create("sdk test key")
    with Client.connect(server.target, api_key=key.secret) as client:
        assert client.merchants.get().id == registered.merchant.id


def test_credentials_are_checked_before_connecting() -> None:
    with pytest.raises(ValueError, match="either"):
        Client.connect("localhost:1", api_key="sk_test_x", email="a@b.test", password="p")
    with pytest.raises(ValueError, match="together"):
        connect("localhost:1", email="a@b.test")


def test_the_blocking_client_is_shared_between_threads_and_works_inside_a_running_loop(
    client: Client,
) -> None:
    ids: list[str] = []

    def pay() -> None:
        ids.append(client.payments.create(amount_minor=100, card=VISA).id)

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(ids)) == 4

    async def inside_a_loop() -> str:
        return client.payments.get(ids[0]).id  # blocking, but on the client's own loop thread

    assert asyncio.run(inside_a_loop()) == ids[0]
