"""Black-box tests of the real ``paysim`` console script: ``paysim serve`` as a child process on a
free port with a data directory of its own, driven by the generated stubs and by the real grpcurl
binary, plus ``paysim migrate`` and ``paysim admin create``.

Runs against the default SQLite file in the data directory, and against PostgreSQL (a private
schema) + Redis when PAYSIM_TEST_DATABASE_URL / PAYSIM_TEST_REDIS_URL are set. Every wait has a
deadline; nothing sleeps in the hope that something has happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_proto.v1 import auth_pb2, auth_pb2_grpc, merchant_pb2, merchant_pb2_grpc, payment_pb2, payment_pb2_grpc

from tests.support import backends
from tests.support.client import Stubs, expect_error
from tests.support.factories import PASSWORD, register_merchant, unique, unique_email

BIN_DIR = Path(sys.executable).parent
PAYSIM = BIN_DIR / "paysim"
GRPCURL = BIN_DIR / "grpcurl"

STARTUP_SECONDS = 30.0  # generous for a loaded CI machine; a healthy start takes about a second
GRACE_SECONDS = 20.0  # a loaded machine must not turn the 6 s payment in flight into a cancelled one
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
PAYSIM_SERVICES = ("paysim.v1.AuthService", "paysim.v1.MerchantService", "paysim.v1.CustomerService")
_CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")

pytestmark = pytest.mark.skipif(not PAYSIM.exists(), reason=f"console script {PAYSIM} is not installed")


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0


def free_port() -> int:
    """A port nobody listens on right now (bound to 0, then released for the server to take)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Target:
    """Where a child process keeps its data. ``database_url`` empty means the default: SQLite in
    the data directory, exactly what ``paysim serve`` does out of the box."""

    backend: str
    database_url: str
    redis_url: str


def _target(name: str, tmp: Path) -> Iterator[Target]:
    if name == "sqlite":
        yield Target("sqlite", "", "")
        return
    with backends.provision(name, tmp) as provisioned:
        yield Target(provisioned.name, provisioned.database_url, provisioned.redis_url)


@pytest.fixture(scope="module", params=backends.available())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(request.param, tmp_path_factory.mktemp(f"proc-{request.param}"))


