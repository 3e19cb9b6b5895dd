"""EventService.SubscribePaymentEvents through a real server: live delivery, filters and who sees
what, cursors and resumption under concurrent writes, limits, heartbeats, slow subscribers,
cancellation and shutdown. On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from paysim_proto.v1 import events_pb2, payment_pb2

from tests.support.backends import Backend
from tests.support.client import Stubs, rich_error
from tests.support.factories import MerchantAccount, create_customer, register_customer_user, register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import EventStream, wait_for

E = events_pb2
NOW = E.STREAM_START_NOW
AFTER = E.STREAM_START_AFTER_SEQ
CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2035, cvc="123", holder_name="Ann")
# payment.created (its own commit), then payment.authorized + payment.captured (one commit).
EVENTS_PER_CAPTURED_PAYMENT = 3


def subscribe(stubs: Stubs, **fields: Any) -> EventStream:
    return EventStream(stubs, E.SubscribePaymentEventsRequest(**fields))


def pay(api: Stubs, amount: int = 1999, **fields: Any) -> payment_pb2.Payment:
    payment: payment_pb2.Payment = api.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(amount_minor=amount, currency_code="USD", card=CARD, **fields)
    ).payment
    return payment


def store_seqs(api: Stubs, payment_ids: list[str]) -> list[int]:
    """Every event of these payments as the store has them (ListPaymentEvents), by seq."""
    seqs: list[int] = []
    for pid in payment_ids:
        reply = api.payments.ListPaymentEvents(payment_pb2.ListPaymentEventsRequest(payment_id=pid, page_size=500))
        seqs.extend(e.sequence for e in reply.events)
    return sorted(seqs)


@pytest.fixture
def shop(stubs: Stubs) -> MerchantAccount:
    return register_merchant(stubs)


@pytest.fixture
def api(stubs: Stubs, shop: MerchantAccount) -> Stubs:
    return stubs.as_(shop.api_key)


@pytest.fixture
def streams() -> Iterator[list[EventStream]]:
    opened: list[EventStream] = []
    yield opened
    for stream in opened:
        stream.cancel()


def test_a_live_stream_carries_each_event_with_its_cursor_and_data(
    api: Stubs, shop: MerchantAccount, streams: list[EventStream]
) -> None:
    stream = subscribe(api, start=NOW)
    streams.append(stream)
    start = stream.opened()
    payment = pay(api, amount=4321, description="a book")
    messages = stream.event_messages(EVENTS_PER_CAPTURED_PAYMENT)
    assert [m.event.type for m in messages] == ["payment.created", "payment.authorized", "payment.captured"]
    seqs = [m.seq for m in messages]
    assert start < seqs[0] < seqs[1] < seqs[2]
    assert seqs == store_seqs(api, [payment.id])
    created = messages[0].event
    assert created.payment_id == payment.id and created.merchant_id == shop.merchant_id
    assert created.id.startswith("evt_") and created.payment_version == 1
    assert created.create_time.seconds > 0 and created.sequence == seqs[0]
    data = created.payment_created
    assert (data.amount_minor, data.currency_code, data.card.last4) == (4321, "USD", "4242")
    assert "4242424242424242" not in str(created)
    captured = messages[2].event.payment_captured
    assert captured.amount_minor == 4321 and captured.fee_amount_minor > 0


def test_filters_by_payment_and_event_type(api: Stubs, streams: list[EventStream]) -> None:
    first = pay(api)
    by_payment = subscribe(api, start=AFTER, after_seq=0, payment_id=first.id)
    captures = subscribe(api, start=NOW, event_types=["payment.captured", "refund.succeeded"])
    streams += [by_payment, captures]
    captures.opened()
    by_payment.opened()
    assert [e.type for e in by_payment.events(3)] == ["payment.created", "payment.authorized", "payment.captured"]
    second = pay(api)
    api.payments.RefundPayment(payment_pb2.RefundPaymentRequest(payment_id=first.id, amount_minor=100))
    got = captures.events(2)
    assert [(e.type, e.payment_id) for e in got] == [("payment.captured", second.id), ("refund.succeeded", first.id)]
    refund = by_payment.events(2)
    assert [e.type for e in refund] == ["refund.requested", "refund.succeeded"]
    assert all(e.payment_id == first.id for e in refund)


def test_each_caller_sees_only_what_it_may(
    stubs: Stubs, api: Stubs, shop: MerchantAccount, admin_token: str, streams: list[EventStream]
) -> None:
    other = register_merchant(stubs)
    other_api = stubs.as_(other.api_key)
    person = register_customer_user(stubs)
    record = create_customer(stubs, shop.api_key, email=person.email)
    admin = stubs.as_(admin_token)

    mine = subscribe(api, start=NOW)
    theirs = subscribe(other_api, start=NOW)
    as_customer = subscribe(stubs.as_(person.access_token), start=NOW)
    as_admin = subscribe(admin, start=NOW, merchant_id=other.merchant_id)
    streams += [mine, theirs, as_customer, as_admin]
    for s in (mine, theirs, as_customer, as_admin):
        s.opened()

    anonymous_payment = pay(api)
    customers_payment = pay(api, customer_id=record.id)
    other_payment = pay(other_api)
    # Markers: a stream that received one of these in order after its own events was sent
    # nothing from between them.
    my_marker = pay(api, customer_id=record.id)
    other_marker = pay(other_api)

    def payments_of(stream: EventStream, count: int) -> list[str]:
        events = stream.events(count)
        return [e.payment_id for e in events[::EVENTS_PER_CAPTURED_PAYMENT]]

    assert payments_of(mine, 9) == [anonymous_payment.id, customers_payment.id, my_marker.id]
    assert payments_of(theirs, 6) == [other_payment.id, other_marker.id]
    assert payments_of(as_customer, 6) == [customers_payment.id, my_marker.id]
    assert payments_of(as_admin, 6) == [other_payment.id, other_marker.id]

    # Another tenant's merchant or payment does not exist for the caller.
    refused = subscribe(api, start=NOW, merchant_id=other.merchant_id).failure()
    assert refused.code == grpc.StatusCode.NOT_FOUND and refused.reason == "MERCHANT_NOT_FOUND"
    refused = subscribe(api, start=NOW, payment_id=other_payment.id).failure()
    assert refused.code == grpc.StatusCode.NOT_FOUND and refused.reason == "PAYMENT_NOT_FOUND"
    refused = subscribe(stubs.as_(person.access_token), start=NOW, payment_id=anonymous_payment.id).failure()
    assert refused.code == grpc.StatusCode.NOT_FOUND
    refused = subscribe(stubs.as_(None), start=NOW).failure()
    assert refused.code == grpc.StatusCode.UNAUTHENTICATED


def test_bad_requests_are_refused_with_field_violations(api: Stubs) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"start": NOW, "after_seq": 5}, "after_seq"),
        ({"start": AFTER, "after_seq": -1}, "after_seq"),
        ({"start": AFTER, "after_seq": 10**15}, "after_seq"),
        ({"start": 9}, "start"),
        ({"payment_id": "nope"}, "payment_id"),
        ({"merchant_id": "pay_123"}, "merchant_id"),
        ({"event_types": ["Payment Captured"]}, "event_types[0]"),
        ({"event_types": [f"t{i}" for i in range(33)]}, "event_types"),
    ]
    for fields, field in cases:
        error = subscribe(api, **fields).failure()
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, fields
        assert field in error.field_violations, (fields, error.field_violations)


def test_resuming_from_a_cursor_under_concurrent_writes_delivers_each_event_exactly_once(
    api: Stubs, streams: list[EventStream]
) -> None:
    """Disconnect after event k and resume from k while payments keep being created: k+1…
    arrive exactly once each, in order, and together with 1…k they are exactly the store's."""
    baseline = subscribe(api, start=NOW)
    streams.append(baseline)
    start = baseline.opened()
    first = subscribe(api, start=AFTER, after_seq=start)
    streams.append(first)
    first.opened()

    created: list[str] = []
    lock = threading.Lock()
    stop_writing = threading.Event()

    def write(worker: int) -> None:
        for i in range(40):
            if stop_writing.is_set():
                return
            payment = pay(api, amount=100 + worker * 1000 + i)
            if i % 5 == 0:
                api.payments.RefundPayment(payment_pb2.RefundPaymentRequest(payment_id=payment.id, amount_minor=50))
            with lock:
                created.append(payment.id)

    with ThreadPoolExecutor(4) as pool:
        writers = [pool.submit(write, w) for w in range(4)]
        before = first.event_messages(60)
        first.cancel()
        k = before[-1].seq
        resumed = subscribe(api, start=AFTER, after_seq=k)
        streams.append(resumed)
        assert resumed.opened() == k
        for writer in writers:
            writer.result(timeout=300)

    expected = store_seqs(api, created)
    assert len(expected) >= 300
    after = resumed.event_messages(len([s for s in expected if s > k]), timeout=120)
    got = [m.seq for m in before] + [m.seq for m in after]
    assert got == expected, "the resumed stream missed or repeated events"
    assert [m.seq for m in baseline.event_messages(len(expected), timeout=120)] == expected


