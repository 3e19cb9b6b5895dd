"""AnalyticsService through a real server and the SDK: the read model follows the payments."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from paysim_client import Client, SimulationOverride, errors
from paysim_client.types import CaptureMethod

from paysim.services.analytics_projector import AnalyticsProjector
from paysim.services.analytics_verification import verify_analytics
from paysim.services.event_bus import InProcessBus
from paysim.store.analytics_writer import AnalyticsWriter
from paysim.store.event_log import EventLog
from paysim.store.pg_analytics_writer import PgAnalyticsWriter
from tests.sdk.conftest import VISA
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _caught_up(server: ServerHandle) -> None:
    server.run(server.app.projector.catch_up())


def _window(client: Client, payment_id: str) -> tuple[datetime, datetime]:
    created = client.payments.get(payment_id).create_time.ToDatetime(tzinfo=UTC)
    start = created.replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    return start, start + timedelta(days=3)


def _make_payments(client: Client) -> dict[str, str]:
    customer = client.customers.create(email="grace.hopper@example.test", name="Grace")
    captured = client.payments.create(
        amount_minor=1000, card=VISA, customer_id=customer.id, description="Blue teapot", metadata={"sku": "tp-42"}
    )
    client.payments.refund(captured.id, amount_minor=300)
    declined = client.payments.create(
        amount_minor=500, card=VISA, simulate=SimulationOverride(outcome="decline:insufficient_funds")
    )
    held = client.payments.create(
        amount_minor=700, currency_code="EUR", card=VISA, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL
    )
    client.payments.void(held.id)
    return {"captured": captured.id, "declined": declined.id, "voided": held.id, "customer": customer.id}


def test_metrics_follow_the_payments(server: ServerHandle, client: Client) -> None:
    made = _make_payments(client)
    _caught_up(server)
    start, end = _window(client, made["captured"])
    reply = client.analytics.payment_metrics(start, end, bucket="hour")
    total = reply.total
    assert (total.payments, total.volume) == (3, 2200)
    assert (total.authorized, total.declined, total.captured, total.voided) == (2, 1, 1, 1)
    assert (total.captured_volume, total.refunds, total.refunded_volume) == (1000, 1, 300)
    assert total.success_rate == pytest.approx(2 / 3) and total.decline_rate == pytest.approx(1 / 3)
    assert sum(b.metrics.payments for b in reply.buckets) == 3
    by_currency = client.analytics.payment_metrics(start, end, bucket="day", group_by="currency")
    payments_per_currency: dict[str, int] = {}
    for bucket in by_currency.buckets:
        payments_per_currency[bucket.group] = payments_per_currency.get(bucket.group, 0) + bucket.metrics.payments
    assert payments_per_currency == {"USD": 2, "EUR": 1}
    declines = client.analytics.payment_metrics(start, end, bucket="day", group_by="decline_code")
    assert [(b.group, b.metrics.declined) for b in declines.buckets] == [("insufficient_funds", 1)]


def test_top_customers_gateways_and_search(server: ServerHandle, client: Client) -> None:
    made = _make_payments(client)
    _caught_up(server)
    start, end = _window(client, made["captured"])
    top = client.analytics.top_customers(start, end, limit=1)
    assert [(c.customer_id, c.payments, c.captured_volume) for c in top] == [(made["customer"], 1, 1000)]
    assert client.analytics.top_customers(start, end, limit=1, currency="usd") == top  # any case, as Stripe
    gateways = client.analytics.gateway_performance(start, end)
    assert sum(g.attempts for g in gateways) >= 5  # authorize x3, capture, refund, void
    assert all(g.latency_p50_ms <= g.latency_p99_ms for g in gateways)
    for query in ("teapot", "TP-42", "grace.hopper", made["declined"]):
        found = [p.id for p in client.analytics.search(query)]
        assert found == [made["declined"] if query == made["declined"] else made["captured"]], query
    assert len(list(client.analytics.search("4242", page_size=1))) == 3  # every page, one by one


def test_tenants_see_only_their_own_figures(server: ServerHandle, client: Client, admin: Client) -> None:
    made = _make_payments(client)
    _caught_up(server)
    start, end = _window(client, made["captured"])
    other = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=other.api_key) as stranger:
        assert stranger.analytics.payment_metrics(start, end).total.payments == 0
        assert list(stranger.analytics.search(made["captured"])) == []
        with pytest.raises(errors.NotFound):
            stranger.analytics.payment_metrics(start, end, merchant_id=client.merchants.get().id)
    merchant_id = client.payments.get(made["captured"]).merchant_id
    assert admin.analytics.payment_metrics(start, end, merchant_id=merchant_id).total.payments == 3
    assert admin.analytics.payment_metrics(start, end).total.payments >= 3


def test_requests_are_checked(client: Client, merchant: MerchantAccount) -> None:
    now = datetime.now(UTC)
    with pytest.raises(errors.InvalidArgument):
        client.analytics.payment_metrics(now, now - timedelta(hours=1))
    with pytest.raises(errors.InvalidArgument):
        client.analytics.payment_metrics(now - timedelta(days=30), now, bucket="minute")
    with pytest.raises(errors.InvalidArgument):
        list(client.analytics.search("  "))
    with pytest.raises(errors.InvalidArgument):  # split series are kept in hours and days only
        client.analytics.payment_metrics(now - timedelta(hours=1), now, bucket="minute", group_by="currency")
    assert client.analytics.payment_metrics(now - timedelta(hours=1), now, bucket="minute").total.payments >= 0


def test_the_read_model_equals_a_recomputation_and_rebuilds(server: ServerHandle, client: Client) -> None:
    _make_payments(client)
    _caught_up(server)
    report = server.run(verify_analytics(server.app.engine))
    assert report.ok, report.mismatches
    assert report.events > 0
    server.run(server.app.projector.rebuild())
    assert server.run(verify_analytics(server.app.engine)).ok


def test_projectors_racing_count_each_event_once(server: ServerHandle, client: Client) -> None:
    """Several projectors (as in several server processes) over one database, at once; on
    PostgreSQL both kinds of writer race: through SQLAlchemy and through psycopg."""
    app = server.app
    _make_payments(client)
    pool = app.payment_pool
    writers = [
        AnalyticsWriter(app.engine) if pool is None or n % 2 else PgAnalyticsWriter(app.engine, pool) for n in range(4)
    ]
    racing = [AnalyticsProjector(EventLog(app.engine), w, InProcessBus(), app.clock, poll_seconds=1) for w in writers]

    async def race() -> None:
        await asyncio.gather(app.projector.catch_up(), *(p.catch_up() for p in racing))

    server.run(race())
    _make_payments(client)
    server.run(race())
    report = server.run(verify_analytics(app.engine))
    assert report.ok, report.mismatches


def test_the_readme_example_runs(
    server: ServerHandle, client: Client, merchant: MerchantAccount, tmp_path: Path
) -> None:
    _make_payments(client)
    _caught_up(server)
    section = README[README.index("## Analytics\n") :]
    (example,) = re.findall(r"^```python\n(.*?)^```$", section[: section.index("\n## ", 5)], re.M | re.S)
    code = example.replace("localhost:50051", server.target).replace("sk_test_…", merchant.api_key)
    script = tmp_path / "analytics_example.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[0].isdigit() and int(lines[0].split()[0]) >= 3
    assert any("insufficient_funds" in line for line in lines)
