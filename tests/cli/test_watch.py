"""``paysim watch``: events as they are committed, one line (or JSON document) each, and after a
broken connection it continues from its cursor: nothing missed, nothing twice."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from paysim_client.types import CardInput
from paysim_proto.v1 import payment_pb2

from tests.cli.conftest import PAYSIM, Cli, started
from tests.sdk.conftest import wait_for
from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle
from tests.support.tcp_proxy import TcpProxy

VISA = CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
CAPTURED_PAYMENT = ["payment.created", "payment.authorized", "payment.captured"]


@dataclass
class Running:
    """A ``paysim watch`` process whose output lines are collected as they come."""

    process: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.stdout)]

    def watching(self) -> None:
        wait_for(
            lambda: any(line.startswith("watching payment events") for line in self.stderr) or self.process.poll(),
            what="the stream",
        )
        assert self.process.poll() is None, self.stderr


@contextmanager
def watch(cli: Cli, *args: str, how: str = "in the foreground") -> Iterator[Running]:
    process = subprocess.Popen(
        started([PAYSIM, "watch", *args], how), env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    running = Running(process)

    def pump(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    readers = [
        threading.Thread(target=pump, args=(process.stdout, running.stdout), daemon=True),
        threading.Thread(target=pump, args=(process.stderr, running.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        for reader in readers:
            reader.join(10)
        assert not any("Traceback" in line for line in running.stderr), running.stderr


def _pay(server: ServerHandle, account: MerchantAccount) -> str:
    reply = server.stubs(account.api_key).payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(amount_minor=2500, currency_code="EUR", card=VISA)
    )
    payment_id: str = reply.payment.id
    return payment_id


def test_events_stream_in_as_json_lines(cli: Cli, server: ServerHandle, logged_in: MerchantAccount) -> None:
    with watch(cli, "--json", "--count", "3") as running:
        running.watching()
        payment_id = _pay(server, logged_in)
        assert running.process.wait(30) == 0
        documents = running.documents()
    assert [d["event"]["type"] for d in documents] == CAPTURED_PAYMENT
    assert {d["event"]["payment_id"] for d in documents} == {payment_id}
    seqs = [int(d["seq"]) for d in documents]
    assert seqs == sorted(set(seqs))
    assert (
        running.stderr[-1]
        == f"stopped after sequence {seqs[-1]}: `paysim watch --after {seqs[-1]}` continues from there"
    )


@pytest.mark.parametrize("how", ["in the foreground", "in the background"])
def test_a_person_sees_aligned_lines_and_ctrl_c_ends_the_watch(
    cli: Cli, server: ServerHandle, logged_in: MerchantAccount, how: str
) -> None:
    """Ctrl-C is interrupted (130), as the exit-code table says, also for a watch a shell script
    started in the background (SIGINT ignored), which still says where it stopped."""
    with watch(cli, "--event", "payment.captured", how=how) as running:
        running.watching()
        payment_id = _pay(server, logged_in)
        wait_for(lambda: len(running.stdout) == 2, what="the captured event")
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(30) == 130
    header, line = running.stdout
    assert header.split() == ["SEQUENCE", "TIME", "EVENT", "PAYMENT", "DETAIL"]
    assert line.split()[3:] == ["payment.captured", payment_id, "25.00", "EUR"]
    assert line.index("payment.captured") == header.index("EVENT")
    assert running.stderr[-1].startswith("stopped after sequence ")


def test_replay_from_a_cursor(cli: Cli, server: ServerHandle, logged_in: MerchantAccount) -> None:
    payment_id = _pay(server, logged_in)
    first = cli.json("payments", "events", payment_id)["events"][0]
    after = int(first["sequence"]) - 1
    result = cli("watch", "--after", str(after), "--payment", payment_id, "--count", "3", "--json")
    assert result.code == 0, result.stderr
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["event"]["type"] for d in documents] == CAPTURED_PAYMENT


def test_after_a_broken_connection_it_resumes_from_its_cursor(
    cli: Cli, server: ServerHandle, logged_in: MerchantAccount
) -> None:
    host, port = server.target.rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    proxy.start()
    try:
        through_proxy = ("--target", f"127.0.0.1:{proxy.port}", "--api-key", logged_in.api_key)
        with watch(cli, "--json", "--count", "6", *through_proxy) as running:
            running.watching()
            first = _pay(server, logged_in)
            wait_for(lambda: len(running.stdout) == 3, what="the first payment's events")
            proxy.cut()  # the connection breaks; the second payment happens meanwhile
            second = _pay(server, logged_in)
            proxy.start()
            assert running.process.wait(60) == 0, running.stderr
            documents = running.documents()
    finally:
        proxy.close()
    assert [(d["event"]["payment_id"], d["event"]["type"]) for d in documents] == [
        *((first, t) for t in CAPTURED_PAYMENT),
        *((second, t) for t in CAPTURED_PAYMENT),
    ]
    seqs = [int(d["seq"]) for d in documents]
    assert seqs == sorted(set(seqs))
    assert any(line.startswith("reconnected (1)") for line in running.stderr), running.stderr