def test_heartbeats_keep_an_idle_stream_alive_and_move_its_cursor_past_filtered_events(
    make_server: Callable[..., ServerHandle], streams: list[EventStream]
) -> None:
    server = make_server(subscription_heartbeat_seconds=0.05)
    stubs = server.stubs()
    api = stubs.as_(register_merchant(stubs).api_key)
    refunds = subscribe(api, start=NOW, event_types=["refund.succeeded"])
    streams.append(refunds)
    refunds.opened()
    beat = refunds.next()
    assert beat.WhichOneof("kind") == "heartbeat" and beat.heartbeat.server_time.seconds > 0
    payment = pay(api)
    last = store_seqs(api, [payment.id])[-1]
    caught_up = refunds.until(lambda m: m.seq >= last)
    assert all(m.WhichOneof("kind") == "heartbeat" for m in caught_up)
    assert caught_up[-1].seq == last


def test_streams_per_caller_are_limited(make_server: Callable[..., ServerHandle], streams: list[EventStream]) -> None:
    server = make_server(subscriptions_per_principal=2)
    stubs = server.stubs()
    shop = register_merchant(stubs)
    api = stubs.as_(shop.api_key)
    held = [subscribe(api, start=NOW), subscribe(api, start=NOW)]
    streams.extend(held)
    for stream in held:
        stream.opened()
    refused = subscribe(api, start=NOW).failure()
    assert refused.code == grpc.StatusCode.RESOURCE_EXHAUSTED and refused.reason == "TOO_MANY_STREAMS"
    assert refused.retry_delay_seconds is not None
    # Another caller (the owner's session) has a quota of its own.
    owners = subscribe(stubs.as_(shop.access_token), start=NOW)
    streams.append(owners)
    owners.opened()
    held[0].cancel()
    wait_for(lambda: server.app.subscriptions.open_streams == 2, what="the cancelled stream to be released")
    again = subscribe(api, start=NOW)
    streams.append(again)
    again.opened()


