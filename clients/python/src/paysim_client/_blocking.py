"""The blocking client is the async client driven from a private event-loop thread.

One implementation serves both surfaces: every blocking method submits the async method's
coroutine to the loop and waits for it, so auth renewal, retries and error mapping are the
same code, and the blocking client works from any thread, even one running its own loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from paysim_client._loop_thread import LoopThread
from paysim_client.pagers import AsyncPager, Pager
from paysim_client.watch import AsyncWatcher, Watcher

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")  # what the async method returns
W = TypeVar("W")  # what its blocking twin returns


class BlockingResource(Protocol):
    """What a blocking resource exposes to the descriptors below."""

    _runner: LoopThread

    @property
    def _async(self) -> Any: ...


class BlockingTwin(Generic[P, R, W]):
    """A descriptor: ``method`` of the async namespace, its result handed to ``wrap`` with the
    loop thread (run to completion, or wrapped in the blocking pager or watcher)."""

    def __init__(self, method: Callable[Concatenate[Any, P], R], wrap: Callable[[LoopThread, R], W]) -> None:
        self._method = method
        self._wrap = wrap
        self._name = method.__name__
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> BlockingTwin[P, R, W]: ...
    @overload
    def __get__(self, obj: BlockingResource, owner: type) -> Callable[P, W]: ...
    def __get__(self, obj: BlockingResource | None, owner: type) -> BlockingTwin[P, R, W] | Callable[P, W]:
        if obj is None:
            return self
        bound: Callable[P, R] = getattr(obj._async, self._name)
        runner = obj._runner
        wrap = self._wrap

        @functools.wraps(self._method)
        def call(*args: P.args, **kwargs: P.kwargs) -> W:
            return wrap(runner, bound(*args, **kwargs))

        return call


def _run(runner: LoopThread, coro: Coroutine[Any, Any, T]) -> T:
    return runner.run(coro)


# Lower-case: used like functions in class bodies (``get = blocking(AsyncX.get)``).
def blocking(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]],
) -> BlockingTwin[P, Coroutine[Any, Any, T], T]:
    """``method = blocking(AsyncResource.method)``: the blocking twin of an async method."""
    return BlockingTwin(method, _run)


def blocking_pager(method: Callable[Concatenate[Any, P], AsyncPager[T]]) -> BlockingTwin[P, AsyncPager[T], Pager[T]]:
    """``list = blocking_pager(AsyncResource.list)``: a :class:`Pager` for an :class:`AsyncPager`."""
    return BlockingTwin(method, Pager)


def blocking_watch(method: Callable[Concatenate[Any, P], AsyncWatcher]) -> BlockingTwin[P, AsyncWatcher, Watcher]:
    """``watch = blocking_watch(AsyncResource.watch)``: a :class:`Watcher` for an :class:`AsyncWatcher`."""
    return BlockingTwin(method, Watcher)
