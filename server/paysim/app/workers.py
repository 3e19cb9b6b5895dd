"""``paysim serve --workers N``: N server processes sharing one port through SO_REUSEPORT.

A Python process is bound to one core by the GIL, so throughput scales with processes. The
parent prepares what must happen once (port check, migrations, development keys), then starts
each worker with the ``spawn`` method, so no gRPC object or thread ever crosses a fork. It
forwards SIGTERM/SIGINT to the workers, which drain gracefully, and exits when they have.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import socket
import sys
from multiprocessing.process import BaseProcess
from types import FrameType

from paysim.config import Settings
from paysim.security import signing_key
from paysim.store import migrate
from paysim.store.database import create_engine, is_sqlite


class WorkersError(RuntimeError):
    """The workers cannot be started as configured."""


def _split(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - the user chose the address


def check_port_free(listen: str) -> None:
    """Bind once without SO_REUSEPORT: a taken port fails here instead of being silently shared."""
    host, port = _split(listen)
    if port == 0:
        raise WorkersError("several workers need a fixed port, not 0")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise WorkersError(f"cannot listen on {listen}: {error.strerror}") from None


async def _prepare(settings: Settings) -> None:
    from paysim.app.bootstrap import database_limits

    engine = create_engine(settings.effective_database_url, pool_size=1, limits=database_limits(settings))
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def _worker_main(settings: Settings) -> None:
    from paysim.app.logging_setup import configure
    from paysim.app.serve import serve

    configure(settings.log_level)
    sys.exit(asyncio.run(serve(settings, run_migrations=False)))


def run_workers(settings: Settings) -> int:
    if is_sqlite(settings.effective_database_url):
        raise WorkersError(
            "the embedded SQLite database serves a single process; "
            "use PostgreSQL (PAYSIM_DATABASE_URL) to run several workers"
        )
    check_port_free(settings.listen)
    asyncio.run(_prepare(settings))
    signing_key.load_or_create(settings.jwt_secret, settings.data_dir)
    signing_key.load_or_create(settings.fingerprint_secret, settings.data_dir, signing_key.FINGERPRINT_KEY_FILE)
    signing_key.load_or_create(settings.webhook_secret_key, settings.data_dir, signing_key.WEBHOOK_KEY_FILE)

    context = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = []
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: the worker drains within its grace period

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(settings.workers):
        started = context.Process(target=_worker_main, args=(settings,), name=f"paysim-worker-{index}")
        started.start()
        workers.append(started)

    exit_code = 0
    while any(w.is_alive() for w in workers):
        for worker in workers:
            worker.join(timeout=0.5)
            if not worker.is_alive() and worker.exitcode not in (0, None) and not stopping:
                # One worker died on its own: take the rest down rather than serve short-handed.
                exit_code = 1
                stop(signal.SIGTERM, None)
    if any(w.exitcode not in (0, -signal.SIGTERM) for w in workers):
        exit_code = exit_code or 1
    return exit_code
