"""Fixtures for the client SDK: clients of the session server as a merchant, an admin, nobody."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from paysim_client import Client
from paysim_client.types import CardInput

from paysim.app.bootstrap import ensure_admin
from tests.support.factories import PASSWORD, MerchantAccount, register_merchant, unique_email
from tests.support.harness import ServerHandle

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")


@dataclass(frozen=True)
class AdminAccount:
    email: str
    password: str


@pytest.fixture
def merchant(server: ServerHandle) -> MerchantAccount:
    return register_merchant(server.stubs())


@pytest.fixture
def client(server: ServerHandle, merchant: MerchantAccount) -> Iterator[Client]:
    """A blocking client of the session server with the merchant's API key."""
    with Client.connect(server.target, api_key=merchant.api_key) as connected:
        yield connected


@pytest.fixture
def owner(server: ServerHandle, merchant: MerchantAccount) -> Iterator[Client]:
    """A blocking client logged in as the merchant's owner (API keys cannot manage API keys)."""
    with Client.connect(server.target, email=merchant.email, password=merchant.password) as connected:
        yield connected


@pytest.fixture(scope="session")
def admin_account(server: ServerHandle) -> AdminAccount:
    email = unique_email("sdk-admin")
    server.run(ensure_admin(server.app, email, PASSWORD))
    return AdminAccount(email, PASSWORD)


@pytest.fixture
def admin(server: ServerHandle, admin_account: AdminAccount) -> Iterator[Client]:
    with Client.connect(server.target, email=admin_account.email, password=admin_account.password) as connected:
        yield connected


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.02)
