"""Both READMEs run as written, in order, against a real server: the command line's five-minute
path, its script and its error example, the first admin through ``server/dev.py``, the Python
example, the grpcurl tour, and every snippet of ``clients/python/README.md``.

Only what a shared test server cannot take literally is swapped for this run's: the target
(``localhost:50051``), merchant names and emails (which must be unique), and ids and secrets the
server printed earlier. Every other block, and which test runs it, is in ``test_readme_blocks.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from paysim_client.types import CardInput
from paysim_proto.v1 import payment_pb2

from tests.cli.conftest import Cli, clean_env
from tests.support.factories import register_merchant, unique, unique_email
from tests.support.harness import ServerHandle

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CLIENT_README = (ROOT / "clients" / "python" / "README.md").read_text()
DOCUMENTED_TARGET = "localhost:50051"
# Ids and secrets as paysim prints them: compared by their prefix only.
PRINTED_ID = re.compile(r"\b(mer|usr|key|pay|re|cus|evt|whe|whd|chl|rt|sk_test)_[A-Za-z0-9]{6,}")


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


def _password() -> str:
    found = re.search(r"this guide uses `([^`]+)`", README)
    assert found, "the command-line section states the password it uses"
    return found.group(1)


PASSWORD = _password()


def _normalized(text: str) -> str:
    return PRINTED_ID.sub(lambda m: f"{m.group(1)}_…", text)


# --- console blocks: `$ command` lines and what they print ---------------------------------------


def _complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:  # a quotation still open: the command goes on on the next line
        return False
    return True


def console(block: str) -> list[tuple[str, str]]:
    """The ``$ `` commands of a console block, each with the output documented under it."""
    lines = block.splitlines()
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        command = lines[i][2:]
        while not _complete(command):
            i += 1
            command += "\n" + lines[i]
        i += 1
        output: list[str] = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        found.append((command, "\n".join(output).strip()))
    return found


def run_shell(commands: list[str], cwd: Path, env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Run ``commands`` one after another in one bash (variables carry over, as in a terminal);
    each one's exit code, stdout and stderr."""
    script = ["set -u"]
    for n, command in enumerate(commands):
        script.append(f"{{ {command}\n}} >{n}.out 2>{n}.err; echo $? >{n}.rc")
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, timeout=300, check=True)
    return [
        (int((cwd / f"{n}.rc").read_text()), (cwd / f"{n}.out").read_text(), (cwd / f"{n}.err").read_text())
        for n in range(len(commands))
    ]


def _tokens(text: str) -> tuple[set[str], set[str]]:
    """The JSON keys and the string values of some grpcurl output, ids reduced to their prefix;
    values the docs elide (``...``, ``…``) are left out."""
    keys = set(re.findall(r'"(\w+)"\s*:', text))
    values = {_normalized(v) for v in re.findall(r':\s*"([^"]*)"', text) if "..." not in v and "…" not in v}
    return keys, values


def assert_printed(documented: str, actual: str) -> None:
    """The command printed what the README shows: exactly, or where the README elides (``...``),
    every line it shows (text) or every key and value it shows (JSON)."""
    actual = actual.strip()
    if "..." not in documented and "…" not in documented:
        if documented.startswith("{"):
            assert json.loads(_normalized(actual)) == json.loads(_normalized(documented))
        else:
            assert _normalized(actual) == _normalized(documented)
    elif documented.startswith("{"):
        keys, values = _tokens(documented)
        actual_keys, actual_values = _tokens(actual)
        assert keys <= actual_keys, f"keys missing: {keys - actual_keys}\n{actual}"
        assert values <= actual_values, f"values missing: {values - actual_values}\n{actual}"
    else:
        shown = [line for line in documented.splitlines() if line.strip() not in {"...", "…"}]
        printed = iter(actual.splitlines())
        # Every line shown, in the order shown; what the README elides may stand between them.
        assert all(line in printed for line in shown), actual


def _shell_env(cli: Cli) -> dict[str, str]:
    """As after ``source .venv/bin/activate``: the venv's tools first on the PATH."""
    return {**cli.env, "PATH": os.pathsep.join([str(Path(sys.executable).parent), cli.env.get("PATH", "")])}


# --- Quick start: the first admin, through server/dev.py ----------------------------------------


