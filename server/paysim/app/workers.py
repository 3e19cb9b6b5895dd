"""``paysim serve --workers N``: N server processes sharing one port through SO_REUSEPORT.

A Python process is bound to one core by the GIL, so throughput scales with processes. The
parent prepares what must happen once (port check, migrations, development keys), then starts
each worker with the ``spawn`` method, so no gRPC object or thread ever crosses a fork. It
forwards SIGTERM/SIGINT to the workers, which drain gracefully, and exits when they have.

Workers never outlive the parent: each holds the read end of a pipe whose write end only the
parent has, so when the parent dies, however it dies (even SIGKILL), the pipe reaches
end-of-file and the workers drain and exit as on SIGTERM rather than serve on as orphans.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType

from paysim.app.listen_address import ListenError, endpoints_to_serve
from paysim.app.observability_setup import ObservabilityError, start_for_workers
from paysim.config import Settings
from paysim.observability import metrics
from paysim.security import signing_key
from paysim.store import migrate
from paysim.store.database import create_engine, is_sqlite


class WorkersError(RuntimeError):
    """The workers cannot be started as configured."""


def check_port_free(listen: str) -> None:
    """Probe every address of ``listen`` without SO_REUSEPORT, which collides with any listener
    there (one with SO_REUSEPORT included), so a taken port fails here instead of being silently
    shared by the workers; with SO_REUSEADDR, as gRPC binds, so that connections of a previous
    server still in TIME_WAIT do not count."""
    try:
        endpoints = endpoints_to_serve(listen, reuse_port=False)
    except ListenError as error:
        raise WorkersError(str(error)) from None
    if any(endpoint.port == 0 for endpoint in endpoints):
        raise WorkersError("several workers need a fixed port, not 0")


async def _prepare(settings: Settings) -> None:
    from paysim.app.adapters import database_limits

    engine = create_engine(settings.effective_database_url, pool_size=1, limits=database_limits(settings))
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def _worker_main(settings: Settings, lifeline: Connection) -> None:
    from paysim.app.logging_setup import configure
    from paysim.app.serve import serve

    configure(settings.log_level)
    sys.exit(asyncio.run(serve(settings, run_migrations=False, parent_lifeline=lifeline.fileno())))


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

    try:
        start_for_workers(settings)  # before the workers start: they inherit where to write
    except ObservabilityError as error:
        raise WorkersError(str(error)) from None
    context = multiprocessing.get_context("spawn")
    # Only this process keeps the write end; each worker gets its own copy of the read end.
    lifeline, keep_alive = context.Pipe(duplex=False)
    workers: list[BaseProcess] = []
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: the worker drains within its grace period

    def reload_certificates(signum: int, _frame: FrameType | None) -> None:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGHUP)  # each worker re-reads its TLS files

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if settings.tls_cert:  # without TLS, SIGHUP keeps its default meaning
        signal.signal(signal.SIGHUP, reload_certificates)
    for index in range(settings.workers):
        started = context.Process(target=_worker_main, args=(settings, lifeline), name=f"paysim-worker-{index}")
        started.start()
        workers.append(started)
    lifeline.close()

    exit_code = 0
    while any(w.is_alive() for w in workers):
        for worker in workers:
            worker.join(timeout=0.5)
            if not worker.is_alive():
                metrics.worker_exited(worker.pid)
            if not worker.is_alive() and worker.exitcode not in (0, None) and not stopping:
                # One worker died on its own: take the rest down rather than serve short-handed.
                exit_code = 1
                stop(signal.SIGTERM, None)
    if any(w.exitcode not in (0, -signal.SIGTERM) for w in workers):
        exit_code = exit_code or 1
    keep_alive.close()
    return exit_code
