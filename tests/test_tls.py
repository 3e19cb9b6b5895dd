"""TLS and mutual TLS through a real ``paysim serve`` process, with certificates made here: the
Python SDK's TLSConfig, the command line's ``--tls-ca`` and ``--tls-cert/--tls-key``, the real
grpcurl with ``-cacert``; a certificate swapped while serving (SIGHUP, or the files changing)
reaches new connections while an open stream goes on; plaintext refused where other machines
could connect.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_client import Client, TLSConfig

from tests.support import backends
from tests.support.certificates import CertificateAuthority, Issued
from tests.support.factories import PASSWORD, unique, unique_email
from tests.test_serve_process import (
    BIN_DIR,
    GRACE_SECONDS,
    GRPCURL,
    PAYSIM,
    SERVING,
    STARTUP_SECONDS,
    Deadline,
    Target,
    _target,
    free_port,
    paysim_env,
    run_paysim,
)

SQLITE = Target("sqlite", "", "")
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

pytestmark = pytest.mark.skipif(not PAYSIM.exists(), reason=f"console script {PAYSIM} is not installed")


class Pki:
    """A CA, a server certificate it signed in ``server.crt``/``server.key``, its CA in ``ca.crt``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.ca = CertificateAuthority("paysim test CA")
        self.ca_file = self.ca.write(directory / "ca.crt")
        self.cert, self.key = self.ca.issue_server().write(directory, "server")

    def client(self, name: str) -> tuple[Path, Path]:
        return self.ca.issue_client(name).write(self.directory, name)


def tls_channel(address: str, ca: bytes, client: Issued | None = None) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=client.key_pem if client else None,
        certificate_chain=client.cert_pem if client else None,
    )
    return grpc.secure_channel(address, credentials)


def health_status(channel: grpc.Channel) -> int:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return int(reply.status)


class TlsServer:
    """``paysim serve --listen localhost:<free port> ARGS…`` with its output in a file."""

    def __init__(
        self, data_dir: Path, *args: str, target: Target = SQLITE, cwd: Path | None = None, port: int = 0
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.target = f"localhost:{self.port}"
        self.log_path = data_dir / "server.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(PAYSIM), "serve", "--listen", self.target, *args],
            env=paysim_env(target, data_dir),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_serving(self, ca: bytes, client: Issued | None = None) -> None:
        deadline = Deadline(STARTUP_SECONDS)
        with tls_channel(self.target, ca, client) as channel:
            while True:
                assert self.proc.poll() is None, f"paysim serve exited with {self.proc.returncode}:\n{self.output()}"
                try:
                    if health_status(channel) == SERVING:
                        return
                except grpc.RpcError as error:
                    if deadline.expired() or error.code() != grpc.StatusCode.UNAVAILABLE:
                        raise AssertionError(f"{error}\nserver output:\n{self.output()}") from None
                time.sleep(0.1)  # the port is not open yet

    def wait_logged(self, text: str, count: int = 1) -> None:
        deadline = Deadline(10)
        while self.output().count(text) < count:
            assert not deadline.expired(), f"{text!r} not logged {count} times:\n{self.output()}"
            assert self.proc.poll() is None, self.output()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(GRACE_SECONDS + 5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture
def tls_server(pki: Pki, tmp_path: Path) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path / "data", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key))
    try:
        server.wait_serving(pki.ca.cert_pem)
        yield server
    finally:
        server.stop()


@pytest.fixture
def mtls_server(pki: Pki, tmp_path: Path) -> Iterator[TlsServer]:
    server = TlsServer(
        tmp_path / "data",
        *("--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--tls-client-ca", str(pki.ca_file)),
    )
    try:
        server.wait_serving(pki.ca.cert_pem, pki.ca.issue_client("health"))
        yield server
    finally:
        server.stop()


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYSIM_", "XDG_"))}
    return {**env, "PAYSIM_CLI_CONFIG": str(tmp_path / "cli.json"), "HOME": str(tmp_path / "home")}


def register_with_cli(tmp_path: Path, target: str, *tls_flags: str) -> subprocess.CompletedProcess[str]:
    return run_paysim(
        cli_env(tmp_path),
        *("merchants", "register", "--target", target, *tls_flags),
        *("--name", unique("TLS Shop"), "--email", unique_email(), "--password-stdin"),
        stdin=f"{PASSWORD}\n",
    )


# --- TLS ------------------------------------------------------------------------------------------


def test_the_sdk_connects_with_tls_config_and_plaintext_is_refused(tls_server: TlsServer, pki: Pki) -> None:
    with Client.connect(tls_server.target, tls=TLSConfig(root_certificates=pki.ca.cert_pem)) as client:
        reply = client.merchants.register(name=unique("TLS Shop"), owner_email=unique_email(), owner_password=PASSWORD)
        assert reply.merchant.id.startswith("mer_")
    with grpc.insecure_channel(tls_server.target) as plaintext, pytest.raises(grpc.RpcError) as refused:
        health_status(plaintext)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    other_ca = CertificateAuthority("someone else").cert_pem
    with tls_channel(tls_server.target, other_ca) as untrusted, pytest.raises(grpc.RpcError) as refused:
        health_status(untrusted)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert '"tls":true' in tls_server.output()