def _dev_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("paysim_dev", ROOT / "server" / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_py_runs_paysim_commands_on_the_repositorys_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = _dev_module()
    monkeypatch.delenv("PAYSIM_DATA_DIR", raising=False)
    assert dev.paysim_env()["PAYSIM_DATA_DIR"] == str(ROOT / ".paysim")
    monkeypatch.setenv("PAYSIM_DATA_DIR", "/elsewhere")
    assert dev.paysim_env()["PAYSIM_DATA_DIR"] == "/elsewhere"


def test_the_first_admin(tmp_path: Path) -> None:
    dev = _dev_module()
    installed = dev.STAMP.exists() and dev.STAMP.read_text().strip() == dev._install_hash()
    if Path(sys.prefix).resolve() != dev.VENV.resolve() or not installed:
        pytest.skip("dev.py would (re)install its venv first: this suite runs from another or a stale one")
    ((command, documented),) = console(_blocks(_section(README, "### The first admin", "## The command line"), "sh")[0])
    assert command == "python3 server/dev.py paysim admin create --email admin@example.test"
    argv = [sys.executable, *shlex.split(command)[1:], "--password-stdin"]  # no terminal here
    data = tmp_path / "data"  # not the repository's own .paysim: dev.py keeps a PAYSIM_DATA_DIR given
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=clean_env(PAYSIM_DATA_DIR=str(data), PAYSIM_BCRYPT_ROUNDS="4"),
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shown = documented.splitlines()[-1]
    assert shown.startswith("created admin admin@example.test in the SQLite database ")
    assert done.stdout == f"created admin admin@example.test in the SQLite database {data.resolve() / 'paysim.db'}\n"


# --- The command line -----------------------------------------------------------------------------


def test_the_five_minute_cli_path(cli: Cli, server: ServerHandle, tmp_path: Path) -> None:
    path = _section(README, "### From nothing to a refunded 3-D Secure payment", "### The same in Python")
    commands = [shlex.split(line[2:]) for line in path.splitlines() if line.startswith("$ paysim ")]
    assert [c[1:3] for c in commands] == [
        ["merchants", "register"],
        ["payments", "create"],
        ["3ds", "approve"],
        ["payments", "refund"],
        ["payments", "refund"],
        ["payments", "list"],
    ]
    documented_id = commands[2][3]
    email, name = unique_email("owner"), unique("Acme Books")
    payment_id = ""
    for argv in commands:
        argv = [payment_id if a == documented_id else a for a in argv[1:]]
        argv = [email if a == "owner@acme.test" else name if a == "Acme Books" else a for a in argv]
        if argv[:2] == ["merchants", "register"]:  # no terminal here: the password comes on stdin
            argv += ["--target", server.target, "--password-stdin"]
        out = cli.ok(*argv, input=PASSWORD + "\n").stdout
        if argv[:2] == ["payments", "create"]:
            payment_id = re.search(r"^payment\s+(pay_\w+)", out, re.M).group(1)  # type: ignore[union-attr]
            assert f"paysim 3ds approve {payment_id}" in out
    assert out.splitlines()[1].split()[:4] == [payment_id, "refunded", "25.00", "EUR"]

    # Then the same in a script, with --json and jq: each line prints what its comment says.
    script = _blocks(path, "sh")[-1]
    assert script.startswith("PAY=$(paysim payments create")
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (the README says it is only for the example)")
    lines = script.strip().splitlines()
    results = run_shell([line.split("#")[0] for line in lines], tmp_path, _shell_env(cli))
    for line, (code, stdout, stderr) in zip(lines, results, strict=True):
        assert code == 0, f"{line}: {stderr}"
        if "#" in line:
            assert stdout.strip() == line.split("#")[1].strip()


def test_the_error_example(cli: Cli, server: ServerHandle) -> None:
    account = register_merchant(server.stubs())
    cli.ok("login", "--target", server.target, "--api-key", account.api_key)
    errors = _section(README, "**Errors** are one line on stderr", "| exit code | meaning |")
    ((command, documented),) = console(_blocks(errors, "sh")[0])
    result = cli(*shlex.split(command)[1:])
    assert result.code == 1
    mask = re.compile(r"request id [0-9a-f]{32}")
    assert mask.sub("request id …", result.stderr.strip()) == mask.sub("request id …", documented)


def test_the_same_in_python(server: ServerHandle) -> None:
    python = _section(README, "### The same in Python", "### Commands")
    (code,) = _blocks(python, "python")
    account = register_merchant(server.stubs())
    assert f'password="{PASSWORD}"' in code and account.password == PASSWORD
    code = code.replace(f'"{DOCUMENTED_TARGET}"', repr(server.target)).replace('"owner@acme.test"', repr(account.email))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"pay_\w+ PAYMENT_STATUS_REFUNDED\n", result.stdout)


# --- A tour with grpcurl --------------------------------------------------------------------------


