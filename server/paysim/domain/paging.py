"""Opaque AIP-158 page tokens for keyset pagination over (create_time, id).

A token is bound to the list it came from and to that list's filters: presenting it to a
different query is an error rather than a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from paysim.domain.errors import FieldViolation, InvalidArgument


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row of the previous page."""

    create_time: datetime
    id: str


def _query_digest(query: str, filters: tuple[object, ...]) -> str:
    return hashlib.sha256(repr((query, filters)).encode()).hexdigest()[:16]


def encode(query: str, filters: tuple[object, ...], cursor: Cursor) -> str:
    micros = int(cursor.create_time.timestamp() * 1_000_000)
    payload = {"q": _query_digest(query, filters), "t": micros, "i": cursor.id}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, query: str, filters: tuple[object, ...], field: str = "page_token") -> Cursor | None:
    if not token:
        return None
    bad = InvalidArgument(
        [FieldViolation(field, "is not a page token of this list with these filters", "INVALID_PAGE_TOKEN")]
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        digest, micros, last_id = payload["q"], payload["t"], payload["i"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if digest != _query_digest(query, filters) or not isinstance(micros, int) or not isinstance(last_id, str):
        raise bad
    # The token is only base64: a client can edit the id inside. Ids are printable ASCII, and a
    # NUL would reach the database (PostgreSQL cannot even compare it).
    if len(last_id) > 64 or not (last_id.isascii() and last_id.isprintable()):
        raise bad
    try:
        when = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise bad from None
    return Cursor(when, last_id)