def test_a_cancelled_stream_is_cleaned_up_on_the_server(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    stubs = server.stubs()
    api = stubs.as_(register_merchant(stubs).api_key)
    subscriptions = server.app.subscriptions
    before = subscriptions.feed.listeners
    stream = subscribe(api, start=NOW)
    stream.opened()
    pay(api)
    stream.events(1)
    assert subscriptions.feed.listeners >= before + 1
    stream.cancel()
    wait_for(lambda: subscriptions.feed.listeners == before, what="the stream to leave the feed")
    assert subscriptions.open_streams == 0


def test_a_subscriber_that_does_not_read_is_ended_with_its_cursor(
    make_server: Callable[..., ServerHandle], streams: list[EventStream]
) -> None:
    server = make_server(subscription_buffer_events=3)
    stubs = server.stubs()
    api = stubs.as_(register_merchant(stubs).api_key)
    # The server's writes block on HTTP/2 flow control once this client stops reading; then
    # undelivered events pile up in the server's buffer for the stream, up to its limit.
    channel = grpc.insecure_channel(
        server.target, options=[("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)]
    )
    try:
        call = Stubs(channel, api.credential).events.SubscribePaymentEvents(
            E.SubscribePaymentEventsRequest(start=NOW), timeout=300
        )
        next(call)  # open; then read nothing
        payments = 0
        description = "x" * 1000  # large events fill the transport's window sooner
        while server.app.subscriptions.open_streams and payments < 2000:
            pay(api, description=description)
            payments += 1
        assert not server.app.subscriptions.open_streams, "the stream was never ended"
        with pytest.raises(grpc.RpcError) as ended:
            for _ in call:
                pass
        error = rich_error(ended.value)
        assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED and error.reason == "SUBSCRIBER_TOO_SLOW"
        assert int(error.metadata["last_seq"]) >= 0  # a hint: resume from the last seq received
    finally:
        channel.close()


def test_shutdown_ends_streams_with_a_status_to_resume(
    make_server: Callable[..., ServerHandle], streams: list[EventStream]
) -> None:
    server = make_server(grace_seconds=30)
    stubs = server.stubs()
    api = stubs.as_(register_merchant(stubs).api_key)
    stream = subscribe(api, start=NOW)
    streams.append(stream)
    stream.opened()
    payment = pay(api)
    received = stream.event_messages(3)
    last, stream_seqs = received[-1], [m.seq for m in received]
    stopped = threading.Thread(target=lambda: server.run(server.server.stop(30)))
    stopped.start()
    error = stream.failure(timeout=10)
    stopped.join(10)
    assert not stopped.is_alive(), "shutdown waited on an open stream"
    assert error.code == grpc.StatusCode.UNAVAILABLE and error.reason == "SERVER_SHUTTING_DOWN"
    # The server's hint is the last seq whose write it saw complete: the stop may interrupt the
    # coroutine of a write that already reached the client (the cancellation lands before the
    # await returns), so it may trail the client's own last seq by that one message. A client
    # resumes from its own last seq (README): nothing is lost either way.
    assert last.event.payment_id == payment.id
    assert int(error.metadata["last_seq"]) in {last.seq, stream_seqs[-2]}


class HeldEvent:
    """A payment transaction of our own on PostgreSQL, held open after taking its sequence
    number: exactly what a slow writer looks like to the feed (projection row first, then the
    event, as PaymentRepository.save writes them)."""

    def __init__(self, database_url: str, merchant_id: str) -> None:
        import json
        from datetime import UTC, datetime

        import psycopg

        from paysim.domain import event_codec, ids, payment_rules
        from paysim.domain import payment as agg
        from paysim.store.pg_connection import conninfo

        card = agg.Card("visa", "424242", "4242", 12, 2030, "f" * 32, "")
        new = payment_rules.NewPayment(merchant_id, 1, "USD", "", card, "", "", {}, agg.CaptureMethod.AUTOMATIC)
        created = json.dumps(event_codec.to_data(payment_rules.created_event(new, 290, 30, datetime.now(UTC))))
        self.payment_id = ids.new_id("pay")
        self.conn = psycopg.connect(conninfo(database_url))
        self.conn.execute(
            "INSERT INTO payments (id, merchant_id, customer_id, status, amount, currency, card_last4, in_progress,"
            " version, created_at, updated_at, state_json)"
            " VALUES (%s, %s, '', 'captured', 1, 'USD', '4242', false, 1, now(), now(), '{}')",
            (self.payment_id, merchant_id),
        )
        row = self.conn.execute(
            "INSERT INTO payment_events (id, aggregate_id, version, type, merchant_id, data_json, created_at)"
            " VALUES (%s, %s, 1, 'payment.created', %s, %s, now()) RETURNING seq",
            (ids.new_id("evt"), self.payment_id, merchant_id, created),
        ).fetchone()
        assert row is not None
        self.seq: int = row[0]

    def commit(self) -> None:
        self.conn.commit()
        self.conn.close()

    def rollback(self) -> None:
        """Also the clean-up of a failed test: an open transaction would block dropping the schema."""
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


def _postgres_only(server: ServerHandle) -> None:
    if not server.settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: seq order is commit order there")


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_an_event_that_commits_after_a_higher_seq_is_delivered_first_and_once(
    make_server: Callable[..., ServerHandle], streams: list[EventStream], outcome: str
) -> None:
    server = make_server()
    _postgres_only(server)
    stubs = server.stubs()
    shop = register_merchant(stubs)
    api = stubs.as_(shop.api_key)
    stream = subscribe(api, start=NOW)
    streams.append(stream)
    stream.opened()

    held = HeldEvent(server.settings.database_url, shop.merchant_id)
    try:
        _deliver_around(server, api, stream, held, outcome)
    finally:
        held.rollback()


def _deliver_around(server: ServerHandle, api: Stubs, stream: EventStream, held: HeldEvent, outcome: str) -> None:
    feed = server.app.subscriptions.feed
    later = pay(api)  # commits seqs above the held one
    later_seqs = store_seqs(api, [later.id])
    assert min(later_seqs) > held.seq
    reads = feed.reads
    wait_for(lambda: feed.reads >= reads + 3, what="the feed to read past the commit")
    assert feed.position < held.seq, "the feed moved past a sequence number still in flight"

    if outcome == "commit":
        held.commit()
        got = stream.event_messages(1 + len(later_seqs))
        assert [m.seq for m in got] == [held.seq, *later_seqs]
        assert got[0].event.payment_id == held.payment_id
    else:
        held.rollback()
        got = stream.event_messages(len(later_seqs))
        assert [m.seq for m in got] == later_seqs
    # Exactly once: the next thing after them is a new payment's first event.
    marker = pay(api)
    assert stream.event_messages(1)[0].event.payment_id == marker.id


def test_a_long_transaction_that_writes_no_events_does_not_hold_streams_up(
    backend: Backend, make_server: Callable[..., ServerHandle], streams: list[EventStream]
) -> None:
    """PostgreSQL's snapshots list every running transaction of the cluster: another
    application's transaction left open must neither keep a new server's feed from starting
    nor keep a rolled-back sequence number's gap open."""
    if not backend.database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: seq order is commit order there")
    import psycopg

    from paysim.store.pg_connection import conninfo

    with psycopg.connect(conninfo(backend.database_url)) as unrelated:
        unrelated.execute("SELECT pg_current_xact_id()")  # takes a transaction id and stays open
        server = make_server()
        stubs = server.stubs()
        shop = register_merchant(stubs)
        api = stubs.as_(shop.api_key)
        stream = subscribe(api, start=NOW)
        streams.append(stream)
        stream.opened()
        held = HeldEvent(server.settings.database_url, shop.merchant_id)
        try:
            later = pay(api)
            held.rollback()
            later_seqs = store_seqs(api, [later.id])
            assert [m.seq for m in stream.event_messages(len(later_seqs))] == later_seqs
        finally:
            held.rollback()
        unrelated.rollback()
