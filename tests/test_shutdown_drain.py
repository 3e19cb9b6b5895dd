"""A server that stops while a call's work is waiting on the database finishes that work before it
closes the database, so that the next server on the same database finds it free: on SQLite no
write lock left behind by a connection nobody will close, on PostgreSQL no transaction left open.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import grpc
import psycopg
import pytest
from paysim_proto.v1 import payment_pb2, payment_pb2_grpc
from sqlalchemy.engine import make_url

from tests.support import backends
from tests.support.backends import Backend
from tests.support.client import rich_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.harness import test_settings as settings_for
from tests.support.streams import wait_for

CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
IN_FLIGHT = "in flight at shutdown"
# The work in flight is given the grace period again once gRPC gave up on its call: on a loaded
# machine the test releasing its lock and the payment running to its end took more than 2 s.
GRACE = 5.0


@contextmanager
def writes_blocked(backend: Backend, server: ServerHandle) -> Iterator[Callable[[], bool]]:
    """Hold the lock a payment's first write needs, from a connection of the test's own; yields
    whether the server is waiting for it. Released when the block ends."""
    if backend.name == "sqlite":
        database = make_url(backend.database_url).database
        assert database is not None
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        pool = server.app.engine.sync_engine.pool
        try:
            # The embedded database has no lock table to look at: the waiting writer is a call in
            # flight holding a pooled connection (the caller made sure no other call is left).
            yield lambda: server.server.calls.count > 0 and pool.checkedout() > 0
        finally:
            holder.rollback()
            holder.close()
        return
    conninfo = make_url(backend.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as holder, psycopg.connect(conninfo, autocommit=True) as observer:
        holder.execute("LOCK TABLE payments IN SHARE MODE")
        try:
            yield lambda: bool(
                observer.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE NOT l.granted AND c.relname = 'payments'"
                    " AND c.relnamespace = current_schema()::regnamespace"
                ).fetchone()[0]  # type: ignore[index]
            )
        finally:
            holder.rollback()


def _sqlite_write_lock_is_free(backend: Backend) -> None:
    database = make_url(backend.database_url).database
    assert database is not None
    probe = sqlite3.connect(database, isolation_level=None, timeout=5)
    try:
        probe.execute("BEGIN IMMEDIATE")  # "database is locked" after 5 s if anyone still holds it
        probe.rollback()
    finally:
        probe.close()


def test_work_in_flight_at_shutdown_is_finished_before_the_database_is_closed(backend: Backend, tmp_path: Path) -> None:
    with ExitStack() as stack:
        database = stack.enter_context(backends.provision(backend.name, tmp_path / "db"))
        # The payment's statement waits for the test's lock through the whole grace period and
        # after it: PostgreSQL must not cancel it first.
        settings = settings_for(database, tmp_path / "data").with_overrides(db_statement_timeout_seconds=4 * GRACE)
        first = ServerHandle(settings)
        account = register_merchant(first.stubs())
        warm_up = payment_pb2.CreatePaymentRequest(amount_minor=100, card=CARD)
        first.stubs(account.api_key).payments.CreatePayment(warm_up)
        # gRPC lets go of a finished call a moment after its client has the answer: until then the
        # warm-up still counts as in flight and would pass for the payment waiting for the lock.
        wait_for(lambda: first.server.calls.count == 0, what="the warm-up call to end")
        channel = grpc.insecure_channel(first.target)
        stack.callback(channel.close)
        payments = payment_pb2_grpc.PaymentServiceStub(channel)
        auth = (("authorization", f"Bearer {account.api_key}"),)

        with writes_blocked(database, first) as server_waits:
            call = payments.CreatePayment.future(
                payment_pb2.CreatePaymentRequest(amount_minor=200, card=CARD, description=IN_FLIGHT),
                metadata=auth,
                timeout=120,
            )
            wait_for(server_waits, what="the payment to wait for the lock")
            # The call outlives the grace period; its work is then given as long again to end.
            stopping = threading.Thread(target=first.stop, args=(GRACE,), name="stop-first-server")
            stopping.start()
            # The grace period ends with the call still waiting: gRPC gives up on it.
            with pytest.raises(grpc.RpcError) as refused:
                call.result(timeout=60)
            gave_up = rich_error(refused.value)
            # gRPC's own cancellation at the end of the grace period, not the refusal of a call
            # that arrived after the stop began (that one's work never started).
            assert gave_up.code == grpc.StatusCode.UNAVAILABLE and gave_up.reason != "SERVER_SHUTTING_DOWN", gave_up
        stopping.join(60)
        assert not stopping.is_alive(), "the server did not stop once the database was free again"

        if backend.name == "sqlite":
            _sqlite_write_lock_is_free(database)
        second = ServerHandle(settings.with_overrides(listen="127.0.0.1:0"))
        stack.callback(second.stop)
        api = second.stubs(account.api_key)
        created = api.payments.CreatePayment(payment_pb2.CreatePaymentRequest(amount_minor=300, card=CARD))
        assert created.payment.status == payment_pb2.PAYMENT_STATUS_CAPTURED
        # The work the first server had started was finished, not abandoned.
        listed = api.payments.ListPayments(payment_pb2.ListPaymentsRequest(page_size=10)).payments
        finished = [p for p in listed if p.description == IN_FLIGHT]
        assert [p.status for p in finished] == [payment_pb2.PAYMENT_STATUS_CAPTURED], listed
