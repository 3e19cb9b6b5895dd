"""Opaque resource ids with a readable prefix (``usr_``, ``mer_``, ``cus_`` …)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_ID_BODY_LENGTH = 22  # ~131 bits of randomness: collisions are not a practical concern

USER = "usr"
MERCHANT = "mer"
API_KEY = "key"
CUSTOMER = "cus"
REFRESH_FAMILY = "rtf"
WEBHOOK_ENDPOINT = "whe"
WEBHOOK_DELIVERY = "whd"
TEST_CLOCK = "clk"
DISPUTE = "dp"


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_token(_ID_BODY_LENGTH)}"


def random_token(length: int) -> str:
    """A base62 string from the OS CSPRNG (one read of random bits, then base conversion)."""
    # 6 bits of entropy per character requested, so the modulo bias of the top digit is negligible.
    number = secrets.randbits(6 * length + 16)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)
