"""Several dispatchers on one PostgreSQL database (each with its own connection pool, as separate
processes have) share the outbox: every delivery is sent, and no attempt is ever sent twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W

from paysim.app.bootstrap import App, bootstrap
from tests.support import backends
from tests.support.backends import Backend
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.harness import test_settings as settings_for
from tests.support.webhook_receiver import WebhookReceiver

PAYMENTS = 12
CONCURRENCY = 3  # per dispatcher: with the receiver slow, every dispatcher stays busy


@pytest.fixture
def database(backend: Backend, tmp_path: Path) -> Iterator[Backend]:
    if backend.name != "postgres":
        pytest.skip("several dispatchers share one database on PostgreSQL only (SQLite serves one process)")
    with backends.provision(backend.name, tmp_path / "db") as private:
        yield private


def test_dispatchers_never_send_the_same_attempt_twice(database: Backend, tmp_path: Path) -> None:
    receiver = WebhookReceiver(delay_seconds=0.05)
    # The API server writes the outbox and sends nothing; three dispatchers do.
    settings = settings_for(
        database, tmp_path / "data", webhook_dispatch=False, webhook_concurrency=CONCURRENCY, webhook_poll_seconds=0.05
    )
    server = ServerHandle(settings)
    dispatchers: list[App] = []
    try:
        shop = register_merchant(server.stubs())
        api = server.stubs(shop.api_key)
        api.webhooks.CreateWebhookEndpoint(W.CreateWebhookEndpointRequest(url=receiver.url, event_types=["*"]))
        card = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Two")
        ids = [
            api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=700, card=card)).payment.id
            for _ in range(PAYMENTS)
        ]
        events = {
            e.id for p in ids for e in api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=p)).events
        }
        assert not receiver.received

        async def start_dispatchers() -> None:
            for _ in range(3):
                app = await bootstrap(
                    settings.with_overrides(webhook_dispatch=True, db_pool_size=4), run_migrations=False
                )
                dispatchers.append(app)
            for app in dispatchers:
                app.dispatcher.start()

        server.run(start_dispatchers())
        got = receiver.wait_for(lambda rs: {r.event_id for r in rs} >= events, timeout=60)
        attempts = Counter((r.headers["paysim-delivery-id"], r.headers["paysim-attempt"]) for r in got)
        assert attempts and max(attempts.values()) == 1, [a for a, n in attempts.items() if n > 1]
        assert len(got) == len(events)  # each delivery once: nothing failed, nothing retried
        assert receiver.peak_in_flight > CONCURRENCY  # more than one dispatcher was sending at once
        listed = api.webhooks.ListWebhookDeliveries(W.ListWebhookDeliveriesRequest(page_size=500)).webhook_deliveries
        assert len(listed) == len(events)
    finally:
        for app in dispatchers:
            server.run(app.close())
        server.stop()
        receiver.stop()
