"""client.payments.watch() through real servers: live events with their cursor, resumption from a
saved cursor, and the stream surviving a server restart on the same port and database, a broken
connection, a slow reader, too many streams, a silent connection and an expired session, with
every event of the store received exactly once. Errors that reconnecting cannot fix are raised.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import paysim_client
import pytest
from paysim_client import Client, ReconnectPolicy, RetryPolicy, Watcher, errors
from paysim_client.types import PaymentEvent, StreamStart

from tests.sdk.conftest import VISA, wait_for
from tests.support import backends
from tests.support.backends import Backend
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle
from tests.support.harness import test_settings as settings_for
from tests.support.tcp_proxy import TcpProxy

# Short waits between reconnections: the tests are about what arrives, not about how long the
# watcher waits.
QUICK = ReconnectPolicy(initial_backoff=0.05, max_backoff=0.5)
# payment.created (its own commit), then payment.authorized + payment.captured.
EVENTS_PER_PAYMENT = 3


def store_seqs(client: Client, types: Sequence[str] = ()) -> list[int]:
    """Every event of the merchant's payments as the store has them (ListPaymentEvents)."""
    return sorted(
        event.sequence
        for payment in client.payments.list(page_size=500)
        for event in client.payments.events(payment.id, page_size=500)
        if not types or event.type in types
    )


def pay(client: Client, amount: int = 1999) -> str:
    return client.payments.create(amount_minor=amount, currency_code="USD", card=VISA).id


class Collector:
    """Iterates a blocking watcher on a thread of its own, recording each event with its seq."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.seqs: list[int] = []
        self.events: list[PaymentEvent] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for event in self.watcher:
                cursor = self.watcher.cursor
                assert cursor is not None
                self.seqs.append(cursor)
                self.events.append(event)
        except BaseException as error:  # handed to the test
            self.error = error

    def wait_count(self, count: int, timeout: float = 60) -> None:
        wait_for(lambda: len(self.seqs) >= count or self.error is not None, timeout, f"{count} events")
        assert self.error is None, self.error

    def exactly(self, expected: list[int], timeout: float = 90) -> None:
        """Everything the store has arrives, each once, in order, and nothing else."""
        self.wait_count(len(expected), timeout)
        assert self.seqs == expected, "events were lost or repeated"

    def stop(self) -> None:
        self.watcher.close()
        self._thread.join(10)
        assert not self._thread.is_alive(), "closing the watcher did not end its iteration"


class Writer:
    """Creates payments one after another on a thread until stopped."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.created: list[str] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.created.append(pay(self._client, 100 + len(self.created)))
        except BaseException as error:  # handed to the test
            self.error = error

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(180)
        assert self.error is None, self.error


@pytest.fixture
def collectors() -> Iterator[list[Collector]]:
    made: list[Collector] = []
    yield made
    for collector in made:
        collector.stop()


class Restartable:
    """A server that can be stopped and started again on the same port with the same database."""

    def __init__(self, backend: Backend, tmp: Path, stack: ExitStack) -> None:
        database = stack.enter_context(backends.provision(backend.name, tmp / "db"))
        self.settings = settings_for(database, tmp / "data")
        self.handle: ServerHandle | None = ServerHandle(self.settings)
        self.port = self.handle.port
        self.target = self.handle.target
        self.starts = 1

    def stop(self) -> None:
        assert self.handle is not None
        # A grace period long enough for the payment in flight to finish on a loaded machine, as a
        # deployment's would: cut off mid-way, its key would stay in flight until recovery.
        self.handle.stop(grace=10.0)
        self.handle = None

    def start(self) -> None:
        assert self.handle is None
        self.handle = ServerHandle(self.settings.with_overrides(listen=self.target))
        assert self.handle.port == self.port
        self.starts += 1

    def close(self) -> None:
        if self.handle is not None:
            self.stop()


@pytest.fixture
def restartable(backend: Backend, tmp_path: Path) -> Iterator[Restartable]:
    with ExitStack() as stack:
        server = Restartable(backend, tmp_path, stack)
        stack.callback(server.close)
        yield server


# --- what a watcher delivers -------------------------------------------------------------------


def test_a_watcher_delivers_each_new_event_once_with_its_cursor(client: Client, collectors: list[Collector]) -> None:
    with client.payments.watch() as watcher:
        start = watcher.cursor
        assert start is not None and start >= 0
        collector = Collector(watcher)
        collectors.append(collector)
        payment_id = pay(client, 4321)
        collector.wait_count(EVENTS_PER_PAYMENT)
        event = collector.events[0]
        assert [e.type for e in collector.events] == ["payment.created", "payment.authorized", "payment.captured"]
        assert event.payment_id == payment_id and event.id.startswith("evt_") and event.payment_version == 1
        assert event.payment_created.amount_minor == 4321 and "4242424242424242" not in str(event)
        assert start < collector.seqs[0] and collector.seqs == store_seqs(client)
        assert watcher.cursor == collector.seqs[-1] and watcher.reconnects == 0 and watcher.last_error is None


