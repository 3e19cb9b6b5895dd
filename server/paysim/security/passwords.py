"""bcrypt password hashing, run off the event loop (one hash costs ~0.25 s of CPU at cost 12)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import bcrypt


class PasswordHasher:
    def __init__(self, rounds: int, *, workers: int = 2) -> None:
        self._rounds = rounds
        # bcrypt releases the GIL, so a small pool hashes in parallel without blocking the loop.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bcrypt")
        # Verified against when the email is unknown, so that path costs the same time.
        self._dummy_hash = bcrypt.hashpw(b"paysim-timing-equaliser", bcrypt.gensalt(rounds)).decode()

    @property
    def rounds(self) -> int:
        return self._rounds

    async def hash(self, password: str) -> str:
        """Callers validate length first: bcrypt would silently ignore bytes past the 72nd."""
        encoded = password.encode("utf-8")
        if len(encoded) > 72:
            raise ValueError("password longer than 72 bytes")
        loop = asyncio.get_running_loop()
        digest = await loop.run_in_executor(self._pool, bcrypt.hashpw, encoded, bcrypt.gensalt(self._rounds))
        return digest.decode()

    async def verify(self, password: str, password_hash: str | None) -> bool:
        encoded = password.encode("utf-8")
        target = (password_hash or self._dummy_hash).encode()
        if len(encoded) > 72:
            # Never compare a truncated password; still spend the time.
            encoded = b""
        loop = asyncio.get_running_loop()
        ok = await loop.run_in_executor(self._pool, bcrypt.checkpw, encoded, target)
        return ok and password_hash is not None and len(password.encode("utf-8")) <= 72

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