def test_the_command_line_connects_with_tls_ca(tls_server: TlsServer, pki: Pki, tmp_path: Path) -> None:
    done = register_with_cli(tmp_path, tls_server.target, "--tls-ca", str(pki.ca_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("registered merchant mer_"), done.stdout
    missing = register_with_cli(tmp_path, tls_server.target, "--tls-ca", str(tmp_path / "nowhere.crt"))
    assert missing.returncode == 2, missing.stderr
    assert "--tls-ca" in missing.stderr and "nowhere.crt" in missing.stderr


def test_grpcurl_checks_health_with_cacert(tls_server: TlsServer, pki: Pki) -> None:
    done = subprocess.run(
        [str(GRPCURL), "-cacert", str(pki.ca_file), tls_server.target, "grpc.health.v1.Health/Check"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"status": "SERVING"' in done.stdout


# --- mutual TLS -----------------------------------------------------------------------------------


def test_mtls_requires_a_client_certificate_the_ca_signed(mtls_server: TlsServer, pki: Pki, tmp_path: Path) -> None:
    with tls_channel(mtls_server.target, pki.ca.cert_pem) as anonymous, pytest.raises(grpc.RpcError) as refused:
        health_status(anonymous)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    stranger = CertificateAuthority("someone else").issue_client("stranger")
    with tls_channel(mtls_server.target, pki.ca.cert_pem, stranger) as channel, pytest.raises(grpc.RpcError):
        health_status(channel)

    client = pki.ca.issue_client("sdk")
    tls = TLSConfig(
        root_certificates=pki.ca.cert_pem, client_certificate_chain=client.cert_pem, client_private_key=client.key_pem
    )
    with Client.connect(mtls_server.target, tls=tls) as sdk:
        reply = sdk.merchants.register(name=unique("mTLS Shop"), owner_email=unique_email(), owner_password=PASSWORD)
        assert reply.merchant.id.startswith("mer_")

    cert, key = pki.client("cli")
    flags = ("--tls-ca", str(pki.ca_file), "--tls-cert", str(cert), "--tls-key", str(key))
    done = register_with_cli(tmp_path, mtls_server.target, *flags)
    assert done.returncode == 0, done.stderr
    half = register_with_cli(tmp_path, mtls_server.target, "--tls-ca", str(pki.ca_file), "--tls-cert", str(cert))
    assert half.returncode == 2 and "--tls-cert and --tls-key go together" in half.stderr

    tls_files = ("-cacert", str(pki.ca_file), "-cert", str(cert), "-key", str(key))
    grpcurl = subprocess.run(
        [str(GRPCURL), *tls_files, mtls_server.target, "grpc.health.v1.Health/Check"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert grpcurl.returncode == 0 and '"status": "SERVING"' in grpcurl.stdout, grpcurl.stderr


# --- reloading the certificate --------------------------------------------------------------------


def test_a_swapped_certificate_reaches_new_connections_while_an_open_stream_goes_on(
    tls_server: TlsServer, pki: Pki
) -> None:
    old_ca = pki.ca.cert_pem
    old_channel = tls_channel(tls_server.target, old_ca)
    watch = health_pb2_grpc.HealthStub(old_channel).Watch(health_pb2.HealthCheckRequest(), timeout=60)
    assert next(watch).status == SERVING

    # SIGHUP: the files now hold a certificate of another CA.
    new_ca = CertificateAuthority("the next CA")
    new_ca.issue_server().write(pki.directory, "server")
    tls_server.proc.send_signal(signal.SIGHUP)
    tls_server.wait_logged("TLS certificate reloaded")
    with tls_channel(tls_server.target, new_ca.cert_pem) as channel:
        assert health_status(channel) == SERVING
    with tls_channel(tls_server.target, old_ca) as channel, pytest.raises(grpc.RpcError) as refused:
        health_status(channel)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert health_status(old_channel) == SERVING  # the connection made before goes on with its certificate

    # No signal: the files changing is enough for the next connection.
    pki.ca.issue_server().write(pki.directory, "server")
    with tls_channel(tls_server.target, old_ca) as channel:
        assert health_status(channel) == SERVING

    # A key that does not match the certificate is not taken: the last good one stays.
    broken = Issued(new_ca.issue_server().cert_pem, pki.ca.issue_server().key_pem)
    broken.write(pki.directory, "server")
    tls_server.proc.send_signal(signal.SIGHUP)
    tls_server.wait_logged("TLS certificate not reloaded")
    with tls_channel(tls_server.target, old_ca) as channel:
        assert health_status(channel) == SERVING

    # The stream opened before all this is still there: it sees the server go NOT_SERVING.
    tls_server.proc.terminate()
    assert next(watch).status == NOT_SERVING
    old_channel.close()


# --- refusals at start ----------------------------------------------------------------------------


def test_plaintext_on_a_non_loopback_address_is_refused_unless_insecure(tmp_path: Path) -> None:
    port = free_port()
    done = run_paysim(paysim_env(SQLITE, tmp_path / "refused"), "serve", "--listen", f"0.0.0.0:{port}")
    assert done.returncode == 2
    assert done.stderr.startswith(f"paysim: refusing to serve plaintext on 0.0.0.0:{port}, which other machines")
    assert "--insecure" in done.stderr and "--tls-cert" in done.stderr

    server = subprocess.Popen(
        [str(PAYSIM), "serve", "--listen", f"0.0.0.0:{port}", "--insecure"],
        env=paysim_env(SQLITE, tmp_path / "insecure"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = Deadline(STARTUP_SECONDS)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=deadline.remaining())
            assert health_status(channel) in (SERVING, NOT_SERVING)
    finally:
        server.terminate()
        server.communicate(timeout=GRACE_SECONDS + 5)


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("half", "paysim: --tls-cert and --tls-key (PAYSIM_TLS_CERT, PAYSIM_TLS_KEY) go together.\n"),
        ("missing", "paysim: cannot read the TLS certificate "),
        ("mismatch", " is not the key of the certificate "),
        ("not pem", " holds no PEM certificate"),
    ],
)
def test_tls_files_that_cannot_serve_stop_the_start(pki: Pki, tmp_path: Path, problem: str, expected: str) -> None:
    cert, key = str(pki.cert), str(pki.key)
    if problem == "half":
        args = ["--tls-cert", cert]
    elif problem == "missing":
        args = ["--tls-cert", str(tmp_path / "nowhere.crt"), "--tls-key", key]
    elif problem == "mismatch":
        _, other_key = pki.ca.issue_server().write(pki.directory, "other")
        args = ["--tls-cert", cert, "--tls-key", str(other_key)]
    else:
        (tmp_path / "garbage.crt").write_text("not a certificate\n")
        args = ["--tls-cert", str(tmp_path / "garbage.crt"), "--tls-key", key]
    done = run_paysim(paysim_env(SQLITE, tmp_path / "data"), "serve", "--listen", f"127.0.0.1:{free_port()}", *args)
    assert done.returncode == 2
    assert expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# --- several workers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    if "postgres" not in backends.available():
        pytest.skip("several workers need PostgreSQL (PAYSIM_TEST_DATABASE_URL)")
    yield from _target("postgres", tmp_path_factory.mktemp("tls-workers"))


def test_workers_serve_tls_and_each_reloads_on_sighup(postgres: Target, pki: Pki, tmp_path: Path) -> None:
    server = TlsServer(
        tmp_path / "data", "--workers", "2", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key), target=postgres
    )
    try:
        server.wait_serving(pki.ca.cert_pem)
        server.wait_logged('"msg":"serving"', count=2)
        new_ca = CertificateAuthority("the next CA")
        new_ca.issue_server().write(pki.directory, "server")
        server.proc.send_signal(signal.SIGHUP)  # the parent passes it on to every worker
        server.wait_logged("TLS certificate reloaded", count=2)
        for _ in range(4):  # whichever worker takes the connection
            with tls_channel(server.target, new_ca.cert_pem) as channel:
                assert health_status(channel) == SERVING
    finally:
        server.stop()


# --- the README's TLS section, as written ---------------------------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"
DOCUMENTED_TARGET = "localhost:50051"


def readme_tls_blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("\n## TLS\n") : text.index("\n## PostgreSQL and Redis\n")]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.M | re.S)


def _run_documented_steps(block: str, target: str, cwd: Path) -> None:
    """Each ``$ `` command of ``block`` against ``target``; its output is the JSON shown under it."""
    env = {**os.environ, "PATH": f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}"}
    for step in re.split(r"^\$ ", block, flags=re.M)[1:]:
        command, _, documented = step.partition("\n")
        done = subprocess.run(
            shlex.split(command.replace(DOCUMENTED_TARGET, target)),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        assert json.loads(done.stdout) == json.loads(documented), (command, done.stdout)


def test_the_readme_tls_section(tmp_path: Path) -> None:
    """The serve commands run as written (a free port for 50051) in a directory holding ca.crt,
    server.crt/.key and client.crt/.key; each client block runs against the server before it."""
    pki = Pki(tmp_path / "pki")
    pki.client("client")
    blocks = readme_tls_blocks()
    assert len(blocks) == 4
    server: TlsServer | None = None
    try:
        for number, block in enumerate(blocks):
            if block.startswith("paysim serve"):
                if server is not None:
                    server.stop()
                port = free_port()
                args = [arg.replace(":50051", f":{port}") for arg in shlex.split(block)[2:]]
                server = TlsServer(tmp_path / f"serve{number}", *args, cwd=pki.directory, port=port)
                client = pki.ca.issue_client("probe") if "--tls-client-ca" in args else None
                server.wait_serving(pki.ca.cert_pem, client)
            else:
                assert server is not None, "a client block before any serve block"
                _run_documented_steps(block, server.target, pki.directory)
    finally:
        if server is not None:
            server.stop()
