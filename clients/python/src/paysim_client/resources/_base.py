"""What every resource namespace shares: the transport (async) or the loop thread (blocking)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.message import Message

from paysim_client._loop_thread import LoopThread
from paysim_client._rpc import Rpc
from paysim_client._transport import Transport
from paysim_client.config import RetryPolicy
from paysim_client.pagers import AsyncPager, Page

A = TypeVar("A")
T = TypeVar("T")
Req = TypeVar("Req", bound=Message)

Resp = TypeVar("Resp", bound=Message)


class AsyncResource:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _listing(
        self,
        rpc: Rpc[Req, Resp],
        request: Callable[[str], Req],
        page: Callable[[Resp], Page[T]],
        *,
        page_token: str,
        timeout: float | None,
        retry: RetryPolicy | None,
    ) -> AsyncPager[T]:
        """A pager over a list RPC: ``request(token)`` asks for a page, ``page(reply)`` reads it."""

        async def fetch(token: str) -> Page[T]:
            return page(await self._transport.call(rpc, request(token), timeout=timeout, retry=retry))

        return AsyncPager(fetch, page_token)


class BlockingResource(Generic[A]):
    """The blocking twin of an async namespace; its methods are ``blocking(...)`` descriptors."""

    def __init__(self, runner: LoopThread, async_resource: A) -> None:
        self._runner = runner
        self._async_resource = async_resource

    @property
    def _async(self) -> A:
        return self._async_resource


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A ``Timestamp`` for ``value`` (a naive datetime is taken as UTC)."""
    if value is None:
        return None
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value)
    return result


def duration(value: float | timedelta | None) -> duration_pb2.Duration | None:
    """A ``Duration`` for seconds or a ``timedelta``."""
    if value is None:
        return None
    result = duration_pb2.Duration()
    result.FromTimedelta(value if isinstance(value, timedelta) else timedelta(seconds=value))
    return result


def string_map(values: Mapping[str, str | int] | None) -> dict[str, str]:
    return {key: str(value) for key, value in (values or {}).items()}
