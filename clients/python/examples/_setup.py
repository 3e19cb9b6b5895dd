"""Shared by the examples: where the server is and whose credentials to use.

PAYSIM_TARGET (default ``localhost:50051``) names the server. PAYSIM_API_KEY, or PAYSIM_EMAIL
and PAYSIM_PASSWORD, name the merchant to act as; with neither, a new merchant is registered
(with a random owner email) and an API key is created for it, as a first-time user would.
"""

from __future__ import annotations

import os
import secrets
from typing import TypedDict

import paysim_client


class Credentials(TypedDict, total=False):
    api_key: str
    email: str
    password: str


def target() -> str:
    return os.environ.get("PAYSIM_TARGET") or "localhost:50051"


def credentials() -> Credentials:
    """The merchant credentials from the environment, or those of a merchant registered now."""
    if api_key := os.environ.get("PAYSIM_API_KEY"):
        return {"api_key": api_key}
    email, password = os.environ.get("PAYSIM_EMAIL"), os.environ.get("PAYSIM_PASSWORD")
    if email and password:
        return {"email": email, "password": password}
    return {"api_key": register_merchant()}


def register_merchant() -> str:
    """Register a merchant, log in as its owner, create an API key and return its secret."""
    suffix = secrets.token_hex(4)
    email, password = f"owner-{suffix}@example.test", secrets.token_urlsafe(16)
    with paysim_client.Client.connect(target()) as anonymous:
        registered = anonymous.merchants.register(
            name=f"Example Shop {suffix}", owner_email=email, owner_password=password, owner_full_name="Ada Owner"
        )
    print(f"registered merchant {registered.merchant.id} (owner {email})")
    with paysim_client.Client.connect(target(), email=email, password=password) as owner:
        key = owner.merchants.api_keys.create("examples")
    print(f"created API key {key.api_key.prefix}… (the secret is shown only once)")
    return key.secret
