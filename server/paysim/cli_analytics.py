"""The server commands of the analytics read model: ``paysim analytics rebuild`` and the read-model
part of ``paysim verify``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from paysim.config import Settings

if TYPE_CHECKING:  # a type only: the engine is built inside the command, not at `paysim --help`
    from sqlalchemy.ext.asyncio import AsyncEngine


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Callable[[argparse.ArgumentParser], None]
) -> None:
    analytics = sub.add_parser("analytics", help="manage the analytics read model")
    analytics_sub = analytics.add_subparsers(dest="analytics_command", required=True)
    rebuild = analytics_sub.add_parser(
        "rebuild",
        help="forget the analytics read model and count every event again",
        description="Empty the analytics read model and project every payment event again, from seq 1. "
        "Safe while servers run: their projectors notice and carry on from the rebuilt checkpoint.",
    )
    common(rebuild)


async def verify_read_model(engine: AsyncEngine) -> bool:
    """Print the read model's comparison with a brute-force recomputation; True when they agree."""
    from paysim.services.analytics_verification import verify_analytics

    report = await verify_analytics(engine)
    for line in report.mismatches:
        print(f"MISMATCH analytics {line}")
    verdict = "matches" if report.ok else f"{len(report.mismatches)} mismatches with"
    print(f"analytics read model at seq {report.position}: {verdict} a recomputation from {report.events} events")
    return report.ok


async def rebuild(settings: Settings) -> int:
    from paysim.app.adapters import database_limits
    from paysim.services.analytics_projector import AnalyticsProjector
    from paysim.services.clock import system_clock
    from paysim.services.event_bus import InProcessBus
    from paysim.store import migrate
    from paysim.store.analytics_writer import AnalyticsWriter
    from paysim.store.database import create_engine, is_sqlite
    from paysim.store.event_log import EventLog
    from paysim.store.pg_analytics_writer import PgAnalyticsWriter
    from paysim.store.pg_event_reads import PgEventReads
    from paysim.store.pg_pool import create_pool

    url = settings.effective_database_url
    limits = database_limits(settings)
    engine = create_engine(url, limits=limits)
    # On PostgreSQL the events are read and counted through psycopg, as by a server's projector.
    pool = None if is_sqlite(url) else create_pool(url, 2, limits)
    try:
        await migrate.upgrade(engine)
        writer = AnalyticsWriter(engine) if pool is None else PgAnalyticsWriter(engine, pool)
        events = EventLog(engine) if pool is None else EventLog(engine, PgEventReads(pool))
        if pool is not None:
            await pool.open()
        projector = AnalyticsProjector(events, writer, InProcessBus(), system_clock, poll_seconds=1.0)
        await projector.rebuild()
        position = await writer.position()
    finally:
        if pool is not None:
            await pool.close()
        await engine.dispose()
    print(f"analytics read model rebuilt: every event up to seq {position} counted")
    return 0
