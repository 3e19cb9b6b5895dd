"""Pagers: iterate a list RPC's items across pages without handling page tokens.

``async for payment in client.payments.list(): ...`` fetches pages as the loop needs them.
``pager.pages()`` yields whole pages instead (items and ``next_page_token``), e.g. to resume a
listing later from a saved token with ``list(page_token=...)``. Each new iteration starts again
from the first page.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from paysim_client._loop_thread import LoopThread

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_page_token`` is empty on the last page."""

    items: Sequence[T]
    next_page_token: str


class AsyncPager(Generic[T]):
    """An async iterable over every item of a listing, fetched page by page."""

    def __init__(self, fetch: Callable[[str], Awaitable[Page[T]]], page_token: str = "") -> None:
        self._fetch = fetch
        self._first_token = page_token

    async def pages(self) -> AsyncIterator[Page[T]]:
        """The pages, from the first (or the ``page_token`` the listing started at) to the last."""
        token = self._first_token
        while True:
            page = await self._fetch(token)
            yield page
            if not page.next_page_token:
                return
            token = page.next_page_token

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()


async def _next(iterator: AsyncIterator[T]) -> T:
    return await anext(iterator)


class Pager(Generic[T]):
    """The blocking twin of :class:`AsyncPager`, for :class:`paysim_client.Client`."""

    def __init__(self, runner: LoopThread, pager: AsyncPager[T]) -> None:
        self._runner = runner
        self._pager = pager

    def _drain(self, iterator: AsyncIterator[U]) -> Iterator[U]:
        try:
            while True:
                try:
                    yield self._runner.run(_next(iterator))
                except StopAsyncIteration:
                    return
        finally:
            # An abandoned loop leaves its async generator suspended: close it on its own loop.
            close = getattr(iterator, "aclose", None)
            if close is not None and not self._runner.closed:
                with contextlib.suppress(RuntimeError):
                    self._runner.run(close())

    def pages(self) -> Iterator[Page[T]]:
        """The pages, from the first (or the ``page_token`` the listing started at) to the last."""
        return self._drain(self._pager.pages())

    def __iter__(self) -> Iterator[T]:
        return self._drain(aiter(self._pager))
