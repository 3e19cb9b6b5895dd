"""Opaque secrets (refresh tokens, API keys) and their stored digests.

These secrets carry 190+ bits of randomness, so a fast SHA-256 digest is enough to store
them: there is nothing to brute-force, unlike a password.
"""

from __future__ import annotations

import hashlib
import hmac

from paysim.domain.ids import random_token

REFRESH_TOKEN_PREFIX = "rt_"
API_KEY_PREFIX = "sk_test_"
API_KEY_LOOKUP_CHARS = 12  # random characters after sk_test_ that form the indexed prefix
API_KEY_SECRET_CHARS = 32


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + random_token(43)


def new_api_key() -> tuple[str, str]:
    """A new key and its lookup prefix (``sk_test_`` plus the first random characters)."""
    body = random_token(API_KEY_LOOKUP_CHARS + API_KEY_SECRET_CHARS)
    key = API_KEY_PREFIX + body
    return key, api_key_prefix(key)


def api_key_prefix(key: str) -> str:
    return key[: len(API_KEY_PREFIX) + API_KEY_LOOKUP_CHARS]


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX) and len(value) == len(API_KEY_PREFIX) + (
        API_KEY_LOOKUP_CHARS + API_KEY_SECRET_CHARS
    )
