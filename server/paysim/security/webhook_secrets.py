"""Webhook signing secrets: made here, kept encrypted at rest.

paysim must sign with a secret, so unlike an API key it cannot keep only a hash. The stored form
is AES-256-GCM under a server key (PAYSIM_WEBHOOK_SECRET_KEY, or a key generated once in the data
directory), with the endpoint id as associated data so a ciphertext copied to another endpoint's
row does not decrypt. A database dump alone therefore reveals no secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from paysim.domain.ids import random_token

SECRET_PREFIX = "whsec_"
_FORMAT = "v1."
_NONCE_BYTES = 12


def new_secret() -> str:
    """``whsec_`` and 32 base62 characters (≈190 bits)."""
    return SECRET_PREFIX + random_token(32)


class SecretBox:
    def __init__(self, server_key: bytes) -> None:
        # Derived, so the configured key (any length, possibly shared with nothing else) is
        # never used for AES directly.
        self._aead = AESGCM(hmac.new(server_key, b"paysim webhook secrets v1", hashlib.sha256).digest())

    def seal(self, secret: str, endpoint_id: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), endpoint_id.encode())
        return _FORMAT + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, endpoint_id: str) -> str:
        """The secret; raises ``ValueError`` if ``stored`` was not sealed by this key for this endpoint."""
        if not stored.startswith(_FORMAT):
            raise ValueError("unknown secret format")
        raw = base64.b64decode(stored[len(_FORMAT) :])
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], endpoint_id.encode())
        except Exception as error:  # InvalidTag: wrong key or another endpoint's row
            raise ValueError("the secret does not decrypt with this server key") from error
        return plain.decode()
