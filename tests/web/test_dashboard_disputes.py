"""The disputes pages and the payment timeline's 3-D Secure steps, dispute and webhooks sent, in a
real headless Chromium against a real server: disputes listed and filtered by status, evidence
submitted and the review's decision arriving live, a dispute accepted after a confirmation; a
challenge issued and completed, one expiring live as its test clock advances, and the payment's
webhook deliveries with a redelivery from the timeline.

A failing step saves a screenshot and names its path in the failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from paysim_proto.v1 import clock_pb2 as C
from paysim_proto.v1 import dispute_pb2 as D
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import threeds_pb2 as T
from paysim_proto.v1 import webhook_pb2 as W

from paysim.domain.disputes import REVIEW_PERIOD
from tests.support.client import Stubs
from tests.support.disputes import FRAUDULENT, INQUIRY, card, get, housekeeping, pay
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import wait_for
from tests.support.webhook_receiver import WebhookReceiver
from tests.web.browser import open_logged_in, screenshot_on_failure

CHALLENGE_CARD = "4000000000003220"  # its issuer always challenges
START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def open_hash(page: Any, where: str) -> None:
    """Go to a page of the app without reloading it (a reload would log out: tokens live in memory)."""
    page.evaluate("where => { window.location.hash = where; }", where)


def test_disputes_are_listed_answered_and_accepted_in_the_browser(
    make_server: Callable[..., ServerHandle], built_dashboard: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    server = make_server(http_listen="127.0.0.1:0", dashboard_dir=str(built_dashboard))  # its clock moves
    assert server.server.web is not None
    shop = register_merchant(server.stubs())
    api: Stubs = server.stubs().as_(shop.api_key)
    chargeback, inquiry = pay(api, FRAUDULENT), pay(api, INQUIRY)
    context, page, console = open_logged_in(playwright_browser, f"http://127.0.0.1:{server.server.web.port}", shop)
    try:
        with screenshot_on_failure(page, tmp_path, console):
            page.click("a[data-nav=disputes]")
            rows = "#disputes tr[data-dispute-id]"
            page.wait_for_selector(rows)
            listed = page.eval_on_selector_all(rows, "rows => rows.map(r => [r.dataset.disputeId, r.dataset.status])")
            assert listed == [
                [inquiry.dispute.id, "warning_needs_response"],
                [chargeback.dispute.id, "needs_response"],
            ]
            # The chargeback's payment, from the list: its dispute, and no refund while it holds the money.
            page.click(f'tr[data-dispute-id="{chargeback.dispute.id}"] a[href^="#/payments/"]')
            page.wait_for_selector(f'#payment-dispute tr[data-dispute-id="{chargeback.dispute.id}"]')
            assert page.query_selector("#refund-amount") is None
            page.click("a[data-nav=disputes]")
            page.select_option("#dispute-status", label="won")
            page.click("#apply")
            page.wait_for_selector("#no-disputes:not([hidden])")
            page.select_option("#dispute-status", label="needs a response")
            page.click("#apply")
            page.wait_for_selector(f'tr[data-dispute-id="{chargeback.dispute.id}"]')

            # Evidence for the chargeback: under review, then won when the review decides it.
            page.click(f'tr[data-dispute-id="{chargeback.dispute.id}"] a[href^="#/disputes/"]')
            page.fill("[data-evidence=productDescription]", "A blue teapot")
            page.fill("[data-evidence=uncategorizedText]", "winning_evidence")
            page.click("button[data-action=submit-evidence]")
            page.wait_for_selector('#dispute-facts[data-status="under_review"]')
            assert page.text_content("#evidence [data-evidence=productDescription]") == "A blue teapot"
            assert page.query_selector("#evidence-form") is None  # answered: no second answer
            reviewed = get(api, chargeback.dispute.id)
            assert (reviewed.status, reviewed.evidence.product_description) == (
                D.DISPUTE_STATUS_UNDER_REVIEW,
                "A blue teapot",
            )
            page.wait_for_selector("#live.live")  # the page's event stream is open
            housekeeping(server, REVIEW_PERIOD)
            page.wait_for_selector('#dispute-facts[data-status="won"]')  # live, from the payment's events
            assert page.text_content("[data-fact='closed because']") == "evidence_won"
            assert page.text_content("[data-fact=reinstated]") == "100.00 USD"

            # The payment's timeline has it, linked.
            page.click("[data-fact=payment] a")
            page.wait_for_selector(f'#payment-dispute tr[data-dispute-id="{chargeback.dispute.id}"][data-status="won"]')
            page.wait_for_selector("#events tr[data-event-type='dispute.closed']")
            assert page.query_selector("#refund-amount") is not None  # won: refundable again

            # The inquiry, accepted: a confirmation first, then closed.
            page.click("a[data-nav=disputes]")
            page.click(f'tr[data-dispute-id="{inquiry.dispute.id}"] a[href^="#/disputes/"]')
            page.click("button[data-action=accept]")
            page.click("button[data-action=confirm-accept]")
            page.wait_for_selector('#dispute-facts[data-status="warning_closed"]')
            closed = get(api, inquiry.dispute.id)
            assert (closed.status, closed.close_reason) == (D.DISPUTE_STATUS_WARNING_CLOSED, "accepted")
            assert page.query_selector("#dispute-answer") is None
    finally:
        context.close()


def test_the_timeline_shows_3ds_steps_and_the_webhooks_sent(
    make_server: Callable[..., ServerHandle], built_dashboard: Path, playwright_browser: Any, tmp_path: Path
) -> None:
    server = make_server(http_listen="127.0.0.1:0", dashboard_dir=str(built_dashboard), webhook_backoff_scale=0.001)
    assert server.server.web is not None
    shop = register_merchant(server.stubs())
    api: Stubs = server.stubs().as_(shop.api_key)
    receiver = WebhookReceiver()
    api.webhooks.CreateWebhookEndpoint(W.CreateWebhookEndpointRequest(url=receiver.url, event_types=["*"]))
    context, page, console = open_logged_in(playwright_browser, f"http://127.0.0.1:{server.server.web.port}", shop)
    try:
        with screenshot_on_failure(page, tmp_path, console):
            _challenge_completed_and_webhooks(page, api, receiver)
            _challenge_expires_live(page, api)
    finally:
        context.close()
        receiver.stop()


def _challenge_completed_and_webhooks(page: Any, api: Stubs, receiver: WebhookReceiver) -> None:
    request = P.CreatePaymentRequest(amount_minor=1000, currency_code="USD", card=card(CHALLENGE_CARD))
    waiting = api.payments.CreatePayment(request).payment
    assert waiting.status == P.PAYMENT_STATUS_REQUIRES_ACTION
    challenge = waiting.next_action.three_ds_challenge
    answer = api.threeds.SimulateAcs(
        T.SimulateAcsRequest(
            payment_id=waiting.id, challenge_request=challenge.challenge_request, action=T.ACS_ACTION_APPROVE
        )
    )
    complete = T.CompleteChallengeRequest(
        payment_id=waiting.id, challenge_id=challenge.id, acs_result=answer.acs_result
    )
    assert api.threeds.CompleteChallenge(complete).payment.status == P.PAYMENT_STATUS_CAPTURED

    # Every event of the payment delivered (the endpoint takes every type): the log the page reads.
    events = api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=waiting.id, page_size=100)).events

    def deliveries() -> list[W.WebhookDelivery]:
        found: list[W.WebhookDelivery] = []
        for event in events:
            request = W.ListWebhookDeliveriesRequest(event_id=event.id)
            found += api.webhooks.ListWebhookDeliveries(request).webhook_deliveries
        return found

    wait_for(lambda: all(d.state == W.WEBHOOK_DELIVERY_STATE_DELIVERED for d in deliveries()), what="every delivery")
    expected = {d.id: d.event_type for d in deliveries()}
    assert sorted(expected.values()) == sorted(e.type for e in events)

    open_hash(page, f"#/payments/{waiting.id}")
    steps = page.wait_for_selector("#three-ds tr[data-step='challenge_completed']")
    assert steps is not None
    shown_steps = page.eval_on_selector_all("#three-ds tr[data-step]", "rows => rows.map(r => r.dataset.step)")
    assert shown_steps == ["challenge_issued", "challenge_completed"]
    assert challenge.id in (page.text_content("#three-ds tr[data-step='challenge_issued']") or "")
    assert "trans status Y" in (page.text_content("#three-ds tr[data-step='challenge_completed']") or "")
    delivered = "#payment-webhooks tr[data-delivery-id][data-state='delivered']"
    # (Not wait_for_function: its polling evaluates a string, which the page's CSP refuses.)
    for delivery_id in expected:
        page.wait_for_selector(f'#payment-webhooks tr[data-delivery-id="{delivery_id}"][data-state="delivered"]')
    shown = page.eval_on_selector_all(delivered, "rows => rows.map(r => [r.dataset.deliveryId, r.dataset.eventType])")
    assert dict(shown) == expected
    assert all(
        text == "HTTP 200"
        for text in page.eval_on_selector_all(
            "#payment-webhooks [data-testid=answer]", "cells => cells.map(c => c.textContent)"
        )
    )

    # Redelivered from the timeline: the same event arrives again, as a new delivery of the log.
    first_id, first_type = shown[0]
    before = len(receiver.received)
    page.click(f'#payment-webhooks tr[data-delivery-id="{first_id}"] button[data-action=redeliver]')
    again = receiver.wait_count(before + 1)[before]
    assert again.headers["paysim-delivery-id"] != first_id and again.json["type"] == first_type
    redelivery = f'#payment-webhooks tr[data-delivery-id="{again.headers["paysim-delivery-id"]}"]'
    page.wait_for_selector(f"{redelivery}[data-state='delivered']")
    assert f"(again: {first_id})" in (page.text_content(redelivery) or "")


def _challenge_expires_live(page: Any, api: Stubs) -> None:
    clock = api.clocks.CreateTestClock(C.CreateTestClockRequest(name="expiry", frozen_time=ts(START))).test_clock
    request = P.CreatePaymentRequest(
        amount_minor=1000, currency_code="USD", card=card(CHALLENGE_CARD), test_clock_id=clock.id
    )
    waiting = api.payments.CreatePayment(request).payment
    open_hash(page, f"#/payments/{waiting.id}")
    page.wait_for_selector("#three-ds tr[data-step='challenge_issued']")
    page.wait_for_selector('[data-fact=status]:text-is("requires_action")')
    page.wait_for_selector("#live.live")  # the page's event stream is open

    # The clock passes the challenge's 15 minutes: the timeline shows it expire, without a reload.
    advance = C.AdvanceTestClockRequest(test_clock_id=clock.id, frozen_time=ts(START + timedelta(minutes=16)))
    api.clocks.AdvanceTestClock(advance)
    page.wait_for_selector("#three-ds tr[data-step='challenge_expired']")
    page.wait_for_selector('[data-fact=status]:text-is("failed")')
    expired = page.text_content("#three-ds tr[data-step='challenge_expired']") or ""
    assert "challenge_expired" in expired and (START + timedelta(minutes=15)).strftime("%H:%M") in expired
