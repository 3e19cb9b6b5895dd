"""bcrypt password hashing, run off the event loop (one hash costs ~0.25 s of CPU at cost 12),
with bounded waiting: a flood of logins is refused rather than queued without end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import bcrypt

from paysim.domain.errors import Unavailable

T = TypeVar("T")


class Turn:
    """A held slot of the hasher: the hashes and compares done through it start at once."""

    def __init__(self, pool: ThreadPoolExecutor, rounds: int, dummy_hash: str) -> None:
        self._pool = pool
        self._rounds = rounds
        self._dummy_hash = dummy_hash
        self.running: Future[Any] | None = None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        job: Future[T] = self._pool.submit(fn, *args)
        self.running = job
        return await asyncio.wrap_future(job)

    async def hash(self, password: str) -> str:
        """Callers validate length first: bcrypt would silently ignore bytes past the 72nd."""
        encoded = password.encode("utf-8")
        if len(encoded) > 72:
            raise ValueError("password longer than 72 bytes")
        digest = await self._run(bcrypt.hashpw, encoded, bcrypt.gensalt(self._rounds))
        return digest.decode()

    async def verify(self, password: str, password_hash: str | None) -> bool:
        encoded = password.encode("utf-8")
        target = (password_hash or self._dummy_hash).encode()
        if len(encoded) > 72:
            # Never compare a truncated password; still spend the time.
            encoded = b""
        ok = await self._run(bcrypt.checkpw, encoded, target)
        return ok and password_hash is not None and len(password.encode("utf-8")) <= 72


class PasswordHasher:
    """At most ``concurrency`` hashes run at a time, and at most one per key (an email): one
    email's guesses, however many, hold one slot, and the others stay free for everyone else.
    A caller that gets no slot within ``wait_seconds`` is refused (UNAVAILABLE with RetryInfo)."""

    def __init__(self, rounds: int, *, concurrency: int = 2, wait_seconds: float = 1.0) -> None:
        self._rounds = rounds
        self._wait = wait_seconds
        # bcrypt releases the GIL, so a small pool hashes in parallel without blocking the loop.
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bcrypt")
        self._slots = asyncio.Semaphore(concurrency)
        self._keys: dict[str, tuple[asyncio.Lock, int]] = {}
        # Verified against when the email is unknown, so that path costs the same time.
        self._dummy_hash = bcrypt.hashpw(b"paysim-timing-equaliser", bcrypt.gensalt(rounds)).decode()

    @property
    def rounds(self) -> int:
        return self._rounds

    @asynccontextmanager
    async def turn(self, key: str = "") -> AsyncIterator[Turn]:
        """Wait for a slot (and for ``key``'s own one), at most ``wait_seconds``."""
        lock = self._enter_key(key) if key else None
        try:
            async with asyncio.timeout(self._wait):
                if lock is not None:
                    await lock.acquire()
                try:
                    await self._slots.acquire()
                except BaseException:
                    if lock is not None:
                        lock.release()
                    raise
        except BaseException as error:
            if key:
                self._leave_key(key)
            if isinstance(error, TimeoutError):
                raise Unavailable(
                    "too many password checks are waiting; retry shortly",
                    reason="PASSWORD_CHECKS_BUSY",
                    retry_after_seconds=self._wait,
                ) from None
            raise
        turn = Turn(self._pool, self._rounds, self._dummy_hash)
        try:
            yield turn
        finally:
            self._release(turn, lock, key)

    def _release(self, turn: Turn, lock: asyncio.Lock | None, key: str) -> None:
        def release() -> None:
            self._slots.release()
            if lock is not None:
                lock.release()
                self._leave_key(key)

        job = turn.running
        if job is None or job.done():
            release()
        else:
            # The caller was cancelled while its hash runs on: the slot stays taken until the
            # thread is free again, or the pool would queue more work than it has threads.
            loop = asyncio.get_running_loop()
            job.add_done_callback(lambda _: loop.call_soon_threadsafe(release))

    def _enter_key(self, key: str) -> asyncio.Lock:
        lock, users = self._keys.get(key) or (asyncio.Lock(), 0)
        self._keys[key] = (lock, users + 1)
        return lock

    def _leave_key(self, key: str) -> None:
        lock, users = self._keys[key]
        if users > 1:
            self._keys[key] = (lock, users - 1)
        else:
            del self._keys[key]

    async def hash(self, password: str) -> str:
        async with self.turn() as turn:
            return await turn.hash(password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        async with self.turn() as turn:
            return await turn.verify(password, password_hash)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