def test_filters_and_heartbeats_move_the_cursor_past_events_that_do_not_match(
    make_server: Callable[..., ServerHandle], collectors: list[Collector]
) -> None:
    server = make_server(subscription_heartbeat_seconds=0.05)
    account = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=account.api_key) as client:
        first = pay(client)
        watcher = client.payments.watch(event_types=["payment.captured"])
        watcher.open()
        collector = Collector(watcher)
        collectors.append(collector)
        second = pay(client)
        collector.wait_count(1)
        assert [(e.type, e.payment_id) for e in collector.events] == [("payment.captured", second)]
        # Nothing more matches; heartbeats carry the cursor past the later events all the same.
        client.payments.refund(second, amount_minor=100)
        newest = max(store_seqs(client))
        wait_for(lambda: (watcher.cursor or 0) >= newest, what="a heartbeat past the refund's events")
        assert len(collector.events) == 1
        # A watcher of one payment from the beginning of the history replays it, then goes live.
        history = client.payments.watch(payment_id=first, after_seq=0)
        replay = Collector(history)
        collectors.append(replay)
        replay.wait_count(EVENTS_PER_PAYMENT)
        client.payments.refund(first, amount_minor=200)
        replay.wait_count(EVENTS_PER_PAYMENT + 2)
        assert all(e.payment_id == first for e in replay.events)
        assert replay.seqs == sorted(e.sequence for e in client.payments.events(first))
        replay.stop()
        collector.stop()


def test_a_saved_cursor_resumes_exactly_after_the_last_event_handed_out(client: Client) -> None:
    with client.payments.watch() as watcher:
        pay(client)
        pay(client)
        taken = [next(watcher) for _ in range(4)]
        saved = watcher.cursor
    assert saved is not None and watcher.closed
    assert list(watcher) == [], "a closed watcher ends its iteration"
    pay(client)
    everything = store_seqs(client)
    # Another watcher (another process, the next day) picks up from the saved cursor.
    with client.payments.watch(after_seq=saved) as resumed:
        assert resumed.cursor == saved
        rest = [next(resumed) for _ in range(len(everything) - len(taken))]
        last = resumed.cursor
    assert [e.id for e in taken + rest] == [e.id for e in _events_by_seq(client, everything)]
    assert last == everything[-1]
    with client.payments.watch(start=StreamStart.STREAM_START_AFTER_SEQ) as whole:
        assert whole.cursor == 0
        assert [next(whole).id for _ in everything] == [e.id for e in _events_by_seq(client, everything)]


def _events_by_seq(client: Client, seqs: list[int]) -> list[paysim_client.types.PaymentEvent]:
    found = {
        e.sequence: e for p in client.payments.list(page_size=500) for e in client.payments.events(p.id, page_size=500)
    }
    return [found[s] for s in seqs]


# --- surviving what ends a stream ----------------------------------------------------------------


