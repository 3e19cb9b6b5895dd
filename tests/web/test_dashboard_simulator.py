"""The simulator page's chaos profiles, test clocks and reset in a real headless Chromium against
a real server: a profile set from the form is the one the API reads (and counts its draws), a
clock created and advanced in the page reads ready at its new time, a clock left advancing turns
ready in the page without a reload, and the reset asks first, then says what it did.

A failing step saves a screenshot and names its path in the failure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from paysim_proto.v1 import clock_pb2 as C
from paysim_proto.v1 import merchant_pb2, payment_pb2
from paysim_proto.v1 import simulator_pb2 as S
from paysim_proto.v1 import webhook_pb2 as W

from paysim.app.bootstrap import ensure_admin
from paysim.domain.test_clocks import start_advance
from tests.support.client import Stubs
from tests.support.factories import PASSWORD, register_merchant, unique_email
from tests.support.harness import ServerHandle
from tests.support.streams import wait_for
from tests.support.webhook_receiver import WebhookReceiver
from tests.web.browser import open_logged_in, screenshot_on_failure

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def shown(value: datetime) -> str:
    """A time as the dashboard writes it."""
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def test_chaos_profiles_test_clocks_and_reset_from_the_simulator_page(
    make_server: Callable[..., ServerHandle], built_dashboard: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    # No housekeeping round of its own: the test decides when a clock left advancing is finished.
    server = make_server(
        http_listen="127.0.0.1:0", dashboard_dir=str(built_dashboard), maintenance_interval_seconds=3_600
    )
    assert server.server.web is not None
    shop = register_merchant(server.stubs())
    api: Stubs = server.stubs().as_(shop.api_key)
    api.merchants.SetGatewayConfig(merchant_pb2.SetGatewayConfigRequest(gateway="stripe", priority=1))
    context, page, console = open_logged_in(playwright_browser, f"http://127.0.0.1:{server.server.web.port}", shop)
    try:
        with screenshot_on_failure(page, tmp_path, console):
            page.click("a[data-nav=simulator]")
            _chaos(page, api)
            stuck = _clocks(page, server, api)
            _reset(page, server, api, stuck)
    finally:
        context.close()


def _chaos(page: Any, api: Stubs) -> None:
    form = "#chaos-form"
    page.wait_for_selector("#chaos")  # the (empty) list of profiles
    page.select_option(f"{form} select[data-field=gateway]", "stripe")
    for name, value in (
        ("error-rate", "2.5"),
        ("timeout-rate", "1"),
        ("decline-rate", "3"),
        ("decline-code", "insufficient_funds"),
        ("latency-p50", "40"),
        ("latency-p99", "200"),
        ("seed", "42"),
    ):
        page.fill(f"{form} input[data-field={name}]", value)
    page.click(f"{form} button[data-action=set-chaos]")
    row = '#chaos tr[data-gateway="stripe"]'
    page.wait_for_selector(row)
    profile = api.simulator.GetChaosProfile(S.GetChaosProfileRequest(gateway="stripe")).profile
    assert (profile.error_rate_bps, profile.timeout_rate_bps, profile.decline_rate_bps) == (250, 100, 300)
    assert (profile.decline_code, profile.latency_p50_ms, profile.latency_p99_ms, profile.seed) == (
        "insufficient_funds",
        40,
        200,
        42,
    )
    cells = [page.text_content(f"{row} [data-testid={k}]") for k in ("error-rate", "timeout-rate", "decline-rate")]
    assert cells == ["2.5%", "1%", "3%"]
    assert page.text_content(f"{row} [data-testid=latency]") == "40 / 200 ms"

    # A second profile, cleared from its row; the first stays.
    page.select_option(f"{form} select[data-field=gateway]", "simulator")
    page.fill(f"{form} input[data-field=error-rate]", "10")
    page.click(f"{form} button[data-action=set-chaos]")
    page.click('#chaos tr[data-gateway="simulator"] button[data-action=clear-chaos]')
    page.wait_for_selector('#chaos tr[data-gateway="simulator"]', state="detached")
    assert [p.gateway for p in api.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles] == ["stripe"]

    # A payment routed to stripe draws from the profile: the page counts what the API counts.
    card = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
    api.payments.CreatePayment(payment_pb2.CreatePaymentRequest(amount_minor=1250, currency_code="EUR", card=card))
    draws = api.simulator.GetChaosProfile(S.GetChaosProfileRequest(gateway="stripe")).profile.draws
    assert draws >= 1
    page.click("a[data-nav=payments]")
    page.click("a[data-nav=simulator]")
    page.wait_for_selector(f'{row} [data-testid=draws]:text-is("{draws}")')
    # Picking a gateway that has a profile fills the form with it.
    page.select_option(f"{form} select[data-field=gateway]", "stripe")
    assert page.input_value(f"{form} input[data-field=seed]") == "42"


def _clocks(page: Any, server: ServerHandle, api: Stubs) -> str:
    page.fill("#clock-name", "checkout")
    page.fill("#clock-time", START.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("#clock-form button[type=submit]")
    page.wait_for_selector("#clocks tr[data-clock-id]")
    (clock,) = api.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks
    assert (clock.name, clock.frozen_time.ToDatetime(UTC)) == ("checkout", START)
    row = f'#clocks tr[data-clock-id="{clock.id}"]'
    page.wait_for_selector(f'{row}[data-status="ready"] [data-testid=frozen-time]:text-is("{shown(START)}")')

    # Advanced in the page: answered at once, read again until it is ready at the new time.
    later = START + timedelta(days=8)
    page.fill(f"{row} input[data-field=advance-to]", later.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click(f"{row} button[data-action=advance]")
    page.wait_for_selector(f'{row}[data-status="ready"] [data-testid=frozen-time]:text-is("{shown(later)}")')
    moved = api.clocks.GetTestClock(C.GetTestClockRequest(test_clock_id=clock.id)).test_clock
    assert (moved.status, moved.frozen_time.ToDatetime(UTC)) == (C.TEST_CLOCK_STATUS_READY, later)

    # A clock that a stopped process left advancing: the page shows it advancing, and polls.
    stuck = api.clocks.CreateTestClock(C.CreateTestClockRequest(name="stuck", frozen_time=ts(START))).test_clock
    target = START + timedelta(days=1)
    server.run(_leave_advancing(server, stuck.id, target))
    page.click("a[data-nav=payments]")
    page.click("a[data-nav=simulator]")
    stuck_row = f'#clocks tr[data-clock-id="{stuck.id}"]'
    page.wait_for_selector(f'{stuck_row}[data-status="advancing"]')
    assert page.text_content(f"{stuck_row} [data-testid=status]") == f"advancing to {shown(target)}"
    assert page.is_disabled(f"{stuck_row} button[data-action=advance]")
    return stuck.id


def _reset(page: Any, server: ServerHandle, api: Stubs, stuck: str) -> None:
    # An outage too, for the reset to clear.
    page.click('#outages tr[data-gateway="stripe"] button[data-action="outage-error"]')
    page.wait_for_selector('#outages tr[data-gateway="stripe"][data-outage="error"]')

    # The reset asks first: cancelled, nothing changes.
    page.click("#reset")
    page.wait_for_selector("#reset-confirm:not([hidden])")
    page.click("#reset-confirm button[data-action=cancel-reset]")
    page.wait_for_selector("#reset-confirm", state="hidden")
    assert len(api.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles) == 1

    page.click("#reset")
    page.click("#reset-confirm button[data-action=confirm-reset]")
    page.wait_for_selector("#reset-report:not([hidden])")
    report = page.text_content("#reset-report") or ""
    assert re.fullmatch(
        r"Reset: 1 gateway with outages or scripts cleared, 1 chaos profile removed, \d+ circuit breakers? reset, "
        rf"1 test clock deleted\. Kept \(objects live on them, or advancing\): {stuck}\.",
        report,
    ), report
    # The page read it all again before the report showed: no profile, no outage, only the clock
    # left advancing.
    assert page.query_selector("#chaos.empty") is not None
    assert page.query_selector('#outages tr[data-gateway="stripe"][data-outage="none"]') is not None
    assert api.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles == []
    assert api.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults == []
    assert [c.id for c in api.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks] == [stuck]
    assert page.eval_on_selector_all("#clocks tr[data-clock-id]", "rows => rows.map(r => r.dataset.clockId)") == [stuck]

    # A housekeeping round finishes the advance: the page, polling, shows it ready.
    server.run(server.server.maintenance.run_once())
    target = START + timedelta(days=1)
    row = f'#clocks tr[data-clock-id="{stuck}"]'
    page.wait_for_selector(f'{row}[data-status="ready"] [data-testid=frozen-time]:text-is("{shown(target)}")')


async def _leave_advancing(server: ServerHandle, clock_id: str, target: datetime) -> None:
    """What a process that stopped in the middle of an advance leaves behind."""
    await server.server.maintenance.stop()
    async with server.app.unit_of_work() as uow:
        clock = await uow.test_clocks.get(clock_id, for_update=True)
        assert clock is not None
        advancing = start_advance(clock, target)
        assert advancing is not None
        await uow.test_clocks.save(advancing)
        await uow.commit()


@dataclass(frozen=True)
class Admin:
    email: str
    password: str


def test_an_admin_names_the_merchant_for_its_clocks_and_reads_its_payments_webhooks(
    make_server: Callable[..., ServerHandle], built_dashboard: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    server = make_server(http_listen="127.0.0.1:0", dashboard_dir=str(built_dashboard), webhook_backoff_scale=0.001)
    assert server.server.web is not None
    admin = Admin(unique_email("admin"), PASSWORD)
    server.run(ensure_admin(server.app, admin.email, admin.password))
    shop = register_merchant(server.stubs())
    api: Stubs = server.stubs().as_(shop.api_key)
    receiver = WebhookReceiver()
    api.webhooks.CreateWebhookEndpoint(W.CreateWebhookEndpointRequest(url=receiver.url, event_types=["*"]))
    card = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
    paid = api.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(amount_minor=1250, currency_code="EUR", card=card)
    ).payment
    context, page, console = open_logged_in(playwright_browser, f"http://127.0.0.1:{server.server.web.port}", admin)
    try:
        with screenshot_on_failure(page, tmp_path, console):
            # The whole platform: outages only, and a word on naming a merchant for the rest.
            page.click("a[data-nav=simulator]")
            page.wait_for_selector("#name-a-merchant")
            assert page.query_selector("#clock-form") is None and page.query_selector("#reset") is None

            # Named in the header: the merchant's clocks, created for it.
            page.fill("#scope-merchant", shop.merchant_id)
            page.press("#scope-merchant", "Enter")
            page.fill("#clock-name", "for the shop")
            page.fill("#clock-time", START.strftime("%Y-%m-%dT%H:%M:%S"))
            page.click("#clock-form button[type=submit]")
            page.wait_for_selector("#clocks tr[data-clock-id]")
            clocks = api.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks
            assert [c.name for c in clocks] == ["for the shop"]

            # The payment's timeline reads the merchant's delivery log, naming the merchant.
            wait_for(lambda: len(receiver.received) >= 1, what="a delivery")
            events = api.payments.ListPaymentEvents(payment_pb2.ListPaymentEventsRequest(payment_id=paid.id)).events
            page.evaluate("where => { window.location.hash = where; }", f"#/payments/{paid.id}")
            for event in events:
                page.wait_for_selector(f'#payment-webhooks tr[data-event-type="{event.type}"]')
    finally:
        context.close()
        receiver.stop()
