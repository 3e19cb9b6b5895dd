"""The command line's pure parts: amounts, tables, enum names, the configuration file."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from paysim_cli import money
from paysim_cli.config import ConfigFile, FileTokenStore, default_path
from paysim_cli.output import enum_choices, enum_label, parse_enum, table, to_json_value
from paysim_cli.progress import Progress
from paysim_client.types import PaymentStatus, TokenPair

from paysim.domain import currency


def test_the_clients_currency_table_is_the_servers() -> None:
    assert money.EXPONENTS is currency.EXPONENTS


@pytest.mark.parametrize(
    ("minor", "code", "text"),
    [
        (1999, "USD", "19.99 USD"),
        (5, "USD", "0.05 USD"),
        (123456789, "EUR", "1,234,567.89 EUR"),
        (1050, "JPY", "1,050 JPY"),
        (1050, "KWD", "1.050 KWD"),
        (-103, "EUR", "-1.03 EUR"),
        (1999, "XYZ", "1,999 XYZ (minor units)"),
    ],
)
def test_amounts_are_shown_with_the_currency_exponent(minor: int, code: str, text: str) -> None:
    assert money.format_minor(minor, code) == text


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("19.99", "USD", 1999),
        ("20", "usd", 2000),
        ("1,234.5", "EUR", 123450),
        ("1050", "JPY", 1050),
        ("1.05", "KWD", 1050),
        ("1_000", "JPY", 1000),
        (" 0.5 ", "EUR", 50),
        (".5", "EUR", 50),
        ("7.", "EUR", 700),
    ],
)
def test_amounts_people_type_are_parsed_exactly(text: str, code: str, minor: int) -> None:
    assert money.parse_amount(text, code) == minor


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("19.999", "USD", "has more decimal places than USD has (2)"),
        ("1.5", "JPY", "has more decimal places than JPY has (0)"),
        ("0", "USD", "is not a positive amount"),
        ("-3", "USD", "is not a positive amount"),
        ("nan", "USD", "is not an amount such as 19.99"),
        ("Infinity", "USD", "is not an amount such as 19.99"),
        ("ten", "USD", "is not an amount such as 19.99"),
        ("1e3", "USD", "is not an amount such as 19.99"),
        ("1E3", "USD", "is not an amount such as 19.99"),
        ("2.5e-1", "USD", "is not an amount such as 19.99"),
        ("0x10", "USD", "is not an amount such as 19.99"),
        ("1.2.3", "USD", "is not an amount such as 19.99"),
        # The server does not know it either: --amount-minor would not help.
        ("10", "xyz", "unknown currency 'XYZ': use an ISO 4217 code such as USD, EUR or JPY"),
    ],
)
def test_amounts_that_are_not_are_refused(text: str, code: str, message: str) -> None:
    with pytest.raises(money.AmountError, match=message.replace("(", r"\(").replace(")", r"\)")):
        money.parse_amount(text, code)


def test_tables_align_columns_and_right_align_amounts() -> None:
    lines = table(["ID", "AMOUNT", "NOTE"], [["a", "1.00 USD", "x"], ["bbbb", "1,000.00 USD", ""]], right=[1])
    assert lines == [
        "ID          AMOUNT  NOTE",
        "a         1.00 USD  x",
        "bbbb  1,000.00 USD",
    ]


def test_enum_names_read_and_parse_without_their_prefix() -> None:
    refunded = PaymentStatus.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert enum_label(PaymentStatus, refunded) == "partially refunded"
    assert "partially-refunded" in enum_choices(PaymentStatus) and "unspecified" not in enum_choices(PaymentStatus)
    for text in ("partially-refunded", "PARTIALLY_REFUNDED", "payment_status_partially_refunded"):
        assert parse_enum(PaymentStatus, text) == refunded
    with pytest.raises(ValueError, match="is not one of"):
        parse_enum(PaymentStatus, "unspecified")


def test_the_configuration_path_follows_the_environment(tmp_path: Path) -> None:
    assert default_path({"PAYSIM_CLI_CONFIG": str(tmp_path / "x.json")}) == tmp_path / "x.json"
    assert default_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "paysim" / "cli.json"


def test_the_token_store_keeps_one_credential_per_target_in_a_private_file(tmp_path: Path) -> None:
    config = ConfigFile(tmp_path / "dir" / "cli.json")
    config.update(lambda data: data.update(targets={"a:1": {"api_key": "sk_test_a"}, "b:2": {"api_key": "sk_b"}}))
    store = FileTokenStore(config, "a:1")
    assert store.load() is None
    pair = TokenPair(access_token="at", refresh_token="rt_1", token_type="Bearer")
    with store.lock(), store.lock():  # re-entrant within the process
        store.save(pair)
    assert store.load() == pair
    saved = json.loads(config.path.read_text())
    assert saved["targets"]["a:1"] == {
        "tokens": {"access_token": "at", "refresh_token": "rt_1", "token_type": "Bearer"}
    }
    assert saved["targets"]["b:2"] == {"api_key": "sk_b"}  # other targets untouched
    assert stat.S_IMODE(config.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.path.parent.stat().st_mode) == 0o700
    store.save(None)
    assert store.load() is None and config.entry("a:1") == {}
    assert [p.name for p in config.path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_the_progress_bar_renders_and_stays_silent_when_disabled() -> None:
    shown = io.StringIO()
    with Progress(4, "payments", enabled=True, stream=shown) as bar:
        for _ in range(4):
            bar.advance()
    assert shown.getvalue().endswith("\rpayments [" + "#" * 30 + "] 4/4 100%\n")
    silent = io.StringIO()
    with Progress(4, "payments", enabled=False, stream=silent) as bar:
        bar.advance(4)
    assert silent.getvalue() == ""


def test_json_documents_nest_messages_in_mappings_and_lists() -> None:
    pair = TokenPair(access_token="at", token_type="Bearer")
    assert to_json_value({"n": 1, "pairs": [pair], "one": pair})["pairs"][0]["access_token"] == "at"
    assert to_json_value(pair)["refresh_token"] == ""  # zero values included
