"""The server commands of the analytics read model: ``paysim analytics rebuild`` and the read-model
part of ``paysim verify``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.config import Settings


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
    from paysim.store.database import create_engine
    from paysim.store.event_log import EventLog

    engine = create_engine(settings.effective_database_url, limits=database_limits(settings))
    try:
        await migrate.upgrade(engine)
        writer = AnalyticsWriter(engine)
        projector = AnalyticsProjector(EventLog(engine), writer, InProcessBus(), system_clock, poll_seconds=1.0)
        await projector.rebuild()
        position = await writer.position()
    finally:
        await engine.dispose()
    print(f"analytics read model rebuilt: every event up to seq {position} counted")
    return 0
