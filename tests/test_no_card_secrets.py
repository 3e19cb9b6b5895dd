"""The full card number and the CVC never reach storage, events, responses, errors or logs
(README, "Architecture": card numbers are never stored; nor is the CVV, anywhere).

Payments are made with sentinel cards (catalogue cards, a random Luhn-valid Visa and a random
card of unknown brand that nobody else uses) and sentinel CVCs, through every path: approved,
declined, manual then capture / void / refund, idempotent replays and key reuse, and requests that
fail validation. Then everything the server produced is scanned: every row of every table (and on
SQLite the raw database files), Redis, every event, every response, every error with its
trailers, and every log record at DEBUG.

The CVCs are chosen so that a leak is detectable without false alarms: they do not occur in any
amount, BIN or last-4 this test uses, and they are searched for as standalone tokens in
card-related columns and fields, and as quoted or keyed JSON / text-format fragments everywhere.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from paysim_proto.v1 import payment_pb2 as S
from sqlalchemy import inspect, select, table, text
from sqlalchemy.engine import make_url

from paysim.app.logging_setup import JsonFormatter
from paysim.store.database import is_sqlite
from tests.support.client import Stubs, rich_error
from tests.support.factories import MerchantAccount, register_merchant, unique
from tests.support.harness import ServerHandle

THIS_YEAR = datetime.now(UTC).year
CVC3 = "739"  # Visa, Mastercard, the random Visa
CVC_AMEX = "8264"  # American Express
CVC_UNKNOWN = "9271"  # the card of unknown brand (3 or 4 digits accepted)
CVCS = (CVC3, CVC_AMEX, CVC_UNKNOWN)
# Columns and fields where a CVC token would mean the CVC was stored.
CARD_FIELD_RE = re.compile(r"cvc|cvv|card|data_json|state_json|response_blob|json|blob", re.IGNORECASE)


def luhn_complete(partial: str) -> str:
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    return partial + str((10 - total % 10) % 10)


def random_card(prefix: str, length: int) -> str:
    """A Luhn-valid number no other test uses, with no CVC inside it (so a CVC hit is never its digits)."""
    while True:
        pan = luhn_complete(prefix + "".join(secrets.choice("0123456789") for _ in range(length - len(prefix) - 1)))
        if not any(cvc in pan for cvc in CVCS):
            return pan


VISA = "4242424242424242"
AMEX = "378282246310005"
DECLINING = "4000000000009995"  # insufficient_funds
MASTERCARD = "5555555555554444"
RANDOM_VISA = random_card("4", 16)
RANDOM_UNKNOWN = random_card("99", 16)  # no brand claims "99": unknown brand, any CVC of 3 or 4 digits
NOT_LUHN = RANDOM_VISA[:-1] + str((int(RANDOM_VISA[-1]) + 1) % 10)  # rejected, must not be echoed either
TOO_LONG = "".join(secrets.choice("123456789") for _ in range(21))
PANS = (VISA, AMEX, DECLINING, MASTERCARD, RANDOM_VISA, RANDOM_UNKNOWN, NOT_LUHN, TOO_LONG)


def pan_forms(pan: str) -> set[str]:
    """How a number could show up: digits, grouped by spaces or dashes, as the hex of its ASCII."""
    groups = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    return {pan, " ".join(groups), "-".join(groups), pan.encode().hex()}


def card(number: str, cvc: str, *, exp_year: int = THIS_YEAR + 3, holder: str = "Secret Keeper") -> S.CardInput:
    return S.CardInput(number=number, exp_month=11, exp_year=exp_year, cvc=cvc, holder_name=holder)


# --- what the client saw -----------------------------------------------------------------------------


@dataclass
class Seen:
    """Everything the server said to us, as text."""

    texts: list[str] = field(default_factory=list)
    payments: dict[str, tuple[str, S.Payment]] = field(default_factory=dict)  # id -> (pan, latest)

    def response(self, message: Any, trailers: Any = ()) -> None:
        self.texts.append(str(message))
        self.texts.append(repr(message.SerializeToString()))
        self.texts.extend(_stringify(v) for pair in trailers or () for v in pair)

    def error(self, error: grpc.RpcError) -> grpc.StatusCode:
        rich = rich_error(error)
        call: Any = error
        self.texts.append(repr(rich))
        self.texts.append(call.details() or "")
        self.texts.extend(_stringify(v) for pair in call.trailing_metadata() or () for v in pair)
        self.texts.extend(_stringify(v) for pair in call.initial_metadata() or () for v in pair)
        return rich.code


def _stringify(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return raw.decode("utf-8", errors="replace") + " " + raw.hex()
    return str(value)


class Client:
    def __init__(self, stubs: Stubs, seen: Seen) -> None:
        self.stubs = stubs
        self.seen = seen

    def ok(self, method: str, request: Any, *, key: str | None = None) -> Any:
        metadata = [("idempotency-key", key)] if key else []
        response, call = getattr(self.stubs.payments, method).with_call(request, metadata=metadata)
        self.seen.response(response, (*(call.initial_metadata() or ()), *(call.trailing_metadata() or ())))
        return response

    def fails(self, method: str, request: Any, *, key: str | None = None) -> grpc.StatusCode:
        metadata = [("idempotency-key", key)] if key else []
        try:
            getattr(self.stubs.payments, method)(request, metadata=metadata)
        except grpc.RpcError as error:
            return self.seen.error(error)
        raise AssertionError(f"{method} succeeded but was expected to fail")

    def track(self, pan: str, payment: S.Payment) -> None:
        self.seen.payments[payment.id] = (pan, payment)


# --- what the server kept ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    table: str
    column: str
    text: str
    is_text: bool  # a string or bytes value (a sequence number that happens to equal a CVC is not one)
    row: tuple[str, ...]  # every value of the row, as text, to tell whose row it is


async def _database_cells(server: ServerHandle) -> list[Cell]:
    """Every cell of every table."""
    cells: list[Cell] = []
    async with server.app.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert {"payments", "payment_events", "idempotency_keys"} <= set(names), names
        for name in names:
            result = await conn.execute(select(text("*")).select_from(table(name)))
            columns = list(result.keys())
            for row in result:
                as_text = tuple(_stringify(v) for v in row)
                for column, value, value_text in zip(columns, row, as_text, strict=True):
                    is_text = isinstance(value, str | bytes | bytearray | memoryview)
                    cells.append(Cell(name, column, value_text, is_text, as_text))
    return cells


def _sqlite_files(server: ServerHandle) -> Iterator[tuple[str, str]]:
    """The raw bytes of the SQLite database (free pages and WAL included) and the data directory."""
    url = server.settings.effective_database_url
    paths: set[Path] = set()
    if is_sqlite(url) and (database := make_url(url).database):
        base = Path(database)
        paths |= {p for p in (base, Path(f"{base}-wal"), Path(f"{base}-journal")) if p.exists()}
    if server.settings.data_dir.exists():
        paths |= {p for p in server.settings.data_dir.rglob("*") if p.is_file()}
    for path in sorted(paths):
        yield str(path), path.read_bytes().decode("latin-1")


def _redis_texts(url: str) -> Iterator[tuple[str, str]]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            value: Any
            if kind == "string":
                value = client.get(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                value = client.xrange(key)
            else:
                value = ""
            yield _stringify(key), _stringify(value) + repr(value)
    finally:
        client.close()


def _log_texts(records: list[logging.LogRecord]) -> list[tuple[str, bool]]:
    """Each record as plain and JSON text; True for paysim's own records, whose every token is ours
    to explain (SQL debug lines carry sequence numbers that may equal a 3-digit CVC by chance)."""
    plain, structured = logging.Formatter(), JsonFormatter()
    texts = []
    for record in records:
        ours = record.name.startswith("paysim")
        texts.append((plain.format(record), ours))
        texts.append((structured.format(record), ours))
        texts.append((repr(record.args) + repr(getattr(record, "fields", None)), ours))
    return texts


# --- the search ----------------------------------------------------------------------------------


def _cvc_fragments(cvc: str) -> re.Pattern[str]:
    """A CVC as a value: quoted (JSON, protobuf text format, Python repr) or after a cvc/cvv key."""
    return re.compile(
        rf"""["']{cvc}["']|(cvc|cvv|csc|security_code)["']?\s*[:=]\s*["']?{cvc}(?!\d)""",
        re.IGNORECASE,
    )


