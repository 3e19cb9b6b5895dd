"""Verify the signature of a webhook delivery, in the receiver.

paysim signs each delivery with the endpoint's secret (``whsec_…``, shown once by
``client.webhooks.create`` and ``rotate_secret``) and sends the signature in the
``Paysim-Signature`` header::

    Paysim-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

``t`` is when it was signed (Unix seconds) and each ``v1`` is the lowercase hex HMAC-SHA256,
keyed with the secret's UTF-8 bytes, of ``"<t>." + body`` (the raw request body, as bytes).
While a secret is being rotated a delivery carries one ``v1`` per active secret: any one match
is enough. Verify the body exactly as received, before parsing it::

    from paysim_client import webhooks

    try:
        webhooks.verify(request.body, request.headers["Paysim-Signature"], secret)
    except webhooks.SignatureVerificationError:
        return 400

The check is pure (no network, no state): a timestamp outside ``tolerance`` seconds of now
refuses replays of old deliveries, and signatures are compared in constant time. Delivery is at
least once: drop a repeat by its ``Paysim-Event-Id`` header (the body's ``id``), the same on
every retry and redelivery.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from paysim_client.errors import PaysimError

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureVerificationError(PaysimError, ValueError):
    """The signature header does not prove that paysim sent this body recently.

    ``reason`` is one of ``MALFORMED_HEADER``, ``NO_SIGNATURE``, ``TIMESTAMP_OUT_OF_TOLERANCE``
    or ``SIGNATURE_MISMATCH``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The lowercase hex ``v1`` signature of ``payload`` signed at ``timestamp``."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(payload: bytes, secrets: str | Sequence[str], timestamp: int | None = None) -> str:
    """A complete signature header for ``payload``: one ``v1`` per secret (for tests and tools)."""
    at = int(time.time()) if timestamp is None else timestamp
    keys = [secrets] if isinstance(secrets, str) else secrets
    return ",".join([f"t={at}", *(f"{SCHEME}={compute_signature(payload, key, at)}" for key in keys)])


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureVerificationError("the signature header is malformed", "MALFORMED_HEADER")
        if name == "t":
            if not value.isdigit() or timestamp is not None:
                raise SignatureVerificationError("the signature header's timestamp is malformed", "MALFORMED_HEADER")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)
        # Other schemes are ignored, so a future scheme can be added beside v1.
    if timestamp is None:
        raise SignatureVerificationError("the signature header has no timestamp", "MALFORMED_HEADER")
    return timestamp, signatures


def verify(
    payload: bytes,
    header: str,
    secret: str,
    tolerance: float | None = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> int:
    """Check that ``header`` signs ``payload`` with ``secret``; return the signing timestamp.

    Raises :class:`SignatureVerificationError` when the header is malformed, has no ``v1``
    signature, was signed more than ``tolerance`` seconds away from ``now`` (default: the
    current time; ``tolerance=None`` skips the check), or no ``v1`` signature matches.
    """
    timestamp, signatures = _parse(header)
    if not signatures:
        raise SignatureVerificationError("the signature header has no v1 signature", "NO_SIGNATURE")
    current = time.time() if now is None else now
    if tolerance is not None and abs(current - timestamp) > tolerance:
        raise SignatureVerificationError(
            "the signature's timestamp is outside the tolerance", "TIMESTAMP_OUT_OF_TOLERANCE"
        )
    expected = compute_signature(payload, secret, timestamp).encode("ascii")
    # Every candidate is compared, matched or not, so timing says nothing about which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    if not matched:
        raise SignatureVerificationError("no signature matches the payload and secret", "SIGNATURE_MISMATCH")
    return timestamp