def test_watch_survives_a_server_restart_without_losing_or_repeating_events(
    restartable: Restartable, collectors: list[Collector], caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's acceptance test: a server stopped and started again on the same port and the
    same database while payments are created before, during and after; the watcher's seqs are
    the store's, each exactly once."""
    caplog.set_level(logging.INFO, logger="paysim_client.watch")
    assert restartable.handle is not None
    account = register_merchant(restartable.handle.stubs())
    patient = RetryPolicy(max_attempts=100, max_backoff=0.5)
    with Client.connect(restartable.target, api_key=account.api_key, retry=patient, timeout=120) as client:
        # The first reconnection waits 6 to 9 s: the server is back, and the three payments made
        # right after the restart are committed, well before (also on a loaded machine), so they
        # can only reach the watcher by the replay.
        watcher = client.payments.watch(reconnect=ReconnectPolicy(initial_backoff=6.0, max_backoff=6.0))
        watcher.open()
        collector = Collector(watcher)
        collectors.append(collector)
        for _ in range(3):  # before
            pay(client)
        collector.wait_count(3 * EVENTS_PER_PAYMENT)

        writer = Writer(client)  # keeps creating payments through the restart
        wait_for(lambda: len(writer.created) >= 3, what="payments from the writer")
        restartable.stop()
        # The stream ended as the server stopped, telling the watcher where to resume.
        wait_for(lambda: isinstance(watcher.last_error, errors.ServerShuttingDown), what="SERVER_SHUTTING_DOWN")
        assert isinstance(watcher.last_error, errors.ServerShuttingDown) and watcher.last_error.last_seq
        restartable.start()
        during = [pay(client) for _ in range(3)]
        during_done = time.time()
        wait_for(lambda: watcher.reconnects >= 1, timeout=60, what="the watcher to reconnect")
        resumed_at = len(writer.created)
        wait_for(
            lambda: len(writer.created) >= resumed_at + 3 or writer.error is not None,
            what="payments after the reconnection",
        )
        assert writer.error is None, writer.error
        after = [pay(client) for _ in range(3)]
        writer.stop()

        expected = store_seqs(client)
        assert len(expected) == EVENTS_PER_PAYMENT * (3 + len(writer.created) + len(during) + len(after))
        collector.exactly(expected)
        collector.stop()
    assert restartable.starts == 2
    lines = [(r.created, r.getMessage()) for r in caplog.records if r.name == "paysim_client.watch"]
    assert any("UNAVAILABLE SERVER_SHUTTING_DOWN" in line for _, line in lines), lines
    reopened = [at for at, line in lines if "reopened" in line]
    assert reopened and reopened[0] > during_done, "the payments made during the restart were not replayed"


def test_watch_resumes_after_the_connection_breaks(
    server: ServerHandle, merchant: MerchantAccount, client: Client, collectors: list[Collector]
) -> None:
    proxy = TcpProxy("127.0.0.1", server.port)
    proxy.start()
    try:
        with Client.connect(f"127.0.0.1:{proxy.port}", api_key=merchant.api_key) as through_proxy:
            watcher = through_proxy.payments.watch(reconnect=QUICK)
            watcher.open()
            collector = Collector(watcher)
            collectors.append(collector)
            pay(client)
            collector.wait_count(EVENTS_PER_PAYMENT)
            proxy.cut()
            wait_for(lambda: isinstance(watcher.last_error, errors.Unavailable), what="the watcher to see the cut")
            for _ in range(3):  # committed while the watcher cannot reach the server
                pay(client)
            proxy.start()
            wait_for(lambda: watcher.reconnects >= 1, timeout=60, what="the watcher to reconnect")
            pay(client)
            collector.exactly(store_seqs(client))
            assert proxy.connections >= 2
            collector.stop()
    finally:
        proxy.close()


def test_a_watcher_that_reads_too_slowly_is_ended_and_resumes_where_it_was(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server(subscription_buffer_events=3)
    account = register_merchant(server.stubs())
    # Small HTTP/2 windows: the server's writes block soon once this client stops reading, and
    # undelivered events then pile up in the server's buffer for the stream, up to its limit.
    windows = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)]
    with (
        Client.connect(server.target, api_key=account.api_key) as writer,
        Client.connect(server.target, api_key=account.api_key, channel_options=windows) as reader,
        reader.payments.watch(reconnect=QUICK) as watcher,
    ):
        created = 0
        while server.app.subscriptions.open_streams and created < 2000:  # read nothing meanwhile
            writer.payments.create(amount_minor=1000 + created, card=VISA, description="x" * 1000)
            created += 1
        assert not server.app.subscriptions.open_streams, "the server never ended the stream"
        expected = store_seqs(writer)
        got = []
        for _ in expected:
            next(watcher)
            got.append(watcher.cursor)
        assert got == expected
        assert isinstance(watcher.last_error, errors.SubscriberTooSlow) and watcher.reconnects >= 1
        assert watcher.last_error.last_seq is not None


def test_too_many_streams_is_waited_out_and_other_errors_are_not(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server(subscriptions_per_principal=1)
    account = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=account.api_key) as client:
        holder = client.payments.watch()
        holder.open()
        # A watcher with a limit on its attempts gives up with the reason.
        with pytest.raises(errors.TooManyStreams) as refused:
            client.payments.watch(reconnect=ReconnectPolicy(max_attempts=1, max_backoff=0.1)).open()
        assert refused.value.retry_delay is not None
        waiting = client.payments.watch(reconnect=QUICK)
        opening = threading.Thread(target=waiting.open, daemon=True)
        opening.start()
        wait_for(lambda: isinstance(waiting.last_error, errors.TooManyStreams), what="the refusal")
        holder.close()
        opening.join(30)
        assert not opening.is_alive() and waiting.cursor is not None
        payment_id = pay(client)
        assert next(waiting).payment_id == payment_id
        waiting.close()


def test_a_silent_connection_is_replaced_after_the_stall_timeout(client: Client, collectors: list[Collector]) -> None:
    # The session server sends a heartbeat every 15 s: 0.3 s of silence looks like a dead link.
    watcher = client.payments.watch(stall_timeout=0.3, reconnect=QUICK)
    watcher.open()
    collector = Collector(watcher)
    collectors.append(collector)
    wait_for(lambda: watcher.reconnects >= 2, what="reconnections after silences")
    assert isinstance(watcher.last_error, errors.Unavailable)
    pay(client)
    pay(client)
    collector.exactly(store_seqs(client))


