"""Credentials: password hashing, JWT access tokens, opaque secrets, the signing key."""
