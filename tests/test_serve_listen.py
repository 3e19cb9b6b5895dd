"""``paysim serve --listen HOST:PORT`` serves every address HOST names or none: with one of them
taken it exits 2 with one sentence on stderr (no gRPC log line before it), rather than serve on
the others while clients that reach the taken one talk to a different server."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support import backends
from tests.support.harness import ServerHandle
from tests.test_serve_process import PAYSIM, SERVING, STARTUP_SECONDS, Target, _target, paysim_env

SQLITE = Target("sqlite", "", "")


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


LOOPBACKS = ["127.0.0.1", *(["::1"] if _has_ipv6_loopback() else [])]


def _socket_address(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@pytest.fixture(params=LOOPBACKS)
def other_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Another gRPC server holding one loopback address (only that one) of a free port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)])
    port = server.add_insecure_port(_socket_address(request.param, 0))
    assert port
    server.start()
    yield _socket_address(request.param, port)
    server.stop(None)


def _serve_until_exit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``paysim serve``, expecting it to exit by itself; fail at once if it starts serving."""
    proc = subprocess.Popen(
        [str(PAYSIM), "serve", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=STARTUP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"paysim serve {' '.join(args)} kept running; its output:\n{stdout}{stderr}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_localhost_with_one_address_taken_exits_2(other_server: str, tmp_path: Path) -> None:
    port = int(other_server.rsplit(":", 1)[1])
    done = _serve_until_exit(paysim_env(SQLITE, tmp_path), "--listen", f"localhost:{port}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"paysim: cannot listen on localhost:{port} ({other_server}): the address is already in use. "
        "Is another server running? Choose another with --listen.\n"
    )


def test_a_taken_address_is_one_sentence_without_grpc_log_lines(other_server: str, tmp_path: Path) -> None:
    done = _serve_until_exit(paysim_env(SQLITE, tmp_path), "--listen", other_server)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"paysim: cannot listen on {other_server}: the address is already in use. "
        "Is another server running? Choose another with --listen."
    ]


def test_what_is_not_host_and_port_exits_2(tmp_path: Path) -> None:
    done = _serve_until_exit(paysim_env(SQLITE, tmp_path), "--listen", "50051")
    assert done.returncode == 2
    assert done.stderr == "paysim: cannot listen on '50051': give HOST:PORT, e.g. 127.0.0.1:50051 or [::1]:50051.\n"


def test_localhost_serves_on_every_loopback(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(listen="localhost:0")  # port 0: every address gets the port the first got
    port = server.port
    assert sorted(server.server.addresses) == sorted(_socket_address(ip, port) for ip in LOOPBACKS)
    for ip in LOOPBACKS:
        with grpc.insecure_channel(_socket_address(ip, port)) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert reply.status == SERVING, ip


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if "postgres" not in backends.available():
        pytest.skip("serve --workers needs PostgreSQL (PAYSIM_TEST_DATABASE_URL)")
    yield from _target("postgres", tmp_path_factory.mktemp("listen-workers"))


def test_workers_refuse_localhost_with_one_address_taken(other_server: str, postgres: Target, tmp_path: Path) -> None:
    port = int(other_server.rsplit(":", 1)[1])
    done = _serve_until_exit(paysim_env(postgres, tmp_path), "--workers", "2", "--listen", f"localhost:{port}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"paysim: cannot listen on localhost:{port} ({other_server}): the address is already in use\n"
    )
