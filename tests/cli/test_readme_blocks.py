"""Every command block of both READMEs is run as written by some test, and the ones after the
grpcurl tour are run here, in order, in one shell whose variables carry over from block to block,
against a real server.

``test_readme.py`` runs the Quick start's first admin, the command line's five-minute path, its
error example, the Python example, the grpcurl tour and the client README's snippets. Blocks that
start a server or the whole suite are run by the tests named in ``RUN_ELSEWHERE``. A block that no
test claims fails ``test_every_block_is_run_by_a_test``.

What a shared test server cannot take literally is swapped, as a reader would: the target, the
first admin's email, and an id the README shows (``pay_012I…``, ``whd_…``) for the newest id of
that kind this run printed. Printed ids, timestamps, hex digests and stream cursors are compared
by their shape only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_client.types import CardInput
from paysim_proto.v1 import merchant_pb2, payment_pb2

from tests.cli.conftest import AdminAccount, Cli, clean_env
from tests.cli.test_readme import _complete, console
from tests.support.backends import Backend
from tests.support.factories import PASSWORD, register_merchant
from tests.support.harness import ServerHandle

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CLIENT_README = (ROOT / "clients" / "python" / "README.md").read_text()
DOCUMENTED_TARGET = "localhost:50051"
DOCUMENTED_ADMIN = "admin@example.test"
RUN_HERE_FROM = "## Gateway configuration"

# Blocks run by another test or by CI, by a line that only that block has.
RUN_ELSEWHERE = {
    "python3 server/dev.py serve    # run the server": "test_readme_blocks.py::test_dev_py_serves and .ci/run",
    "python3 server/dev.py serve          # terminal 1": "test_readme_blocks.py::test_dev_py_serves",
    "$ python3 server/dev.py paysim admin create": "test_readme.py::test_the_first_admin",
    "$ paysim merchants register --name": "test_readme.py::test_the_five_minute_cli_path",
    "$ paysim payments create --amount 25.00": "test_readme.py::test_the_five_minute_cli_path",
    "$ paysim 3ds approve": "test_readme.py::test_the_five_minute_cli_path",
    "$ paysim payments refund pay_": "test_readme.py::test_the_five_minute_cli_path",
    "$ paysim payments list": "test_readme.py::test_the_five_minute_cli_path",
    "PAY=$(paysim payments create": "test_readme.py::test_the_five_minute_cli_path",
    "$ paysim watch\n": "cli/test_watch.py (the same table, Ctrl-C and its resume hint)",
    "$ paysim payments create --amount 5 --card 4242424242424241 --exp 13/20": "test_readme.py::test_the_error_example",
    "$ grpcurl -plaintext localhost:50051 list": "test_readme.py::test_the_grpcurl_tour",
    '$ grpcurl -plaintext -d \'{"name": "Acme Music"': "test_readme.py::test_the_grpcurl_tour",
    "$ TOKEN=$(grpcurl": "test_readme.py::test_the_grpcurl_tour",
    "$ KEY=$(grpcurl": "test_readme.py::test_the_grpcurl_tour",
    "$ grpcurl -plaintext localhost:50051 grpc.health.v1.Health/Check": "test_readme.py::test_the_grpcurl_tour",
    "npm install /path/to/paysim/clients/typescript": "clients/typescript/test/readme.test.ts (npm test)",
    "compare_localstripe.py --concurrency 64": "by hand: it installs localstripe from PyPI (the figures shown)",
    "server/bench/statement_shapes.py --database-url": "test_statement_shapes.py (20 payments a shape)",
    "createdb -h 127.0.0.1 -U postgres paysim": "test_readme_blocks.py::test_serving_from_postgresql",
    "export PAYSIM_TEST_REDIS_URL": ".ci/run (it runs exactly these lines)",
    'psql -h 127.0.0.1 -U postgres -c "create database paysim_bench"': "test_readme_blocks.py::test_the_bench",
    "$ paysim bench-subscriptions": "test_readme_blocks.py::test_the_subscription_bench",
    "$ paysim bench-analytics --payments 1000000": "test_bench_analytics.py (3,000 payments)",
    # The README shows what a damaged database looks like; that test damages one.
    "MISMATCH pay_": "test_payment_recovery.py::test_paysim_verify_command",
    # No Docker engine or cluster runs on CI machines: the image's steps are performed by
    # server/check_image.py (a step of server/dev.py test), the files checked by test_deploy.py.
    "docker build -t paysim .": "server/check_image.py (server/dev.py test)",
    "docker compose -f deploy/compose.yaml up --build": "test_deploy.py::test_the_compose_file_builds_this_image",
    "kubectl apply -f deploy/kubernetes.yaml": "test_deploy.py::test_the_kubernetes_example_probes_and_runs",
    "--tls-cert server.crt --tls-key server.key\n": "test_tls.py::test_the_readme_tls_section",
    "--tls-client-ca ca.crt\n": "test_tls.py::test_the_readme_tls_section",
    "$ grpcurl -cacert ca.crt localhost:50051": "test_tls.py::test_the_readme_tls_section",
    "$ grpcurl -cacert ca.crt -cert client.crt": "test_tls.py::test_the_readme_tls_section",
    ".venv/bin/buf format -w": "server/dev.py test (buf format --diff, buf lint, gen_protos.py --check)",
    "pip install ./proto/python ./clients/python": "clients/python/scripts/check_dist.py",
    "paysim serve --metrics 127.0.0.1:9464 &": "test_observability_readme.py::test_the_metrics_example",
    "OTEL_TRACES_EXPORTER=console paysim serve &": "test_observability_readme.py::test_the_tracing_example",
}


@dataclass(frozen=True)
class Block:
    heading: str
    offset: int
    text: str


def sh_blocks(text: str) -> list[Block]:
    found = []
    for match in re.finditer(r"^```sh\n(.*?)^```$", text, re.M | re.S):
        headings = re.findall(r"^#{2,3} .*$", text[: match.start()], re.M)
        found.append(Block(headings[-1] if headings else "", match.start(), match.group(1)))
    return found


def claimed_by(block: Block) -> str | None:
    claims = [test for line, test in RUN_ELSEWHERE.items() if line in block.text]
    return claims[0] if claims else None


def run_here() -> list[Block]:
    start = README.index(RUN_HERE_FROM)
    return [block for block in sh_blocks(README) if block.offset > start and claimed_by(block) is None]


def test_every_block_is_run_by_a_test() -> None:
    blocks = sh_blocks(README) + sh_blocks(CLIENT_README)
    start = README.index(RUN_HERE_FROM)
    unclaimed = [b for b in sh_blocks(README) if b.offset < start and claimed_by(b) is None]
    assert not unclaimed, f"blocks before {RUN_HERE_FROM!r} that no test runs: {unclaimed}"
    # A stale claim would hide a block that changed: every line claims exactly one block.
    for line in RUN_ELSEWHERE:
        assert sum(line in block.text for block in blocks) == 1, line
    assert len(run_here()) >= 15


# --- one shell, step by step ----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    command: str
    documented: str  # what the README shows under it; empty for a block without `$ ` prompts


def steps_of(block: Block) -> list[Step]:
    lines = block.text.splitlines()
    if not any(line.startswith("$ ") for line in lines):  # commands alone: each one a step
        commands: list[str] = []
        for line in lines:
            if commands and not _complete(commands[-1]):
                commands[-1] += "\n" + line
            elif line.strip() and not line.lstrip().startswith("#"):
                commands.append(line)
        return [Step(command, "") for command in commands]
    return [Step(command, output) for command, output in console(block.text)]


ID = re.compile(r"\b(mer|usr|key|pay|re|cus|evt|whe|whd|chl|rt|sim|pi|pp|rzp|str)_([A-Za-z0-9]{6,}|…)")
SHAPES = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<hex>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r'"(seq|sequence)": "\d+"'), r'"\1": "<n>"'),  # cursors of the whole database
    (re.compile(r"checked \d+ payments \(\d+ from"), "checked <n> payments (<n> from"),  # counts of the whole database
    (re.compile(r"\b(seq|from) \d+\b"), r"\1 <n>"),  # the analytics read model's position of the whole database
    (re.compile(r"\bsk_test_[A-Za-z0-9]+"), "sk_test_…"),
    (re.compile(r"\bwhsec_[A-Za-z0-9_-]+"), "whsec_…"),
]


def shape(text: str) -> str:
    text = ID.sub(lambda m: f"{m.group(1)}_…", text)
    for pattern, replacement in SHAPES:
        text = pattern.sub(replacement, text)
    return text


def _tokens(text: str) -> tuple[set[str], set[str]]:
    keys = set(re.findall(r'"(\w+)"\s*:', text))
    values = {v for v in re.findall(r':\s*"([^"]*)"', text) if ("..." not in v and "…" not in v) or v.endswith("_…")}
    return keys, values


def assert_printed(documented: str, actual: str) -> None:
    """The output has what the README shows: for JSON every key and value it shows, for text
    every line it shows, in order (what the README elides with ``...`` may stand between)."""
    documented, actual = shape(documented), shape(actual.strip())
    if documented.startswith("{"):
        keys, values = _tokens(documented)
        actual_keys, actual_values = _tokens(actual)
        assert keys <= actual_keys, f"keys missing: {keys - actual_keys}\n{actual}"
        assert values <= actual_values, f"values missing: {values - actual_values}\n{actual}"
        return
    shown = [line.strip() for line in documented.splitlines() if line.strip() not in {"", "...", "…"}]
    printed = iter(line.strip() for line in actual.splitlines())
    missing = [line for line in shown if line not in printed]
    assert not missing, f"not printed (in this order): {missing}\n--- printed:\n{actual}"


class Shell:
    """A bash session as a reader keeps one: variables set by one step are there in the next."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        self.state = cwd / "state.sh"
        self.state.write_text("")
        self.printed = ""

    def literal(self, command: str) -> str:
        """The command with the README's example ids swapped for this run's newest of their kind
        (one that nothing printed yet stays: the command then fails as it would for the reader)."""

        def newest(match: re.Match[str]) -> str:
            found = re.findall(rf"\b{match.group(1)}_[A-Za-z0-9]{{6,}}", self.printed)
            return str(found[-1]) if found else match.group(0)

        return ID.sub(newest, command)

    def run(self, command: str, timeout: float = 120, every_line: bool = False) -> subprocess.CompletedProcess[str]:
        """``every_line``: a block of several commands fails with the first that fails."""
        stop_early = "set -e\n" if every_line else ""
        script = f'set -a\nsource "{self.state}"\n{stop_early}{command}\nrc=$?\nexport -p >"{self.state}"\nexit $rc\n'
        done = subprocess.run(
            ["bash", "-c", script], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        self.printed += done.stdout + done.stderr
        return done


@dataclass
class Reader:
    """What the README's reader has at hand after the tour: a merchant's owner token and API key."""

    shell: Shell
    swaps: dict[str, str]
    pay_meanwhile: Callable[[threading.Event], None]

    def step(self, step: Step) -> None:
        command = step.command
        for documented, actual in self.swaps.items():
            command = command.replace(documented, actual)
        command = self.shell.literal(command)
        if "SubscribePaymentEvents" in command:
            done = self.stream(command)
        else:
            done = self.shell.run(command, every_line=not step.documented)
        if re.search(r"^ERROR:$", step.documented, re.M):  # grpcurl's error, on stderr after what -v printed
            assert done.returncode != 0, f"{command}\nexpected an error, printed:\n{done.stdout}"
            assert_printed(step.documented, done.stdout + done.stderr)
            return
        assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        if step.documented:
            assert_printed(step.documented, done.stdout)

    def stream(self, command: str) -> subprocess.CompletedProcess[str]:
        """A stream runs until the reader stops it: once it is open (its first message), payments
        are made until the first one's ``payment.created`` arrived."""
        output = self.shell.cwd / "stream.out"
        stop = threading.Event()
        payer = threading.Thread(target=self.pay_meanwhile, args=(stop,), daemon=True)

        def printed(text: str, process: subprocess.Popen[str]) -> bool:
            deadline = time.monotonic() + 60
            while text not in output.read_text() and process.poll() is None and time.monotonic() < deadline:
                stop.wait(0.05)
            return text in output.read_text()

        with output.open("w") as sink:
            process = subprocess.Popen(
                ["bash", "-c", f'set -a\nsource "{self.shell.state}"\nexec {command}'],
                cwd=self.shell.cwd,
                env=self.shell.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                if printed('"heartbeat"', process):  # open: what commits from now on reaches it
                    payer.start()
                    printed('"payment_created"', process)
            finally:
                stop.set()
                process.terminate()
                process.wait(10)
                if payer.is_alive():
                    payer.join(30)
        text = output.read_text()
        self.shell.printed += text
        assert '"payment_created"' in text, text
        return subprocess.CompletedProcess(command, 0, text, "")


def _shell_env(cli: Cli) -> dict[str, str]:
    """As after ``source .venv/bin/activate``: the venv's tools first on the PATH."""
    return {**cli.env, "PATH": os.pathsep.join([str(Path(sys.executable).parent), cli.env.get("PATH", "")])}


def test_every_block_after_the_tour_runs_in_order(
    cli: Cli, server: ServerHandle, backend: Backend, admin_account: AdminAccount, tmp_path: Path
) -> None:
    account = register_merchant(server.stubs())
    key = server.stubs(account.access_token).merchants.CreateApiKey(
        merchant_pb2.CreateApiKeyRequest(name="local tests")
    )
    env = {
        **_shell_env(cli),
        "TOKEN": account.access_token,
        "KEY": key.secret,
        "ADMIN_PASSWORD": admin_account.password,
        # `paysim verify` and friends read the server's database, as beside `dev.py serve`.
        "PAYSIM_DATA_DIR": str(server.app.settings.data_dir),
    }
    if backend.database_url:
        env["PAYSIM_DATABASE_URL"] = backend.database_url

    def pay_meanwhile(stop: threading.Event) -> None:
        stubs = server.stubs(key.secret)
        card = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")
        while not stop.is_set():
            stubs.payments.CreatePayment(
                payment_pb2.CreatePaymentRequest(amount_minor=1999, currency_code="USD", card=card)
            )
            stop.wait(0.3)

    reader = Reader(
        Shell(tmp_path, env),
        {DOCUMENTED_TARGET: server.target, DOCUMENTED_ADMIN: admin_account.email},
        pay_meanwhile,
    )
    assert account.password == PASSWORD
    for block in run_here():
        for step in steps_of(block):
            try:
                reader.step(step)
            except AssertionError as failure:
                raise AssertionError(f"README block under {block.heading!r}:\n{step.command}\n{failure}") from None


def test_outputs_are_compared_by_shape() -> None:
    assert_printed('{\n  "id": "pay_012ITWQhDYDKCqcOspAKjI",\n  ...\n}', json.dumps({"id": "pay_Zz9yX8wV7uT6sR5qP4"}))
    with pytest.raises(AssertionError):
        assert_printed('{\n  "status": "PAYMENT_STATUS_CAPTURED"\n}', '{"status": "PAYMENT_STATUS_AUTHORIZED"}')
    with pytest.raises(AssertionError):
        assert_printed("ERROR:\n  Code: NotFound\n", "ERROR:\n  Code: InvalidArgument\n")


# --- blocks that start a server ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_serving(process: subprocess.Popen[bytes], address: str, log: Path, seconds: float = 120) -> None:
    """Until the health check answers SERVING (the process must not exit meanwhile)."""
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            assert process.poll() is None, f"exited {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"not SERVING within {seconds}s:\n{log.read_text()}"
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1, wait_for_ready=True)
            except grpc.RpcError:
                continue
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return


def _stop(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C, as the README says to stop it."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        raise


def _dev_venv_is_this_one() -> bool:
    dev = _dev_module()
    installed = dev.STAMP.exists() and dev.STAMP.read_text().strip() == dev._install_hash()
    return bool(Path(sys.prefix).resolve() == dev.VENV.resolve() and installed)


def _dev_module() -> Any:
    spec = importlib.util.spec_from_file_location("paysim_dev", ROOT / "server" / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_py_serves(tmp_path: Path) -> None:
    (block,) = [b for b in sh_blocks(README) if "python3 server/dev.py serve    # run the server" in b.text]
    command = block.text.splitlines()[0].split("#")[0].split()
    assert command == ["python3", "server/dev.py", "serve"]
    if not _dev_venv_is_this_one():
        pytest.skip("dev.py would (re)install its venv first: this suite runs from another or a stale one")
    address = f"127.0.0.1:{_free_port()}"  # beside whatever serves the default port on this machine
    dashboard = f"127.0.0.1:{_free_port()}"  # likewise for the dashboard's 127.0.0.1:8080
    log = tmp_path / "serve.log"
    env = clean_env(PAYSIM_DATA_DIR=str(tmp_path / "data"), PAYSIM_BCRYPT_ROUNDS="4")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / command[1]), *command[2:], "--listen", address, "--http", dashboard],
            cwd=tmp_path,  # "they work from any directory"
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_serving(process, address, log)
            # The dashboard, built by dev.py before serving, is on the HTTP port.
            page = httpx.get(f"http://{dashboard}/", timeout=10)
        finally:
            code = _stop(process)
    assert code == 0, log.read_text()
    assert (tmp_path / "data" / "paysim.db").exists()
    assert page.status_code == 200, page.text
    assert '<script type="module"' in page.text and "default-src 'self'" in page.headers["content-security-policy"]


def _postgres_only(backend: Backend) -> str:
    if not backend.database_url.startswith("postgresql"):
        pytest.skip("the README's block is for PostgreSQL")
    return backend.database_url


def _psql(database_url: str, sql: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(sql)  # type: ignore[call-overload]  # fixed statements of this test


def test_serving_from_postgresql(backend: Backend, tmp_path: Path) -> None:
    url = _postgres_only(backend)
    (block,) = [b for b in sh_blocks(README) if "createdb -h 127.0.0.1 -U postgres paysim" in b.text]
    lines = block.text.strip().splitlines()
    assert lines[0] == "createdb -h 127.0.0.1 -U postgres paysim" and lines[-1] == "paysim serve"
    database = f"paysim_readme_{secrets.token_hex(4)}"  # not the reader's own `paysim` database
    server_url = url.rsplit("/", 1)[0]
    _psql(f"{server_url}/postgres", f'CREATE DATABASE "{database}"')
    try:
        exports = "\n".join(line.replace("/paysim", f"/{database}") for line in lines[1:-1])
        address = f"127.0.0.1:{_free_port()}"
        log = tmp_path / "serve.log"
        env = clean_env(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
        env["PAYSIM_LISTEN"] = address
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "-c", f"{exports}\nexec paysim serve"],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_serving(process, address, log)
            finally:
                code = _stop(process)
        assert code == 0, log.read_text()
        assert not (tmp_path / ".paysim" / "paysim.db").exists()  # the database was PostgreSQL's
    finally:
        _psql(f"{server_url}/postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_the_bench(backend: Backend, tmp_path: Path) -> None:
    """The bench example line by line, with a database of its own, a free port and one second per
    scenario instead of ten."""
    url = _postgres_only(backend)
    (block,) = [b for b in sh_blocks(README) if "create database paysim_bench" in b.text]
    lines = [line.split("  #")[0].strip() for line in block.text.splitlines() if not line.startswith("#")]
    assert [line.split()[:2] for line in lines] == [
        ["psql", "-h"],
        ["paysim", "serve"],
        ["paysim", "bench"],
        ["paysim", "verify"],
        ["psql", "-h"],
    ]
    database = f"paysim_bench_{secrets.token_hex(4)}"
    server_url = url.rsplit("/", 1)[0]
    address = f"127.0.0.1:{_free_port()}"

    def literal(line: str) -> list[str]:
        line = line.replace("paysim_bench", database).replace("127.0.0.1:50051", address)
        line = line.replace("--duration 10", "--duration 1 --warmup 0.2")
        return shlex.split(line)

    env = clean_env(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    _psql(f"{server_url}/postgres", f'CREATE DATABASE "{database}"')  # lines[0], through psycopg
    log = tmp_path / "serve.log"
    try:
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*shlex.split(lines[1].replace("paysim_bench", database)), "--listen", address],
                cwd=tmp_path,
                env={**env, "PAYSIM_DATA_DIR": str(tmp_path / "data"), "PAYSIM_BCRYPT_ROUNDS": "4"},
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_serving(process, address, log)
                bench = subprocess.run(
                    literal(lines[2]), env=env, capture_output=True, text=True, timeout=300, check=False
                )
                assert bench.returncode == 0, bench.stdout + bench.stderr
                table = bench.stdout.splitlines()
                assert any(line.split()[:1] == ["create_auto_capture"] for line in table), bench.stdout
                assert re.search(r"^create\+capture / health ceiling = \d\.\d{3}$", bench.stdout, re.M)
                verify = subprocess.run(
                    shlex.split(lines[3].replace("paysim_bench", database)),
                    env={**env, "PAYSIM_DATA_DIR": str(tmp_path / "data")},
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                assert verify.returncode == 0, verify.stdout + verify.stderr
                assert "all projections match their events" in verify.stdout
            finally:
                code = _stop(process)
        assert code == 0, log.read_text()
    finally:
        _psql(f"{server_url}/postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # lines[4]


def test_the_subscription_bench(server: ServerHandle) -> None:
    """The example against this suite's server, with 40 subscribers and 5 events instead of the
    default 1000 and 200."""
    (block,) = [b for b in sh_blocks(README) if "$ paysim bench-subscriptions" in b.text]
    (step,) = steps_of(block)
    argv = shlex.split(step.command.replace("127.0.0.1:50051", server.target))
    assert argv == ["paysim", "bench-subscriptions", "--target", server.target]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("paysim")), *argv[1:], "--subscribers", "40", "--events", "5"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    documented = step.documented.replace("1000 subscribers, 200 events, 200", "40 subscribers, 5 events, 5")
    documented = documented.replace("1000 streams", "40 streams")

    def measured(line: str) -> str:
        return " ".join(re.sub(r"[\d.]+ ?(ms|s|messages/s)\b", r"<n> \1", line).split())

    printed = iter(measured(line) for line in done.stdout.splitlines())
    shown = [measured(line) for line in documented.splitlines() if line.strip() not in {"...", ""}]
    missing = [line for line in shown if line not in printed]
    assert not missing, f"{missing}\n{done.stdout}"
