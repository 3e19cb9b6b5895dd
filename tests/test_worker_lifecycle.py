"""``paysim serve --workers 2`` under a supervisor: workers never outlive their parent, and the
same command started again at once after the whole group was killed serves. Real SIGKILLs of
real processes; PostgreSQL, which several workers need."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support import backends
from tests.support.streams import wait_for
from tests.test_serve_process import (
    GRACE_SECONDS,
    PAYSIM,
    SERVING,
    STARTUP_SECONDS,
    Deadline,
    Target,
    _target,
    free_port,
    paysim_env,
)

TIME_WAIT = "06"  # the state column of /proc/net/tcp


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if "postgres" not in backends.available():
        pytest.skip("serve --workers needs PostgreSQL (PAYSIM_TEST_DATABASE_URL)")
    yield from _target("postgres", tmp_path_factory.mktemp("worker-lifecycle"))


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody has reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _time_wait_connections(port: int) -> int:
    """Connections on ``port`` (this host's end) in TIME_WAIT."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == TIME_WAIT:
                count += 1
    return count


def _serving(address: str) -> bool:
    try:
        with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    except grpc.RpcError:
        return False
    return reply.status == SERVING


class WorkersGroup:
    """``paysim serve --workers 2`` in a process group (a session) of its own, as a supervisor
    starts it, with its output in a file."""

    def __init__(self, target: Target, run_dir: Path, port: int, name: str) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.address = f"127.0.0.1:{port}"
        self.log_path = run_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(PAYSIM), "serve", "--workers", "2", "--listen", self.address],
            env=paysim_env(target, run_dir),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_serving(self) -> list[int]:
        """Until both workers serve; their process ids."""
        deadline = Deadline(STARTUP_SECONDS)
        while len(self.worker_pids()) < 2 or not _serving(self.address):
            assert self.proc.poll() is None, f"exited with {self.proc.returncode}:\n{self.output()}"
            assert not deadline.expired(), f"not serving within {STARTUP_SECONDS}s:\n{self.output()}"
            threading.Event().wait(0.05)
        return self.worker_pids()

    def worker_pids(self) -> list[int]:
        lines = [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]
        return sorted({line["pid"] for line in lines if line.get("msg") == "serving"})

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        """However the test went: nothing of this group is left running."""
        self.kill_group()
        self._log.close()


def test_workers_exit_when_their_parent_is_killed(postgres: Target, tmp_path: Path) -> None:
    port = free_port()
    first = WorkersGroup(postgres, tmp_path, port, "first")
    again: WorkersGroup | None = None
    try:
        workers = first.wait_serving()
        first.proc.kill()  # SIGKILL to the parent alone: it can neither forward nor clean up
        first.proc.wait(10)

        wait_for(
            lambda: not any(_alive(pid) for pid in workers),
            timeout=GRACE_SECONDS + 20,
            what=f"the orphaned workers {workers} exiting",
        )
        assert '"msg":"the parent process is gone; shutting down"' in first.output()
        assert not _serving(first.address)

        again = WorkersGroup(postgres, tmp_path, port, "again")  # the port is free again
        again.wait_serving()
        again.proc.terminate()
        assert again.proc.wait(GRACE_SECONDS + 10) == 0, again.output()
    finally:
        first.close()
        if again is not None:
            again.close()


def test_the_same_command_serves_at_once_after_the_whole_group_was_killed(postgres: Target, tmp_path: Path) -> None:
    port = free_port()
    first = WorkersGroup(postgres, tmp_path, port, "first")
    again: WorkersGroup | None = None
    held: list[grpc.Channel] = []
    stop_load = threading.Event()
    loader: threading.Thread | None = None
    try:
        first.wait_serving()
        # Clients holding connections, and a little load on one more.
        for _ in range(6):
            channel = grpc.insecure_channel(first.address, options=[("grpc.use_local_subchannel_pool", 1)])
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            held.append(channel)

        def load() -> None:
            with grpc.insecure_channel(first.address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
                health = health_pb2_grpc.HealthStub(channel)
                while not stop_load.is_set():
                    try:
                        health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    except grpc.RpcError:
                        stop_load.wait(0.01)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        first.kill_group()

        # The server's ends of the connections it held are left in TIME_WAIT (the server closed
        # first), which is what made a probe without SO_REUSEADDR refuse the port for a minute.
        wait_for(lambda: _time_wait_connections(port) > 0, timeout=15, what="connections left in TIME_WAIT")

        again = WorkersGroup(postgres, tmp_path, port, "again")
        again.wait_serving()
        again.proc.terminate()
        assert again.proc.wait(GRACE_SECONDS + 10) == 0, again.output()
    finally:
        stop_load.set()
        if loader is not None:
            loader.join(10)
        for channel in held:
            channel.close()
        first.close()
        if again is not None:
            again.close()
