"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright;
nothing downloads a browser), against a real server with its HTTP port on: log in, watch a
payment made from the CLI appear live on the list, open its timeline, switch an outage on and
see the next payment fail over, and read the analytics chart's numbers against the API's.

A failing step saves a screenshot and names its path in the failure."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from paysim_proto.v1 import analytics_pb2, analytics_pb2_grpc, merchant_pb2, payment_pb2, simulator_pb2

from tests.support.client import Stubs
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import wait_for
from tests.support.webhook_receiver import WebhookReceiver
from tests.web.browser import STEP_MS, open_logged_in, screenshot_on_failure

CARD = "4242424242424242"


def cli_payment(server: ServerHandle, shop: MerchantAccount, home: Path) -> str:
    """A payment made by `paysim payments create`, as a person would; returns its id."""
    env = dict(os.environ, HOME=str(home), PAYSIM_TARGET=server.target, PAYSIM_API_KEY=shop.api_key)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "paysim.cli",
            "payments",
            "create",
            "--amount",
            "12.50",
            "--currency",
            "EUR",
            "--card",
            CARD,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    payment_id: str = json.loads(done.stdout)["id"]
    return payment_id


def demo_seed(server: ServerHandle, shop: MerchantAccount, home: Path, payments: int) -> None:
    """`paysim demo seed --payments N` for the merchant, as the README has a person run it."""
    env = dict(os.environ, HOME=str(home), PAYSIM_TARGET=server.target, PAYSIM_API_KEY=shop.api_key)
    done = subprocess.run(
        [sys.executable, "-m", "paysim.cli", "demo", "seed", "--payments", str(payments), "--seed", "7"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def last_day() -> analytics_pb2.TimeRange:
    """The dashboard's default span: the 24 hours up to the end of the current hour."""
    now = datetime.now(UTC)
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start_ts, end_ts = Timestamp(), Timestamp()
    start_ts.FromDatetime(end - timedelta(hours=24))
    end_ts.FromDatetime(end)
    return analytics_pb2.TimeRange(start_time=start_ts, end_time=end_ts)


def test_a_person_watches_payments_live_and_fails_a_gateway_over(
    make_server: Callable[..., ServerHandle], built_dashboard: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    server = make_server(http_listen="127.0.0.1:0", dashboard_dir=str(built_dashboard))
    assert server.server.web is not None
    base = f"http://127.0.0.1:{server.server.web.port}"
    shop = register_merchant(server.stubs())
    api: Stubs = server.stubs().as_(shop.api_key)
    for priority, gateway in enumerate(("stripe", "razorpay"), start=1):
        api.merchants.SetGatewayConfig(merchant_pb2.SetGatewayConfigRequest(gateway=gateway, priority=priority))

    context = playwright_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    try:
        with screenshot_on_failure(page, tmp_path, console):
            _walk_through(page, base, server, shop, api, tmp_path)
    finally:
        context.close()


def _walk_through(page: Any, base: str, server: ServerHandle, shop: MerchantAccount, api: Stubs, home: Path) -> None:
    # Log in: the token stays in the page's memory, nothing in its storage.
    page.goto(base + "/")
    page.fill("#email", shop.email)
    page.fill("#password", shop.password)
    page.click("#login")
    page.wait_for_selector("#payments")
    page.wait_for_selector("#live.live")  # the event stream is open
    assert page.text_content("[data-testid=who]") == shop.email
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""

    # A payment from the CLI appears on the open list, without a reload.
    first = cli_payment(server, shop, home)
    row = f'tr[data-payment-id="{first}"]'
    page.wait_for_selector(f'{row}[data-status="captured"]')
    assert page.text_content(f"{row} [data-testid=gateway]") == "stripe"
    assert "12.50 EUR" in page.text_content(row)

    # Its timeline: the gateway call and every event, as the API has them.
    page.click(f"{row} a")
    page.wait_for_selector("#events tr[data-event-type='payment.captured']")
    listed = api.payments.ListPaymentEvents(payment_pb2.ListPaymentEventsRequest(payment_id=first, page_size=100))
    shown = page.eval_on_selector_all("#events tr[data-event-type]", "rows => rows.map(r => r.dataset.eventType)")
    assert shown == [event.type for event in listed.events]
    attempts = page.eval_on_selector_all(
        "#attempts tbody tr", "rows => rows.map(r => r.dataset.gateway + ':' + r.dataset.outcome)"
    )
    assert attempts == ["stripe:approved"]

    # A partial refund from the timeline: typed in major units, sent in minor units.
    page.fill("#refund-amount", "5.00")
    page.fill("#refund-reason", "from the browser")
    page.click("#payment-actions button[data-action=refund]")
    page.wait_for_selector('[data-fact=status]:text-is("partially_refunded")')
    page.wait_for_selector("#refunds tbody tr")
    refunded = api.payments.GetPayment(payment_pb2.GetPaymentRequest(payment_id=first)).payment
    assert (refunded.refunded_amount_minor, [r.reason for r in refunded.refunds]) == (500, ["from the browser"])

    # An outage of the first gateway, switched on in the simulator page...
    page.click("a[data-nav=simulator]")
    page.click('#outages tr[data-gateway="stripe"] button[data-action="outage-error"]')
    page.wait_for_selector('#outages tr[data-gateway="stripe"][data-outage="error"]')
    faults = api.simulator.ListGatewayFaults(simulator_pb2.ListGatewayFaultsRequest()).faults
    assert [(f.gateway, f.outage_mode) for f in faults] == [("stripe", simulator_pb2.OUTAGE_MODE_ERROR)]

    # ...and the next payment fails over to the second, live on the list and in its timeline.
    page.click("a[data-nav=payments]")
    page.wait_for_selector("#live.live")
    second = cli_payment(server, shop, home)
    row = f'tr[data-payment-id="{second}"]'
    page.wait_for_selector(f'{row}[data-status="captured"]')
    assert page.text_content(f"{row} [data-testid=gateway]") == "razorpay"
    page.click(f"{row} a")
    page.wait_for_selector("#attempts tbody tr")
    attempts = page.eval_on_selector_all(
        "#attempts tbody tr", "rows => rows.map(r => r.dataset.gateway + ':' + r.dataset.outcome)"
    )
    assert attempts == ["stripe:error", "razorpay:approved"]

    # The analytics page's figures are the API's.
    seen: list[analytics_pb2.PaymentMetrics] = []

    metrics = analytics_pb2_grpc.AnalyticsServiceStub(server.channel())
    key = [("authorization", f"Bearer {shop.api_key}")]

    def both_counted() -> bool:
        reply = metrics.GetPaymentMetrics(
            analytics_pb2.GetPaymentMetricsRequest(range=last_day(), bucket_size=analytics_pb2.BUCKET_SIZE_HOUR),
            metadata=key,
            timeout=30,
        )
        seen.append(reply.total)
        return reply.total.captured == 2

    wait_for(both_counted, timeout=30, what="the read model to count both payments")
    total = seen[-1]
    page.click("a[data-nav=analytics]")
    page.click("#refresh")  # after the read model has them: this answer counts both
    page.wait_for_selector("#volume-chart", state="attached")
    # A selector, not wait_for_function: that one's polling evaluates a string, which the CSP refuses.
    page.wait_for_selector('[data-testid=total-captured]:text-is("2")')
    assert page.text_content("[data-testid=total-payments]") == str(total.payments)
    assert page.text_content("[data-testid=total-success-rate]") == f"{total.success_rate * 100:.1f}%"
    bars = page.eval_on_selector_all("#volume-chart rect[data-value]", "bars => bars.map(b => Number(b.dataset.value))")
    assert len(bars) == 24 and sum(bars) == total.payments
    assert re.fullmatch(r"25\.00 EUR", page.text_content('#volumes tr[data-currency="EUR"] td.amount') or "")
    performance = page.eval_on_selector_all(
        "#gateways tr[data-gateway]", "rows => rows.map(r => [r.dataset.gateway, r.children[1].textContent])"
    )
    gateways = metrics.GetGatewayPerformance(
        analytics_pb2.GetGatewayPerformanceRequest(range=last_day()), metadata=key, timeout=30
    ).gateways
    # stripe: the first payment's authorization and refund, the second's failed authorization.
    assert dict(performance) == {g.gateway: str(g.attempts) for g in gateways} == {"stripe": "3", "razorpay": "1"}


def test_api_keys_and_webhooks_are_managed_from_the_browser(
    make_server: Callable[..., ServerHandle], built_dashboard: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    server = make_server(http_listen="127.0.0.1:0", dashboard_dir=str(built_dashboard), webhook_backoff_scale=0.001)
    assert server.server.web is not None
    base = f"http://127.0.0.1:{server.server.web.port}"
    shop = register_merchant(server.stubs())
    receiver = WebhookReceiver()
    context, page, console = open_logged_in(playwright_browser, base, shop)
    try:
        with screenshot_on_failure(page, tmp_path, console):
            # A key made in the page is listed by the API; its secret is shown once, and works.
            page.click("a[data-nav=keys]")
            page.fill("#api-key-name", "from the browser")
            page.click("#api-key-name ~ button")
            page.wait_for_selector("#api-key-secret:not([hidden])")
            secret = (page.text_content("#api-key-secret") or "").rsplit(" ", 1)[-1]
            owner = server.stubs().as_(shop.access_token)  # keys are managed by users, not by keys
            keys = owner.merchants.ListApiKeys(merchant_pb2.ListApiKeysRequest()).api_keys
            made = [k for k in keys if k.name == "from the browser"]
            assert len(made) == 1 and secret.startswith(made[0].prefix)
            page.wait_for_selector(f'tr[data-api-key-id="{made[0].id}"]')
            assert server.stubs().as_(secret).payments.ListPayments(payment_pb2.ListPaymentsRequest()) is not None

            # The next payment's outcome, scripted in the simulator page: a decline.
            page.click("a[data-nav=simulator]")
            row = '#outages tr[data-gateway="simulator"]'
            page.select_option(f"{row} select[data-field=kind]", label="decline")
            page.fill(f"{row} input[data-field=decline-code]", "insufficient_funds")
            page.click(f"{row} button[data-action=script]")
            page.wait_for_selector(f'{row} [data-testid=scripted]:text-is("1")')

            # An endpoint added in the page receives the next payment's event; redelivered from
            # the delivery log, it arrives again.
            page.click("a[data-nav=webhooks]")
            page.fill("#webhook-url", receiver.url)
            page.fill("#webhook-types", "payment.created")
            page.click("#webhook-types ~ button")
            page.wait_for_selector("#webhook-secret:not([hidden])")
            page.wait_for_selector("#endpoints tr[data-endpoint-id]")
            declined = cli_payment(server, shop, tmp_path)
            (first,) = receiver.wait_count(1)
            page.click("a[data-nav=keys]")  # and back: the page reads the log afresh
            page.click("a[data-nav=webhooks]")
            delivery_id = first.headers["paysim-delivery-id"]
            page.click(f'tr[data-delivery-id="{delivery_id}"] button[data-action=redeliver]')
            again = receiver.wait_count(2)[1]
            assert again.event_id == first.event_id and again.headers["paysim-delivery-id"] != delivery_id
            page.wait_for_selector(f'tr[data-delivery-id="{again.headers["paysim-delivery-id"]}"]')

            page.click("a[data-nav=payments]")
            page.click(f'tr[data-payment-id="{declined}"][data-status="declined"] a')
            page.wait_for_selector('[data-fact=decline]:text-matches("^insufficient_funds: ")')
    finally:
        context.close()
        receiver.stop()


def test_payments_arrive_live_while_demo_seed_runs(
    make_server: Callable[..., ServerHandle], built_dashboard: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    """The README's walk-through: the payments list open, `paysim demo seed` run in a terminal,
    and every payment it makes appears in the list without a reload."""
    server = make_server(http_listen="127.0.0.1:0", dashboard_dir=str(built_dashboard))
    assert server.server.web is not None
    shop = register_merchant(server.stubs())
    api: Stubs = server.stubs().as_(shop.api_key)
    context, page, console = open_logged_in(playwright_browser, f"http://127.0.0.1:{server.server.web.port}", shop)
    try:
        with screenshot_on_failure(page, tmp_path, console):
            page.wait_for_selector("#live.live")  # the event stream is open
            demo_seed(server, shop, tmp_path, 8)
            made = api.payments.ListPayments(payment_pb2.ListPaymentsRequest(page_size=50)).payments
            assert len(made) >= 8
            for payment in made:
                page.wait_for_selector(f'tr[data-payment-id="{payment.id}"]')
    finally:
        context.close()
