"""A unit of work tells the bus what it committed only after the commit succeeded: a rolled-back
transaction announces nothing (on a real database)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from paysim.domain.messages import MerchantChanged, Message
from paysim.store.database import create_engine
from paysim.store.migrate import upgrade
from paysim.store.unit_of_work import UnitOfWork


def test_messages_are_published_after_commit_and_never_after_rollback(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'paysim.db'}"
    published: list[Sequence[Message]] = []

    async def scenario() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            async with UnitOfWork(engine, publish=published.append) as uow:
                uow.notify(MerchantChanged("mer_rolled_back"))
            assert published == []
            async with UnitOfWork(engine, publish=published.append) as uow:
                uow.notify(MerchantChanged("mer_committed"))
                assert published == []  # not before the commit
                await uow.commit()
            assert published == [[MerchantChanged("mer_committed")]]
        finally:
            await engine.dispose()

    asyncio.run(scenario())
