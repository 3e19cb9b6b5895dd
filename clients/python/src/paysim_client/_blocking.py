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


class BlockingResource(Protocol):
    """What a blocking resource exposes to the descriptors below."""

    _runner: LoopThread

    @property
    def _async(self) -> Any: ...


# Lower-case: used like a function in class bodies (``get = blocking(AsyncX.get)``).
class blocking(Generic[P, T]):
    """``method = blocking(AsyncResource.method)``: the blocking twin of an async method."""

    def __init__(self, method: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]) -> None:
        self._method = method
        self._name = method.__name__
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> blocking[P, T]: ...
    @overload
    def __get__(self, obj: BlockingResource, owner: type) -> Callable[P, T]: ...
    def __get__(self, obj: BlockingResource | None, owner: type) -> blocking[P, T] | Callable[P, T]:
        if obj is None:
            return self
        bound: Callable[P, Coroutine[Any, Any, T]] = getattr(obj._async, self._name)
        runner = obj._runner

        @functools.wraps(self._method)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            return runner.run(bound(*args, **kwargs))

        return call


class blocking_pager(Generic[P, T]):
    """``list = blocking_pager(AsyncResource.list)``: a :class:`Pager` for an :class:`AsyncPager`."""

    def __init__(self, method: Callable[Concatenate[Any, P], AsyncPager[T]]) -> None:
        self._method = method
        self._name = method.__name__
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> blocking_pager[P, T]: ...
    @overload
    def __get__(self, obj: BlockingResource, owner: type) -> Callable[P, Pager[T]]: ...
    def __get__(self, obj: BlockingResource | None, owner: type) -> blocking_pager[P, T] | Callable[P, Pager[T]]:
        if obj is None:
            return self
        bound: Callable[P, AsyncPager[T]] = getattr(obj._async, self._name)
        runner = obj._runner

        @functools.wraps(self._method)
        def call(*args: P.args, **kwargs: P.kwargs) -> Pager[T]:
            return Pager(runner, bound(*args, **kwargs))

        return call


class blocking_watch(Generic[P]):
    """``watch = blocking_watch(AsyncResource.watch)``: a :class:`Watcher` for an :class:`AsyncWatcher`."""

    def __init__(self, method: Callable[Concatenate[Any, P], AsyncWatcher]) -> None:
        self._method = method
        self._name = method.__name__
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> blocking_watch[P]: ...
    @overload
    def __get__(self, obj: BlockingResource, owner: type) -> Callable[P, Watcher]: ...
    def __get__(self, obj: BlockingResource | None, owner: type) -> blocking_watch[P] | Callable[P, Watcher]:
        if obj is None:
            return self
        bound: Callable[P, AsyncWatcher] = getattr(obj._async, self._name)
        runner = obj._runner

        @functools.wraps(self._method)
        def call(*args: P.args, **kwargs: P.kwargs) -> Watcher:
            return Watcher(runner, bound(*args, **kwargs))

        return call