def test_an_access_token_the_server_refuses_is_renewed_and_the_stream_opened(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    # Tokens issued an hour in the past: expired on arrival, so the server refuses the stream
    # (UNAUTHENTICATED, TOKEN_EXPIRED) and the watcher renews the session and opens it again.
    server.clock.advance(timedelta(hours=-1))
    try:
        owner = Client.connect(server.target, email=account.email, password=account.password)
    finally:
        server.clock.advance(timedelta(hours=1))
    with owner, Client.connect(server.target, api_key=account.api_key) as api:
        stale = owner.auth.tokens
        assert stale is not None
        with owner.payments.watch(reconnect=QUICK) as watcher:
            assert isinstance(watcher.last_error, errors.Unauthenticated)
            assert watcher.last_error.reason == "TOKEN_EXPIRED" and watcher.reconnects == 0
            payment_id = pay(api)
            assert next(watcher).payment_id == payment_id
        fresh = owner.auth.tokens
        assert fresh is not None and fresh.access_token != stale.access_token


# --- errors a reconnection cannot fix ----------------------------------------------------------


def test_errors_that_reconnecting_cannot_fix_are_raised(server: ServerHandle, client: Client, admin: Client) -> None:
    other = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=other.api_key) as theirs:
        their_payment = pay(theirs)
    cases: list[tuple[Watcher, type[errors.RpcError]]] = [
        (client.payments.watch(payment_id=their_payment), errors.NotFound),
        (client.payments.watch(merchant_id=other.merchant_id), errors.NotFound),
        (client.payments.watch(after_seq=10**12), errors.InvalidArgument),
        (client.payments.watch(event_types=["Not A Type"]), errors.InvalidArgument),
    ]
    for watcher, expected in cases:
        with pytest.raises(expected) as raised:
            watcher.open()
        assert watcher.last_error is raised.value and watcher.reconnects == 0
        watcher.close()
    with pytest.raises(errors.InvalidArgument) as bad_cursor:
        client.payments.watch(after_seq=10**12).open()
    assert [v.field for v in bad_cursor.value.field_violations] == ["after_seq"]
    assert bad_cursor.value.field_violations[0].reason == "CURSOR_OUT_OF_RANGE"

    with Client.connect(server.target) as anonymous, pytest.raises(errors.Unauthenticated):
        anonymous.payments.watch().open()

    # Credentials refused after the stream was open: the reconnection raises, it does not loop.
    shop = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=shop.api_key) as shop_client:
        # The silence after the opening heartbeat ends the stream soon; its reopening is refused.
        watcher = shop_client.payments.watch(stall_timeout=0.3, reconnect=QUICK)
        watcher.open()
        admin.merchants.deactivate(shop.merchant_id)
        try:
            with pytest.raises(errors.MerchantInactive):
                next(watcher)
        finally:
            admin.merchants.activate(shop.merchant_id)
            watcher.close()

    with pytest.raises(ValueError, match="after_seq"):
        client.payments.watch(start=StreamStart.STREAM_START_NOW, after_seq=5)
    with pytest.raises(TypeError):
        client.payments.watch(event_types="payment.captured")


# --- the asyncio watcher -------------------------------------------------------------------------


def test_the_async_watcher_survives_a_cancelled_wait_and_ends_on_aclose(
    server: ServerHandle, merchant: MerchantAccount
) -> None:
    async def scenario() -> None:
        async with paysim_client.connect(server.target, api_key=merchant.api_key) as client:
            async with client.payments.watch(event_types=["payment.captured"], reconnect=QUICK) as watcher:
                first = await client.payments.create(amount_minor=1500, card=VISA)
                assert (await anext(watcher)).payment_id == first.id
                # A wait cut short (a timeout, a cancelled task) loses nothing: the next one resumes.
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(anext(watcher), 0.2)
                second = await client.payments.create(amount_minor=1600, card=VISA)
                assert (await anext(watcher)).payment_id == second.id
                assert watcher.reconnects == 1
                # aclose() from elsewhere ends an iteration that is waiting.
                waiting = asyncio.ensure_future(anext(watcher))
                await asyncio.sleep(0)
                await watcher.aclose()
                with pytest.raises(StopAsyncIteration):
                    await asyncio.wait_for(waiting, 10)
            assert watcher.closed
            seen = [e async for e in watcher]
            assert seen == []
            captured = [
                e.sequence
                async for p in client.payments.list()
                async for e in client.payments.events(p.id)
                if e.type == "payment.captured"
            ]
            assert watcher.cursor == max(captured)

    asyncio.run(scenario())