def paysim_env(target: Target, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The caller's environment minus every PAYSIM_* setting, plus this process's own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PAYSIM_")}
    env.update(
        PAYSIM_DATA_DIR=str(data_dir),
        PAYSIM_BCRYPT_ROUNDS="4",
        PAYSIM_HEALTH_PROBE_SECONDS="0.2",
        PAYSIM_GRACE_SECONDS=str(GRACE_SECONDS),
        PYTHONUNBUFFERED="1",
    )
    if target.database_url:
        env["PAYSIM_DATABASE_URL"] = target.database_url
    if target.redis_url:
        env["PAYSIM_REDIS_URL"] = target.redis_url
    env.update(overrides)
    return env


def run_paysim(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = STARTUP_SECONDS
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PAYSIM), *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class ServerProcess:
    """``paysim serve --listen 127.0.0.1:<free port>`` with its output in a file of the data dir."""

    def __init__(self, target: Target, data_dir: Path, **env: str) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.target = target
        self.data_dir = data_dir
        self.env = paysim_env(target, data_dir, **env)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(PAYSIM), "serve", "--listen", self.address],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.channel = grpc.insecure_channel(self.address)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _died(self) -> str:
        return f"paysim serve exited with {self.proc.returncode} before SERVING; its output:\n{self.output()}"

    def wait_serving(self, seconds: float = STARTUP_SECONDS) -> None:
        """Until health says SERVING: a Watch stream that waits for the port, re-opened every
        second so an early exit of the process is noticed at once."""
        deadline = Deadline(seconds)
        while True:
            assert self.proc.poll() is None, self._died()
            if deadline.expired():
                pytest.fail(f"not SERVING within {seconds}s; output so far:\n{self.output()}")
            watch = self.health.Watch(
                health_pb2.HealthCheckRequest(), timeout=min(1.0, deadline.remaining()), wait_for_ready=True
            )
            try:
                for reply in watch:
                    if reply.status == SERVING:
                        return
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                    raise
            finally:
                watch.cancel()

    def stop(self) -> None:
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(GRACE_SECONDS + 5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@pytest.fixture(scope="module")
def spawn_many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(target: Target, **env: str) -> ServerProcess:
        server = ServerProcess(target, tmp_path_factory.mktemp("serve"), **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class Servers:
    shared: ServerProcess  # left running, shared by the tests that only talk to it
    draining: ServerProcess  # bcrypt cost 12, for the shutdown test that stops it


@pytest.fixture(scope="module")
def servers(target: Target, spawn_many: Callable[..., ServerProcess]) -> Servers:
    """Both servers of a backend start side by side, so their start-ups overlap."""
    # Cost 12: a Login spends ~0.25 s in bcrypt, long enough to be in flight when SIGTERM lands.
    # Its metrics say when that call is being served.
    draining = spawn_many(target, PAYSIM_BCRYPT_ROUNDS="12", PAYSIM_METRICS_LISTEN=f"127.0.0.1:{free_port()}")
    started = Servers(spawn_many(target), draining)
    started.shared.wait_serving()
    started.draining.wait_serving()
    return started


@pytest.fixture
def server(servers: Servers) -> ServerProcess:
    return servers.shared


def grpcurl(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """The real grpcurl, plaintext; ``args`` are its flags, the address, then the verb/method."""
    return subprocess.run(
        [str(GRPCURL), "-plaintext", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def grpcurl_json(*args: str) -> dict[str, Any]:
    result = grpcurl(*args)
    assert result.returncode == 0, f"grpcurl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    reply: dict[str, Any] = json.loads(result.stdout)
    return reply


def bearer(credential: str) -> tuple[str, str]:
    return ("-H", f"authorization: Bearer {credential}")


# (a) ------------------------------------------------------------------------------------------


def test_reaches_serving_for_every_service(server: ServerProcess) -> None:
    for service in ("", *PAYSIM_SERVICES):
        reply = server.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == SERVING, service
    assert '"msg":"serving"' in server.output()


# (b) ------------------------------------------------------------------------------------------


def test_grpcurl_lists_and_describes_services(server: ServerProcess) -> None:
    listed = grpcurl(server.address, "list")
    assert listed.returncode == 0, listed.stderr
    services = set(listed.stdout.split())
    assert {
        *PAYSIM_SERVICES,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services

    described = grpcurl(server.address, "describe", "paysim.v1.AuthService")
    assert described.returncode == 0, described.stderr
    assert "paysim.v1.AuthService is a service" in described.stdout
    for rpc in ("Register", "Login", "RefreshToken", "Logout", "GetCurrentUser", "ChangePassword"):
        assert f"rpc {rpc} ( .paysim.v1.{rpc}Request ) returns ( .paysim.v1.{rpc}Response ) {{" in described.stdout
    # Each RPC shows who may call it and whether a repeat is safe.
    assert described.stdout.count("option (.paysim.v1.access) = ") == 6
    assert "option idempotency_level = NO_SIDE_EFFECTS;" in described.stdout


def test_grpcurl_register_login_current_user_and_api_key(server: ServerProcess) -> None:
    email = unique_email("grpcurl")
    registered = grpcurl_json(
        "-d",
        json.dumps(
            {"name": unique("Acme"), "owner_email": email, "owner_password": PASSWORD, "owner_full_name": "Ada"}
        ),
        server.address,
        "paysim.v1.MerchantService/RegisterMerchant",
    )
    merchant_id = registered["merchant"]["id"]
    assert merchant_id.startswith("mer_")
    assert registered["owner"]["role"] == "ROLE_MERCHANT"

    session = grpcurl_json(
        "-d", json.dumps({"email": email, "password": PASSWORD}), server.address, "paysim.v1.AuthService/Login"
    )
    token = session["tokens"]["access_token"]
    assert session["tokens"]["token_type"] == "Bearer"

    me = grpcurl_json(*bearer(token), server.address, "paysim.v1.AuthService/GetCurrentUser")
    assert me["user"]["email"] == email
    assert me["merchant_id"] == merchant_id
    assert me["credential_kind"] == "CREDENTIAL_KIND_ACCESS_TOKEN"

    key = grpcurl_json(*bearer(token), "-d", '{"name": "ci"}', server.address, "paysim.v1.MerchantService/CreateApiKey")
    assert key["secret"].startswith("sk_test_")
    by_key = grpcurl_json(*bearer(key["secret"]), server.address, "paysim.v1.MerchantService/GetMerchant")
    assert by_key["merchant"]["id"] == merchant_id


def test_grpcurl_shows_invalid_argument_with_bad_request_and_request_id(server: ServerProcess) -> None:
    result = grpcurl(
        "-v",
        "-d",
        '{"name": "", "owner_email": "not-an-email", "owner_password": "short"}',
        server.address,
        "paysim.v1.MerchantService/RegisterMerchant",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 64 + grpc.StatusCode.INVALID_ARGUMENT.value[0], output  # grpcurl: 64 + code
    assert "Code: InvalidArgument" in output
    assert "type.googleapis.com/google.rpc.BadRequest" in output
    assert "owner_email" in output
    assert "type.googleapis.com/google.rpc.ErrorInfo" in output
    assert '"domain":"paysim.v1"' in output.replace(" ", "")
    assert "x-request-id:" in output


def test_grpcurl_gateway_configs(server: ServerProcess) -> None:
    email = unique_email("gateways")
    grpcurl_json(
        "-d",
        json.dumps({"name": unique("Routes"), "owner_email": email, "owner_password": PASSWORD}),
        server.address,
        "paysim.v1.MerchantService/RegisterMerchant",
    )
    session = grpcurl_json(
        "-d", json.dumps({"email": email, "password": PASSWORD}), server.address, "paysim.v1.AuthService/Login"
    )
    auth = bearer(session["tokens"]["access_token"])
    method = "paysim.v1.MerchantService/"

    assert grpcurl_json(*auth, server.address, method + "ListGatewayConfigs") == {}  # simulator alone
    stripe = grpcurl_json(
        *auth,
        "-d",
        '{"gateway": "stripe", "priority": 1, "settings": {"timeout_ms": "2000", "latency_ms": "150"}}',
        server.address,
        method + "SetGatewayConfig",
    )["gateway_config"]
    assert (stripe["gateway"], stripe["enabled"], stripe["priority"]) == ("stripe", True, 1)
    assert stripe["settings"] == {"timeout_ms": "2000", "latency_ms": "150"}
    grpcurl_json(
        *auth,
        "-d",
        '{"gateway": "paypal", "priority": 2, "enabled": false}',
        server.address,
        method + "SetGatewayConfig",
    )
    configs = grpcurl_json(*auth, server.address, method + "ListGatewayConfigs")["gateway_configs"]
    assert [(c["gateway"], c.get("enabled", False)) for c in configs] == [("stripe", True), ("paypal", False)]

    refused = grpcurl(*auth, "-d", '{"gateway": "adyen", "priority": 1}', server.address, method + "SetGatewayConfig")
    output = refused.stdout + refused.stderr
    assert refused.returncode == 64 + grpc.StatusCode.INVALID_ARGUMENT.value[0], output
    assert "type.googleapis.com/google.rpc.BadRequest" in output
    assert "must be one of stripe, paypal, razorpay, simulator" in output

    deleted = grpcurl_json(*auth, "-d", '{"gateway": "paypal"}', server.address, method + "DeleteGatewayConfig")
    assert deleted["gateway_config"]["gateway"] == "paypal"
    configs = grpcurl_json(*auth, server.address, method + "ListGatewayConfigs")["gateway_configs"]
    assert [c["gateway"] for c in configs] == ["stripe"]


def test_grpcurl_missing_credentials_is_unauthenticated(server: ServerProcess) -> None:
    result = grpcurl(server.address, "paysim.v1.AuthService/GetCurrentUser")
    assert result.returncode == 64 + grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert "Code: Unauthenticated" in result.stderr
    assert "CREDENTIALS_MISSING" in result.stderr


def test_grpcurl_health_check(server: ServerProcess) -> None:
    assert grpcurl_json(server.address, "grpc.health.v1.Health/Check") == {"status": "SERVING"}
    per_service = grpcurl_json(
        "-d", '{"service": "paysim.v1.MerchantService"}', server.address, "grpc.health.v1.Health/Check"
    )
    assert per_service == {"status": "SERVING"}


# (c) ------------------------------------------------------------------------------------------


def _wait_until_in_flight(server: ServerProcess, method: str, seconds: float) -> None:
    """Until the server's metrics count ``method`` as being served: from then on the call is one
    its shutdown must drain (the gauge and the drain's count are raised in one step). Polls the
    metrics endpoint under a deadline."""
    address = server.env["PAYSIM_METRICS_LISTEN"]
    wanted = f'paysim_rpc_in_flight{{method="{method}"}} 1.0'
    deadline = Deadline(seconds)
    tick = threading.Event()
    while not deadline.expired():
        try:
            with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as reply:
                if wanted in reply.read().decode():
                    return
        except OSError:
            pass  # not listening yet
        tick.wait(0.005)
    pytest.fail(f"{method} was never in flight; the server's output:\n{server.output()}")


def test_sigterm_drains_in_flight_call_then_exits_zero(servers: Servers) -> None:
    server = servers.draining
    email = unique_email("drain")
    merchants = merchant_pb2_grpc.MerchantServiceStub(server.channel)
    merchants.RegisterMerchant(
        merchant_pb2.RegisterMerchantRequest(
            name=unique("Shop"), owner_email=email, owner_password=PASSWORD, owner_full_name="Owner"
        ),
        timeout=30,
    )
    watch = server.health.Watch(health_pb2.HealthCheckRequest(), timeout=30)
    assert next(watch).status == SERVING

    login = auth_pb2_grpc.AuthServiceStub(server.channel).Login.future(
        auth_pb2.LoginRequest(email=email, password=PASSWORD), timeout=30
    )
    _wait_until_in_flight(server, "/paysim.v1.AuthService/Login", seconds=10)
    signalled = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)

    assert next(watch).status == NOT_SERVING  # probes see the shutdown at once
    watch.cancel()  # an open Watch is a call in flight too; let the drain finish without it
    reply = login.result(timeout=GRACE_SECONDS + 5)
    assert reply.tokens.access_token, "the in-flight Login did not complete"
    assert reply.user.email == email

    code = server.proc.wait(GRACE_SECONDS + 5)
    assert code == 0, server.output()
    assert time.monotonic() - signalled < GRACE_SECONDS, "the drain should not need the whole grace period"
    output = server.output()
    assert '"msg":"shutdown requested"' in output
    assert '"msg":"stopped"' in output


def test_after_sigterm_health_answers_not_serving_until_the_calls_in_flight_are_done(
    target: Target, spawn_many: Callable[..., ServerProcess]
) -> None:
    """Probes get an answer, NOT_SERVING, for as long as the drain lasts (not a refused call);
    new calls are refused with a status that says why; the call in flight completes."""
    server = spawn_many(target)
    server.wait_serving()
    stubs = Stubs(server.channel)
    api = stubs.as_(register_merchant(stubs).api_key)
    # The gateway takes 6 s: the payment is in flight through the first seconds of the drain.
    slow = payment_pb2_grpc.PaymentServiceStub(server.channel).CreatePayment.future(
        payment_pb2.CreatePaymentRequest(amount_minor=700, card=_CARD),
        metadata=[("authorization", f"Bearer {api.credential}"), ("paysim-latency-ms", "6000")],
        timeout=60,
    )
    deadline = Deadline(20)
    while not api.payments.ListPayments(payment_pb2.ListPaymentsRequest()).payments:
        assert not deadline.expired(), "the payment never started"
        threading.Event().wait(0.02)  # polling an RPC with a deadline: there is nothing to wait on
    server.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()

    def check() -> int:
        status: int = server.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
        return status

    while check() != NOT_SERVING:  # until the process has handled the signal
        assert time.monotonic() - signalled < 10, "health never turned NOT_SERVING"
    refused = expect_error(api.merchants.GetMerchant, merchant_pb2.GetMerchantRequest())
    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAVAILABLE, "SERVER_SHUTTING_DOWN"), refused
    assert refused.retry_delay_seconds is not None
    answered: list[tuple[float, int]] = []
    try:
        while not slow.done():
            answered.append((time.monotonic() - signalled, check()))
    except grpc.RpcError:
        pass  # the payment finished and the process stopped before its answer reached us
    assert {status for _, status in answered} <= {NOT_SERVING}, answered
    # Seconds of NOT_SERVING answers, not a refused call: the payment still had about 5 s to go.
    assert answered and answered[-1][0] > 2.0, answered[-3:]
    try:
        paid = slow.result()
    except grpc.RpcError as error:
        server.proc.wait(GRACE_SECONDS + 5)
        raise AssertionError(f"the payment in flight did not finish: {error}\n{server.output()}") from None
    assert paid.payment.status == payment_pb2.PAYMENT_STATUS_CAPTURED
    assert server.proc.wait(GRACE_SECONDS + 5) == 0, server.output()


# (d) ------------------------------------------------------------------------------------------


def test_second_server_on_the_same_port_fails_fast(server: ServerProcess, target: Target, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_paysim(paysim_env(target, tmp_path / "second"), "serve", "--listen", server.address)
    assert result.returncode == 2, result.stdout + result.stderr
    assert time.monotonic() - started < STARTUP_SECONDS
    assert f"cannot listen on {server.address}" in result.stderr
    assert "Traceback" not in result.stderr
    # The first server is unaffected.
    assert server.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == SERVING


# (e) ------------------------------------------------------------------------------------------


def test_migrate_on_a_fresh_database(target: Target, tmp_path: Path) -> None:
    for fresh in _target(target.backend, tmp_path):
        env = paysim_env(fresh, tmp_path / "data")
        result = run_paysim(env, "migrate")
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("database at revision "), result.stdout
        revision = result.stdout.split()[-1]
        assert revision and revision != "None"
        if not fresh.database_url:
            assert (tmp_path / "data" / "paysim.db").is_file()


def test_admin_create_then_login_as_admin(server: ServerProcess) -> None:
    email = unique_email("admin")
    password = "an admin passphrase"
    env = server.env  # the running server's own database
    created = run_paysim(env, "admin", "create", "--email", email, "--password-stdin", stdin=password + "\n")
    assert created.returncode == 0, created.stdout + created.stderr
    assert created.stdout.startswith(f"created admin {email} in ")

    session = grpcurl_json(
        "-d", json.dumps({"email": email, "password": password}), server.address, "paysim.v1.AuthService/Login"
    )
    assert session["user"]["role"] == "ROLE_ADMIN"
    merchants = grpcurl_json(
        *bearer(session["tokens"]["access_token"]),
        "-d",
        '{"page_size": 1}',
        server.address,
        "paysim.v1.MerchantService/ListMerchants",
    )
    assert isinstance(merchants.get("merchants", []), list)