def test_the_grpcurl_tour(cli: Cli, server: ServerHandle, tmp_path: Path) -> None:
    tour = _section(README, "## A tour with grpcurl", "## Gateway configuration")
    steps = [step for block in _blocks(tour, "sh") for step in console(block)]
    assert len(steps) >= 12
    swaps = {
        DOCUMENTED_TARGET: server.target,
        "owner@acme-music.test": unique_email("owner-music"),
        "Acme Music": unique("Acme Music"),
    }

    def swapped(text: str) -> str:
        for documented, actual in swaps.items():
            text = text.replace(documented, actual)
        return text

    assert all("Acme Books" not in command for command, _ in steps), "the command line registered it already"
    results = run_shell([swapped(command) for command, _ in steps], tmp_path, _shell_env(cli))
    for (command, documented), (code, stdout, stderr) in zip(steps, results, strict=True):
        assert code == 0, f"{command}\n{stderr}"
        if documented:
            assert_printed(swapped(documented), stdout)


# --- clients/python/README.md ---------------------------------------------------------------------

# What the snippets of the client README may take as given: a connected `client` (an AsyncClient
# inside the `async def` that a snippet with `await` runs in), and the reader's own code they
# call. Everything else, imports included, must be in the snippets themselves.
HARNESS = '''
import asyncio
import datetime
import threading
import time

import paysim_client
from paysim_client.types import CardInput

TARGET, API_KEY, payment_id = {target!r}, {api_key!r}, {payment_id!r}


class Done(Exception):
    """Raised by the reader's handle(event) or save_cursor(cursor): one event shows the watcher works."""


since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
saved = ""
tokens, cursors, handled = [], [], []


def save(token):
    tokens.append(token)


def save_cursor(cursor):
    cursors.append(cursor)
    raise Done  # a cursor saved after an event shows the watcher works


def load_cursor():
    return 0


def handle(event):
    handled.append(event)
    raise Done


client = paysim_client.Client.connect(TARGET, api_key=API_KEY)


def paying_meanwhile(run):
    """Run a snippet while payments are made, so that a watcher opened "from now" sees events."""
    stop = threading.Event()

    def pay():
        card = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")
        with paysim_client.Client.connect(TARGET, api_key=API_KEY) as payer:
            while not stop.is_set():
                payer.payments.create(amount_minor=500, card=card)
                stop.wait(0.2)

    payer = threading.Thread(target=pay, daemon=True)
    payer.start()
    try:
        run()
    except Done:
        pass
    finally:
        stop.set()
        payer.join(30)


async def in_async_client(fragment):
    async with paysim_client.connect(TARGET, api_key=API_KEY) as async_client:
        await fragment(async_client)
'''


def _watching(code: str, statement: str) -> str:
    """``statement``, with payments made meanwhile if the snippet watches them."""
    return f"paying_meanwhile(lambda: {statement})" if ".watch(" in code else statement


def _program(snippets: list[str], target: str, api_key: str, payment_id: str, email: str) -> str:
    parts = [HARNESS.format(target=target, api_key=api_key, payment_id=payment_id)]
    for n, snippet in enumerate(snippets):
        code = snippet.replace(f'"{DOCUMENTED_TARGET}"', repr(target)).replace('"sk_test_…"', repr(api_key))
        code = code.replace('"owner@acme.test"', repr(email))
        if ".connect(" in code or "insecure_channel(" in code:  # a program of its own: own names, own client
            parts.append(f"exec(compile({code!r}, 'snippet {n}', 'exec'), {{'__name__': '__main__'}})")
        elif re.search(r"^\s*(await |async (for|with) )", code, re.M):
            parts.append("async def fragment(client):\n" + textwrap.indent(code, "    "))
            parts.append(_watching(code, "asyncio.run(in_async_client(fragment))"))
        else:
            parts.append(_watching(code, f"exec(compile({code!r}, 'snippet {n}', 'exec'), globals())"))
        parts.append(f"print('snippet {n} ran')")
    parts.append(
        textwrap.dedent(
            """
            assert len(handled) + len(cursors) == 2, (handled, cursors)  # both watchers saw an event
            body = b'{"id": "evt_1"}'
            header = webhooks.sign(body, secret, int(time.time()))
            assert handle(body, {"Paysim-Signature": header}) == 204
            assert handle(body + b" ", {"Paysim-Signature": header}) == 400
            client.close()
            print("checked")
            """
        )
    )
    return "\n".join(parts)


def test_every_snippet_of_the_client_readme(server: ServerHandle, tmp_path: Path) -> None:
    snippets = _blocks(CLIENT_README, "python")
    assert len(snippets) == 9
    account = register_merchant(server.stubs())
    stubs = server.stubs(account.api_key)
    card = CardInput(number="4242424242424242", exp_month=12, exp_year=2030, cvc="123")
    paid = stubs.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(amount_minor=1999, currency_code="USD", card=card)
    )
    program = _program(snippets, server.target, account.api_key, paid.payment.id, account.email)
    (tmp_path / "snippets.py").write_text(program)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "snippets.py")], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("snippet ")] == [f"snippet {n} ran" for n in range(9)]
    assert "only 1999 left" in lines  # the errors snippet refunded more than the payment
    assert lines[-1] == "checked"