def _cvc_token(cvc: str) -> re.Pattern[str]:
    """A CVC standing alone, not inside an id, a timestamp's fraction or a longer number."""
    return re.compile(rf"(?<![0-9A-Za-z_.]){cvc}(?![0-9A-Za-z_])")


class Leaks:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.pan_forms = {form: pan for pan in PANS for form in pan_forms(pan)}
        self.fragments = [_cvc_fragments(c) for c in CVCS]
        self.tokens = [_cvc_token(c) for c in CVCS]

    def scan(self, where: str, value: str, *, card_field: bool = False, exact: bool = True) -> None:
        for form, pan in self.pan_forms.items():
            if form in value:
                self.found.append(f"{where}: card number {pan} (as {form!r}) in {_around(value, form)}")
        for pattern in self.fragments:
            if m := pattern.search(value):
                self.found.append(f"{where}: CVC fragment {m.group(0)!r} in {_around(value, m.group(0))}")
        if card_field:
            for pattern in self.tokens:
                if m := pattern.search(value):
                    self.found.append(f"{where}: CVC {m.group(0)!r} in a card field: {_around(value, m.group(0))}")
        for cvc in CVCS if exact else ():
            if value.strip().strip("\"'") == cvc:
                self.found.append(f"{where}: a value that is exactly the CVC {cvc}")


