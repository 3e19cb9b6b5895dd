"""A write met a value that must be unique and is already taken.

The store raises these in place of its database's constraint errors, so the service layer decides
what a clash means to a client without knowing how the database reports one.
"""

from __future__ import annotations


class Duplicate(Exception):
    """A unique value is already taken; nothing of the write was kept."""


class DuplicateEmail(Duplicate):
    """Another account has this email."""


class MerchantNameTaken(Duplicate):
    """Another merchant has this name (compared regardless of case and surrounding space)."""


class ApiKeyNameTaken(Duplicate):
    """The merchant already has an API key of this name."""
