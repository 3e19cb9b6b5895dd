"""Signed JWT access tokens.

The algorithm allow-list is fixed here, never taken from the token; ``iss``, ``aud``, ``exp``,
``iat``, ``nbf`` and ``typ`` are required and checked, so a refresh token, an ID token of another
issuer or an unsigned token can never pass as an access token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from paysim.domain.errors import Unauthenticated
from paysim.domain.roles import Role

ALGORITHM = "HS256"
ALLOWED_ALGORITHMS = [ALGORITHM]
ACCESS_TYPE = "access"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "typ", "role", "jti"]
LEEWAY_SECONDS = 5


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    role: Role
    merchant_id: str | None
    expires_at: datetime


class AccessTokenCodec:
    def __init__(self, key: bytes, *, issuer: str, audience: str, ttl: timedelta) -> None:
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl

    def issue(self, *, user_id: str, role: Role, merchant_id: str | None, now: datetime) -> tuple[str, datetime]:
        expires = now + self._ttl
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": user_id,
            "typ": ACCESS_TYPE,
            "role": role.value,
            "mid": merchant_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": "JWT"}), expires

    def verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS, "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired", reason="TOKEN_EXPIRED") from None
        except jwt.PyJWTError:
            raise Unauthenticated("the access token is not valid", reason="INVALID_TOKEN") from None
        if claims.get("typ") != ACCESS_TYPE:
            raise Unauthenticated("the token is not an access token", reason="INVALID_TOKEN")
        try:
            role = Role(claims["role"])
            subject = claims["sub"]
            merchant = claims.get("mid")
            if not isinstance(subject, str) or not (merchant is None or isinstance(merchant, str)):
                raise ValueError
            # A correctly signed but absurd expiry (past year 9999) is not one we issued.
            expires = datetime.fromtimestamp(int(claims["exp"])).astimezone()
        except (ValueError, KeyError, OverflowError, OSError):
            raise Unauthenticated("the access token is not valid", reason="INVALID_TOKEN") from None
        return AccessClaims(user_id=subject, role=role, merchant_id=merchant, expires_at=expires)
