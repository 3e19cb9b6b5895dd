"""The password hasher's turns: bounded waiting, and one email never holding more than one slot."""

from __future__ import annotations

import asyncio

import pytest

from paysim.domain.errors import Unavailable
from paysim.security.passwords import PasswordHasher


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(4, concurrency=2, wait_seconds=0.05)


def busy(error: pytest.ExceptionInfo[Unavailable]) -> bool:
    return error.value.reason == "PASSWORD_CHECKS_BUSY" and error.value.retry_after_seconds > 0


def test_one_key_holds_one_slot_and_the_others_stay_free(hasher: PasswordHasher) -> None:
    async def scenario() -> None:
        async with hasher.turn("victim") as held:
            digest = await held.hash("correct horse")
            # The same email waits for its own turn, and is refused once the wait is over…
            with pytest.raises(Unavailable) as refused:
                async with hasher.turn("victim"):
                    pass
            assert busy(refused)
            # …while anyone else is served at once.
            async with hasher.turn("someone else") as other:
                assert await other.verify("correct horse", digest)
        async with hasher.turn("victim") as again:
            assert not await again.verify("wrong horse", digest)

    try:
        asyncio.run(scenario())
    finally:
        hasher.close()


def test_no_free_slot_within_the_wait_is_refused(hasher: PasswordHasher) -> None:
    async def scenario() -> None:
        async with hasher.turn("a"), hasher.turn("b"):
            with pytest.raises(Unavailable) as refused:
                await hasher.hash("correct horse")
            assert busy(refused)
        assert (await hasher.hash("correct horse")).startswith("$2b$04$")

    try:
        asyncio.run(scenario())
    finally:
        hasher.close()
