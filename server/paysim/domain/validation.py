"""Field rules shared by the identity use cases. Each check appends to a violation list so a
request with several bad fields is answered with all of them at once."""

from __future__ import annotations

import re
from collections.abc import Mapping

from paysim.domain.currency import is_known
from paysim.domain.errors import FieldViolation, InvalidArgument

PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_BYTES = 72  # bcrypt's limit; longer input would be silently truncated by it
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_PHONE_CHARS = 40
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_CHARS = 40
MAX_METADATA_VALUE_CHARS = 500
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

_EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f.]+$")


class Violations:
    """Collects field violations; ``raise_if_any`` ends validation."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str, reason: str = "INVALID_FIELD") -> None:
        self.items.append(FieldViolation(field, description, reason))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)


def normalize_email(value: str) -> str:
    return value.strip().lower()


def check_email(v: Violations, field: str, value: str, *, required: bool = True) -> None:
    if not value:
        if required:
            v.add(field, "is required", "REQUIRED")
        return
    if len(value) > MAX_EMAIL_CHARS or not _EMAIL_RE.match(value):
        v.add(field, "must be an email address such as name@example.com", "INVALID_EMAIL")


def check_password(v: Violations, field: str, value: str) -> None:
    if len(value.encode("utf-8")) > PASSWORD_MAX_BYTES:
        v.add(field, f"must be at most {PASSWORD_MAX_BYTES} bytes in UTF-8", "PASSWORD_TOO_LONG")
    elif len(value) < PASSWORD_MIN_CHARS:
        v.add(field, f"must be at least {PASSWORD_MIN_CHARS} characters", "PASSWORD_TOO_SHORT")
    if "\x00" in value:
        v.add(field, "must not contain NUL characters", "INVALID_CHARACTERS")


def check_text(v: Violations, field: str, value: str, *, max_chars: int, required: bool = False) -> None:
    if required and not value.strip():
        v.add(field, "is required", "REQUIRED")
    elif len(value) > max_chars:
        v.add(field, f"must be at most {max_chars} characters", "TOO_LONG")
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        v.add(field, "must not contain control characters", "INVALID_CHARACTERS")


def check_currency(v: Violations, field: str, value: str) -> None:
    if not is_known(value):
        v.add(field, "must be an ISO 4217 currency code such as USD", "UNKNOWN_CURRENCY")


def check_metadata(v: Violations, field: str, metadata: Mapping[str, str]) -> None:
    if len(metadata) > MAX_METADATA_KEYS:
        v.add(field, f"must have at most {MAX_METADATA_KEYS} keys", "TOO_MANY_KEYS")
        return
    for key, value in metadata.items():
        if not key or len(key) > MAX_METADATA_KEY_CHARS:
            v.add(f"{field}[{key[:40]!r}]", f"keys must be 1 to {MAX_METADATA_KEY_CHARS} characters")
        if len(value) > MAX_METADATA_VALUE_CHARS:
            v.add(f"{field}[{key[:40]!r}]", f"values must be at most {MAX_METADATA_VALUE_CHARS} characters")
        if "\x00" in key or "\x00" in value:
            v.add(f"{field}[{key[:40]!r}]", "must not contain NUL characters", "INVALID_CHARACTERS")


def check_id(v: Violations, field: str, value: str, prefix: str, *, required: bool = True) -> None:
    if not value:
        if required:
            v.add(field, "is required", "REQUIRED")
        return
    # Printable ASCII only: ids are base62 after the prefix, and a NUL (which PostgreSQL cannot
    # even compare) or another control character can never be part of one.
    if not value.startswith(prefix + "_") or len(value) > 64 or not (value.isascii() and value.isprintable()):
        v.add(field, f"must be an id starting with {prefix}_", "INVALID_ID")


def page_size(v: Violations, field: str, value: int) -> int:
    if value < 0:
        v.add(field, "must not be negative")
        return DEFAULT_PAGE_SIZE
    if value == 0:
        return DEFAULT_PAGE_SIZE
    return min(value, MAX_PAGE_SIZE)
