"""AIP-158 request/response plumbing shared by the list RPCs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from paysim.domain import paging
from paysim.domain.validation import Violations, page_size


class _Row(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


def read_page_request(
    query: str, filters: tuple[object, ...], size: int, token: str
) -> tuple[paging.Cursor | None, int]:
    v = Violations()
    limit = page_size(v, "page_size", size)
    v.raise_if_any()
    return paging.decode(token, query, filters), limit


def next_token(query: str, filters: tuple[object, ...], rows: Sequence[_Row], more: bool) -> str:
    if not more or not rows:
        return ""
    last = rows[-1]
    return paging.encode(query, filters, paging.Cursor(last.created_at, last.id))