def event_data_json(event: S.PaymentEvent) -> str:
    """The event's data (the message of its type) as JSON."""
    kind = event.WhichOneof("data")
    assert kind is not None, event.type
    return json_format.MessageToJson(getattr(event, kind), preserving_proto_field_name=True)


def _around(value: str, needle: str) -> str:
    at = value.find(needle)
    return repr(value[max(0, at - 60) : at + len(needle) + 60])


# --- the test ------------------------------------------------------------------------------------


@pytest.fixture
def merchant(server: ServerHandle) -> MerchantAccount:
    return register_merchant(server.stubs())


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("paysim", "sqlalchemy", "sqlalchemy.engine", "aiosqlite", "grpc", "asyncio", "redis", "psycopg"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_card_number_or_cvc_is_kept_returned_or_logged(
    server: ServerHandle, merchant: MerchantAccount, all_logs: pytest.LogCaptureFixture
) -> None:
    seen = Seen()
    c = Client(server.stubs(merchant.api_key), seen)

    # Approved, automatic capture, with a key, typed with spaces; then replayed.
    key = unique("secret-create")
    visa_request = S.CreatePaymentRequest(
        amount_minor=12_345, currency_code="USD", card=card("4242 4242 4242 4242", CVC3), description="approved"
    )
    approved = c.ok("CreatePayment", visa_request, key=key).payment
    c.track(VISA, approved)
    assert approved.status == S.PAYMENT_STATUS_CAPTURED
    replay = c.ok("CreatePayment", visa_request, key=key).payment
    assert replay == approved
    # The same key with other parameters (another card) is refused.
    other = S.CreatePaymentRequest(amount_minor=12_345, currency_code="USD", card=card(MASTERCARD, CVC3))
    assert c.fails("CreatePayment", other, key=key) is grpc.StatusCode.FAILED_PRECONDITION
    # The same card typed with dashes, no key: the same fingerprint.
    again = c.ok(
        "CreatePayment", S.CreatePaymentRequest(amount_minor=20_000, card=card("4242-4242-4242-4242", CVC3))
    ).payment
    c.track(VISA, again)
    assert again.card.fingerprint == approved.card.fingerprint

    # Declined by the card.
    declined = c.ok(
        "CreatePayment", S.CreatePaymentRequest(amount_minor=20_000, card=card(DECLINING, CVC3)), key=unique("decl")
    ).payment
    c.track(DECLINING, declined)
    assert declined.status == S.PAYMENT_STATUS_DECLINED and declined.decline.code == "insufficient_funds"
    # Declined by the magic amount, with another card.
    magic = c.ok("CreatePayment", S.CreatePaymentRequest(amount_minor=1_009_995, card=card(MASTERCARD, CVC3))).payment
    c.track(MASTERCARD, magic)
    assert magic.status == S.PAYMENT_STATUS_DECLINED

    # American Express, manual: partial capture, refund, refund the rest, all with keys.
    amex = c.ok(
        "CreatePayment",
        S.CreatePaymentRequest(amount_minor=50_000, card=card(AMEX, CVC_AMEX), capture_method=S.CAPTURE_METHOD_MANUAL),
        key=unique("amex"),
    ).payment
    c.track(AMEX, amex)
    capture_key = unique("cap")
    captured = c.ok("CapturePayment", S.CapturePaymentRequest(payment_id=amex.id, amount_minor=40_000), key=capture_key)
    c.ok("CapturePayment", S.CapturePaymentRequest(payment_id=amex.id, amount_minor=40_000), key=capture_key)
    c.track(AMEX, captured.payment)
    assert c.fails("CapturePayment", S.CapturePaymentRequest(payment_id=amex.id)) is grpc.StatusCode.FAILED_PRECONDITION
    c.ok("RefundPayment", S.RefundPaymentRequest(payment_id=amex.id, amount_minor=5_000), key=unique("ref"))
    refunded = c.ok("RefundPayment", S.RefundPaymentRequest(payment_id=amex.id, reason="all of it"))
    c.track(AMEX, refunded.payment)
    assert refunded.payment.status == S.PAYMENT_STATUS_REFUNDED

    # A random Visa nobody else uses, manual, typed with dashes: voided.
    dashed = "-".join(RANDOM_VISA[i : i + 4] for i in range(0, 16, 4))
    random_visa = c.ok(
        "CreatePayment",
        S.CreatePaymentRequest(amount_minor=30_000, card=card(dashed, CVC3), capture_method=S.CAPTURE_METHOD_MANUAL),
    ).payment
    voided = c.ok("VoidPayment", S.VoidPaymentRequest(payment_id=random_visa.id), key=unique("void"))
    c.track(RANDOM_VISA, voided.payment)
    assert c.fails("RefundPayment", S.RefundPaymentRequest(payment_id=random_visa.id), key=unique("r")) is (
        grpc.StatusCode.FAILED_PRECONDITION
    )

    # A card of unknown brand with a 4-digit CVC, manual: full capture, then a full refund.
    unknown = c.ok(
        "CreatePayment",
        S.CreatePaymentRequest(
            amount_minor=60_000, card=card(RANDOM_UNKNOWN, CVC_UNKNOWN), capture_method=S.CAPTURE_METHOD_MANUAL
        ),
        key=unique("unk"),
    ).payment
    assert unknown.card.brand == "unknown"
    c.ok("CapturePayment", S.CapturePaymentRequest(payment_id=unknown.id))
    c.track(RANDOM_UNKNOWN, c.ok("RefundPayment", S.RefundPaymentRequest(payment_id=unknown.id)).payment)

    # Requests that fail validation, with the sentinels in them.
    invalid = [
        card(RANDOM_VISA, CVC3, exp_year=THIS_YEAR - 1),  # expired
        card(AMEX, CVC3),  # a 3-digit CVC for American Express
        card(VISA, CVC_AMEX),  # a 4-digit CVC for Visa
        card(NOT_LUHN, CVC3),  # fails the Luhn check
        card(TOO_LONG, CVC_UNKNOWN),  # too long
        card(RANDOM_UNKNOWN, "92"),  # too short a CVC
    ]
    for bad in invalid:
        code = c.fails("CreatePayment", S.CreatePaymentRequest(amount_minor=1_000, card=bad), key=unique("bad"))
        assert code is grpc.StatusCode.INVALID_ARGUMENT
    bad_currency = S.CreatePaymentRequest(amount_minor=1_000, currency_code="XXX", card=card(RANDOM_VISA, CVC3))
    assert c.fails("CreatePayment", bad_currency) is grpc.StatusCode.INVALID_ARGUMENT

    # Read everything back: payments, lists, refunds and the events.
    events_json: list[tuple[str, str]] = []
    for payment_id in seen.payments:
        c.ok("GetPayment", S.GetPaymentRequest(payment_id=payment_id))
        c.ok("ListRefunds", S.ListRefundsRequest(payment_id=payment_id))
        page = c.ok("ListPaymentEvents", S.ListPaymentEventsRequest(payment_id=payment_id, page_size=500))
        assert page.events and not page.next_page_token
        events_json.extend((f"event {e.id} ({e.type})", event_data_json(e)) for e in page.events)
    c.ok("ListPayments", S.ListPaymentsRequest(page_size=500))

    # What is kept of each card: BIN, last 4, a fingerprint that is not the number.
    for pan, payment in seen.payments.values():
        assert (payment.card.bin, payment.card.last4) == (pan[:6], pan[-4:])
        assert re.fullmatch(r"[0-9a-f]{32}", payment.card.fingerprint), payment.card.fingerprint
        assert pan not in payment.card.fingerprint and payment.card.fingerprint != pan
    fingerprints = {pan: p.card.fingerprint for pan, p in seen.payments.values()}
    assert len(set(fingerprints.values())) == len(fingerprints), "different cards, different fingerprints"

    # The scan.
    leaks = Leaks()
    for where, value in events_json:
        leaks.scan(where, value, card_field=True)
    for i, value in enumerate(seen.texts):
        leaks.scan(f"rpc answer #{i}", value, card_field=True)
    # Every row is searched for card numbers and quoted or keyed CVCs. Tokens and exact values are
    # searched in this test's rows (and in tables without payments): other tests' amounts, fees and
    # random cards may contain a CVC's digits by chance, this test's are chosen not to.
    ours = {merchant.merchant_id, *seen.payments, random_visa.id, unknown.id}
    cells = server.run(_database_cells(server))
    assert any(cell.table == "payment_events" for cell in cells)
    payment_tables = {cell.table for cell in cells if cell.column in {"merchant_id", "aggregate_id", "payment_id"}}
    for cell in cells:
        mine = bool(ours.intersection(cell.row)) or cell.table not in payment_tables
        leaks.scan(
            f"table {cell.table}.{cell.column}",
            cell.text,
            card_field=mine and bool(CARD_FIELD_RE.search(cell.column)),
            exact=mine and cell.is_text,
        )
    for path, content in _sqlite_files(server):
        leaks.scan(f"file {path}", content)
    if server.settings.redis_url:
        for key_name, value in _redis_texts(server.settings.redis_url):
            leaks.scan(f"redis {key_name}", value, exact=False)  # counters may equal a CVC by chance
    log_texts = _log_texts(all_logs.records)
    assert any("CreatePayment" in t for t, _ in log_texts), "the access log was not captured"
    for i, (value, ours) in enumerate(log_texts):
        leaks.scan(f"log record #{i}", value, card_field=ours)
    assert leaks.found == [], "\n".join(leaks.found[:50])


def test_the_scan_finds_a_planted_card_number_and_cvc() -> None:
    """The search itself is sound: each form of each sentinel is found where a leak would put it."""
    for pan in PANS:
        for form in pan_forms(pan):
            leaks = Leaks()
            leaks.scan("planted", f'{{"card":{{"number":"{form}"}}}}')
            assert leaks.found, form
    for cvc in CVCS:
        for planted, card_field in (
            (f'{{"card":{{"cvc":"{cvc}"}}}}', False),
            (f"card {{ cvc: {cvc} }}", False),
            (f"cvc={cvc}", False),
            (f'{{"security":{cvc}}}', True),
            (cvc, False),
        ):
            leaks = Leaks()
            leaks.scan("planted", planted, card_field=card_field)
            assert leaks.found, planted
    # ...and ordinary server text is not mistaken for one.
    innocent = (
        '{"ts":"2026-01-02T03:04:05.739+00:00","id":"pay_a739b8264c","amount_minor":27391,'
        '"created_at":"2026-01-02T03:04:05.827100+00:00","bin":"424242","last4":"4242"}'
    )
    leaks = Leaks()
    leaks.scan("innocent", innocent, card_field=True)
    assert leaks.found == []
