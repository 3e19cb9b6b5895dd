"""Failures read as one line with the reason and the request id, then the bad fields; exit 1 for a
refusal, 2 for a wrong command line, 3 when the server cannot be reached; never a traceback."""

from __future__ import annotations

import re
import signal
import socket
import subprocess

import pytest
from paysim_client.types import PaymentStatus
from paysim_proto.v1 import payment_pb2

from tests.cli.conftest import PAYSIM, Cli, at_a_terminal_prompt, started
from tests.sdk.conftest import wait_for
from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle

REQUEST_ID = re.compile(r"request id [0-9a-f]{32}\)$")


def test_bad_fields_are_listed_under_one_line(cli: Cli, logged_in: MerchantAccount) -> None:
    result = cli("payments", "create", "--amount", "5", "--card", "4242424242424241", "--exp", "13/20", "--json")
    assert result.code == 1
    assert result.stdout == ""  # --json or not, errors go to stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: invalid request (reason INVALID_ARGUMENT, request id ")
    assert REQUEST_ID.search(lines[0])
    assert lines[1:] == [
        "  card.number: is incorrect: it fails the Luhn checksum [INCORRECT_NUMBER]",
        "  card.exp_month: must be a month from 1 to 12 [INVALID_EXPIRY_MONTH]",
        "  card.exp_year: is in the past: the card has expired [INVALID_EXPIRY_YEAR]",
    ]
    assert "4242424242424241" not in result.stderr


def test_refusals_name_the_reason_and_the_request_id(cli: Cli, logged_in: MerchantAccount) -> None:
    missing = cli("payments", "get", "pay_doesnotexist0000000000")
    assert missing.code == 1
    assert missing.stderr.startswith(
        "error: payment 'pay_doesnotexist0000000000' not found (reason PAYMENT_NOT_FOUND, "
    )
    assert REQUEST_ID.search(missing.stderr.strip())

    paid = cli.json("payments", "create", "--amount", "5", "--card", "4242424242424242")
    too_much = cli("payments", "refund", paid["id"], "--amount", "6")
    assert too_much.code == 1
    assert "(reason AMOUNT_EXCEEDS_REFUNDABLE, request id " in too_much.stderr
    again = cli("payments", "capture", paid["id"])
    assert again.code == 1 and "(reason PAYMENT_NOT_CAPTURABLE, request id " in again.stderr


def test_a_wrong_command_line_exits_2(cli: Cli, logged_in: MerchantAccount) -> None:
    no_method = cli("payments", "create", "--amount", "5")
    assert no_method.code == 2 and "one of the arguments --card --upi --paypal is required" in no_method.stderr
    bad_amount = cli("payments", "create", "--amount", "five", "--card", "4242424242424242")
    assert (bad_amount.code, bad_amount.stderr) == (2, "error: 'five' is not an amount such as 19.99\n")
    bad_pair = cli("customers", "create", "--metadata", "novalue")
    assert (bad_pair.code, bad_pair.stderr) == (2, "error: --metadata takes KEY=VALUE, not 'novalue'\n")
    bad_outcome = cli("simulator", "script", "stripe", "explode")
    assert bad_outcome.code == 2
    assert bad_outcome.stderr.startswith("error: unknown scripted outcome 'explode'")
    assert cli("payments").code == 2
    assert cli("no-such-command").code == 2


def test_an_exponent_is_not_an_amount(cli: Cli, logged_in: MerchantAccount) -> None:
    for amount in ("1e3", "1E3", "nan", "Infinity"):
        refused = cli("payments", "create", "--amount", amount, "--card", "4242424242424242")
        assert (refused.code, refused.stderr) == (2, f"error: {amount!r} is not an amount such as 19.99\n")
    unknown = cli("payments", "create", "--amount", "10", "--currency", "XYZ", "--card", "4242424242424242")
    assert (unknown.code, unknown.stderr) == (
        2,
        "error: unknown currency 'XYZ': use an ISO 4217 code such as USD, EUR or JPY\n",
    )


def test_a_payment_method_without_its_gateway_says_which_gateway_to_add(cli: Cli, logged_in: MerchantAccount) -> None:
    methods = (("--upi", "success@razorpay", "razorpay"), ("--paypal", "buyer@example.test", "paypal"))
    for option, value, gateway in methods:
        refused = cli("payments", "create", "--amount", "500", "--currency", "INR", option, value)
        assert refused.code == 1
        assert "(reason PAYMENT_METHOD_NOT_AVAILABLE, request id " in refused.stderr
        assert refused.stderr.splitlines()[-1] == (
            f"  add a gateway that takes it, e.g. `paysim gateways set {gateway} --priority 1`"
        )


def test_ctrl_d_at_a_password_prompt_is_no_password(cli: Cli, server: ServerHandle) -> None:
    result = at_a_terminal_prompt(
        [PAYSIM, "login", "--target", server.target, "--email", "someone@example.test"],
        cli.env,
        "Password for someone@example.test: ",
        b"\x04",
    )
    assert result.code == 2
    assert result.stderr.splitlines()[-1] == "error: no password given (the input ended)"
    assert not cli.config.exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_unreachable_server_exits_3(cli: Cli) -> None:
    target = f"127.0.0.1:{_closed_port()}"
    result = cli("payments", "list", "--target", target, "--api-key", "sk_test_whatever", "--timeout", "5")
    assert result.code == 3
    assert result.stderr.startswith(f"error: cannot reach the paysim server at {target}: ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("how", ["in the foreground", "in the background"])
def test_ctrl_c_stops_a_command_without_a_traceback(
    cli: Cli, server: ServerHandle, logged_in: MerchantAccount, how: str
) -> None:
    """Also when a shell script started it in the background, where SIGINT comes ignored."""
    stubs = server.stubs(logged_in.api_key)
    process = subprocess.Popen(
        started(
            [PAYSIM, "payments", "create", "--amount", "5", "--card", "4242424242424242", "--latency-ms", "2000"], how
        ),
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def processing() -> int:
        request = payment_pb2.ListPaymentsRequest(statuses=[PaymentStatus.PAYMENT_STATUS_PROCESSING])
        return len(stubs.payments.ListPayments(request).payments)

    try:
        # Interrupt once the payment is at the gateway, waiting on its simulated latency.
        wait_for(lambda: processing() == 1, what="the payment at the gateway")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert stdout == ""
    assert stderr == "interrupted\n"
    # The server finishes the payment on its own (and nothing is left running at shutdown).
    wait_for(lambda: processing() == 0, what="the payment finished")
