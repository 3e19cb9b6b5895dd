"""README's Metrics and Tracing examples, run as a reader runs them: ``paysim serve`` as a real
process (on free ports instead of the documented ones), then the ``curl`` and ``grpcurl`` lines;
the scrape shows the calls, and the console exporter prints the span of a call made with a
``traceparent``, whose trace id the access log line carries too."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.cli.test_readme_blocks import README, sh_blocks
from tests.test_serve_process import STARTUP_SECONDS, free_port

BIN_DIR = Path(sys.executable).parent
DOCUMENTED_TARGET = "localhost:50051"
DOCUMENTED_METRICS = "127.0.0.1:9464"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def block_with(line: str) -> list[str]:
    """The README block that has ``line``, as commands (continuation lines joined)."""
    (block,) = [b for b in sh_blocks(README) if line in b.text]
    return block.text.replace("\\\n", " ").strip().splitlines()


def reader_env(data_dir: Path, listen: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYSIM_", "OTEL_", "PROMETHEUS_"))}
    env.update(
        PATH=os.pathsep.join([str(BIN_DIR), env.get("PATH", "")]),
        PAYSIM_DATA_DIR=str(data_dir),
        PAYSIM_LISTEN=listen,
        PAYSIM_BCRYPT_ROUNDS="4",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def background(command: str, env: dict[str, str], log: Path, listen: str) -> Iterator[subprocess.Popen[bytes]]:
    """The block's ``… &`` line, until SERVING; stopped with SIGTERM (as a reader's Ctrl-C) after."""
    assert command.endswith(" &")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", "-c", "exec env " + command.removesuffix(" &")],
            env=env,
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            with grpc.insecure_channel(listen) as channel:
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=STARTUP_SECONDS, wait_for_ready=True
                )
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0, log.read_text()


def run(command: str, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(["bash", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_metrics_example(tmp_path: Path) -> None:
    listen, metrics_at = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    serve, scrape = (line.replace(DOCUMENTED_METRICS, metrics_at) for line in block_with("paysim serve --metrics"))
    env = reader_env(tmp_path / "data", listen)
    with background(serve, env, tmp_path / "serve.log", listen):
        printed = run(scrape, env, tmp_path)
    # The health check the example waited with is the first call it counted.
    assert re.search(
        r'^paysim_rpc_requests_total\{code="OK",method="/grpc.health.v1.Health/Check"\} 1\.0$', printed, re.M
    )


def test_the_tracing_example(tmp_path: Path) -> None:
    listen = f"127.0.0.1:{free_port()}"
    serve, call = block_with("OTEL_TRACES_EXPORTER=console paysim serve")
    env = reader_env(tmp_path / "data", listen)
    log = tmp_path / "serve.log"
    with background(serve, env, log, listen):
        assert '"status": "SERVING"' in run(call.replace(DOCUMENTED_TARGET, listen), env, tmp_path)
    printed = log.read_text()
    # The console exporter's span (flushed at shutdown) and the access log line, in that trace.
    assert f'"trace_id": "0x{TRACE_ID}"' in printed and '"name": "grpc.health.v1.Health/Check"' in printed
    assert f'"trace_id":"{TRACE_ID}"' in printed
