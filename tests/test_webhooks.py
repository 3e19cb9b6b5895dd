"""Webhooks end to end: endpoints through WebhookService, events delivered by the dispatcher to a
real HTTP receiver, signatures checked by Stripe's own verifier, retries on the compressed
schedule, 410, dead deliveries, redelivery, secret rotation and SSRF refusals. Both backends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import stripe
from google.protobuf import json_format
from paysim_client import webhooks as sdk_webhooks
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W

from tests.support import backends
from tests.support.backends import Backend
from tests.support.client import Stubs, expect_error
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle
from tests.support.harness import test_settings as settings_for
from tests.support.webhook_receiver import HANG, Received, WebhookReceiver

PENDING, DELIVERED, DEAD = (
    W.WEBHOOK_DELIVERY_STATE_PENDING,
    W.WEBHOOK_DELIVERY_STATE_DELIVERED,
    W.WEBHOOK_DELIVERY_STATE_DEAD,
)
# Compressed: the second attempt 60 ms after the first, the third 300 ms after that …, and at
# most four attempts. One second to answer; a lost attempt is taken again after three.
FAST = {
    "webhook_backoff_scale": 0.001,
    "webhook_max_attempts": 4,
    "webhook_timeout_seconds": 1.0,
    "webhook_lease_seconds": 3.0,
    "webhook_poll_seconds": 0.2,
}


@pytest.fixture(scope="module")
def hooks(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """A server of its own with the compressed schedule (and its own database)."""
    tmp = tmp_path_factory.mktemp("webhooks")
    with backends.provision(backend.name, tmp / "db") as private:
        handle = ServerHandle(settings_for(private, tmp / "data", **FAST))
        yield handle
        handle.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.stop()


@pytest.fixture
def shop(hooks: ServerHandle) -> MerchantAccount:
    return register_merchant(hooks.stubs())


def _api(server: ServerHandle, shop: MerchantAccount) -> Stubs:
    return server.stubs(shop.api_key)


def create_endpoint(
    api: Stubs, url: str, types: tuple[str, ...] = ("*",), **kw: Any
) -> W.CreateWebhookEndpointResponse:
    reply: W.CreateWebhookEndpointResponse = api.webhooks.CreateWebhookEndpoint(
        W.CreateWebhookEndpointRequest(url=url, event_types=list(types), **kw)
    )
    return reply


def pay(api: Stubs, **kw: Any) -> P.Payment:
    card = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")
    payment: P.Payment = api.payments.CreatePayment(
        P.CreatePaymentRequest(amount_minor=1234, currency_code="USD", card=card, **kw)
    ).payment
    return payment


def events_of(api: Stubs, payment_id: str) -> list[P.PaymentEvent]:
    return list(api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=payment_id)).events)


def deliveries(api: Stubs, **kw: Any) -> list[W.WebhookDelivery]:
    return list(api.webhooks.ListWebhookDeliveries(W.ListWebhookDeliveriesRequest(**kw)).webhook_deliveries)


def wait_deliveries(
    api: Stubs, condition: Callable[[list[W.WebhookDelivery]], bool], timeout: float = 20.0, **kw: Any
) -> list[W.WebhookDelivery]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = deliveries(api, **kw)
        if condition(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries never met the condition: {found}")
        time.sleep(0.05)  # polling an RPC with a deadline: the server has no change feed for this


def verify(received: Received, secret: str) -> stripe.Event:
    """Stripe's verifier, with its default five-minute tolerance."""
    return stripe.Webhook.construct_event(received.body, received.signature, secret)


# --- endpoints -------------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_never_again(hooks: ServerHandle, shop: MerchantAccount) -> None:
    api = _api(hooks, shop)
    created = create_endpoint(api, "http://127.0.0.1:9/hooks", ("payment.captured", "refund.succeeded"))
    endpoint = created.webhook_endpoint
    assert created.secret.startswith("whsec_") and len(created.secret) > 30
    assert endpoint.id.startswith("whe_") and endpoint.merchant_id == shop.merchant_id and endpoint.enabled
    assert list(endpoint.event_types) == ["payment.captured", "refund.succeeded"]
    got = api.webhooks.GetWebhookEndpoint(W.GetWebhookEndpointRequest(webhook_endpoint_id=endpoint.id))
    listed = api.webhooks.ListWebhookEndpoints(W.ListWebhookEndpointsRequest()).webhook_endpoints
    assert got.webhook_endpoint == endpoint and list(listed) == [endpoint]
    for message in (got, listed[0]):
        assert created.secret not in str(message)
    # Nor in the database, where it is sealed.
    assert created.secret not in _dump_endpoints(hooks)


def _dump_endpoints(server: ServerHandle) -> str:
    from sqlalchemy import select

    from paysim.store.schema import webhook_endpoints

    async def dump() -> str:
        async with server.app.engine.connect() as conn:
            return repr((await conn.execute(select(webhook_endpoints))).all())

    return server.run(dump())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "REQUIRED"),
        ("ftp://127.0.0.1/hooks", "INVALID_URL_SCHEME"),
        ("http://user:pw@127.0.0.1/hooks", "INVALID_URL"),
        ("http://10.0.0.7/hooks", "TARGET_NOT_ALLOWED"),
        ("http://192.168.1.20:8080/hooks", "TARGET_NOT_ALLOWED"),
        ("http://169.254.169.254/latest/meta-data", "TARGET_NOT_ALLOWED"),
        ("http://[fe80::1]/hooks", "TARGET_NOT_ALLOWED"),
        ("http://224.0.0.1/hooks", "TARGET_NOT_ALLOWED"),
        ("http://0.0.0.0/hooks", "TARGET_NOT_ALLOWED"),
        ("http://[::ffff:10.1.2.3]/hooks", "TARGET_NOT_ALLOWED"),
        ("http://nothing.invalid/hooks", "HOST_UNRESOLVABLE"),
    ],
)
def test_bad_and_forbidden_urls_are_refused(hooks: ServerHandle, shop: MerchantAccount, url: str, reason: str) -> None:
    err = expect_error(
        _api(hooks, shop).webhooks.CreateWebhookEndpoint, W.CreateWebhookEndpointRequest(url=url, event_types=["*"])
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "url" in err.field_violations, err
    assert err.violation_reasons["url"] == reason, err


def test_loopback_is_allowed_by_default(hooks: ServerHandle, shop: MerchantAccount) -> None:
    api = _api(hooks, shop)
    for url in ("http://127.0.0.1:1/a", "http://localhost:1/b", "http://[::1]:1/c"):
        assert create_endpoint(api, url, enabled=False).webhook_endpoint.url == url


def test_event_types_are_checked(hooks: ServerHandle, shop: MerchantAccount) -> None:
    api = _api(hooks, shop)
    for types in ([], ["payment.exploded"], ["*", "payment.captured"]):
        request = W.CreateWebhookEndpointRequest(url="http://127.0.0.1:1/", event_types=types)
        err = expect_error(api.webhooks.CreateWebhookEndpoint, request)
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "event_types" in err.field_violations


def test_update_delete_and_tenants(hooks: ServerHandle, shop: MerchantAccount) -> None:
    api = _api(hooks, shop)
    other = _api(hooks, register_merchant(hooks.stubs()))
    endpoint = create_endpoint(api, "http://127.0.0.1:1/a").webhook_endpoint
    updated = api.webhooks.UpdateWebhookEndpoint(
        W.UpdateWebhookEndpointRequest(
            webhook_endpoint_id=endpoint.id,
            url="http://127.0.0.1:2/b",
            replace_event_types=True,
            event_types=["payment.voided"],
            enabled=False,
            description="ops",
        )
    ).webhook_endpoint
    assert (updated.url, list(updated.event_types), updated.enabled, updated.description) == (
        "http://127.0.0.1:2/b",
        ["payment.voided"],
        False,
        "ops",
    )
    for call, request in (
        (other.webhooks.GetWebhookEndpoint, W.GetWebhookEndpointRequest(webhook_endpoint_id=endpoint.id)),
        (other.webhooks.DeleteWebhookEndpoint, W.DeleteWebhookEndpointRequest(webhook_endpoint_id=endpoint.id)),
        (other.webhooks.RotateWebhookSecret, W.RotateWebhookSecretRequest(webhook_endpoint_id=endpoint.id)),
        (
            other.webhooks.UpdateWebhookEndpoint,
            W.UpdateWebhookEndpointRequest(webhook_endpoint_id=endpoint.id, enabled=True),
        ),
    ):
        err = expect_error(call, request)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "WEBHOOK_ENDPOINT_NOT_FOUND")
    assert not other.webhooks.ListWebhookEndpoints(W.ListWebhookEndpointsRequest()).webhook_endpoints
    api.webhooks.DeleteWebhookEndpoint(W.DeleteWebhookEndpointRequest(webhook_endpoint_id=endpoint.id))
    err = expect_error(api.webhooks.GetWebhookEndpoint, W.GetWebhookEndpointRequest(webhook_endpoint_id=endpoint.id))
    assert err.code == grpc.StatusCode.NOT_FOUND


def test_admins_manage_any_merchants_endpoints(hooks: ServerHandle, shop: MerchantAccount) -> None:
    from paysim.app.bootstrap import ensure_admin
    from tests.support.factories import PASSWORD, login, unique_email

    email = unique_email("hook-admin")
    hooks.run(ensure_admin(hooks.app, email, PASSWORD))
    admin = hooks.stubs(login(hooks.stubs(), email).tokens.access_token)
    request = W.CreateWebhookEndpointRequest(url="http://127.0.0.1:1/", event_types=["*"])
    err = expect_error(admin.webhooks.CreateWebhookEndpoint, request)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "merchant_id" in err.field_violations
    made = create_endpoint(admin, "http://127.0.0.1:1/", merchant_id=shop.merchant_id).webhook_endpoint
    mine = _api(hooks, shop).webhooks.ListWebhookEndpoints(W.ListWebhookEndpointsRequest()).webhook_endpoints
    assert [e.id for e in mine] == [made.id]


# --- deliveries --------------------------------------------------------------------------------


def test_events_arrive_signed_and_stripe_verifies_them(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    secret = create_endpoint(api, receiver.url).secret
    payment = pay(api, description="mugs", metadata={"order": "7"})
    stored = events_of(api, payment.id)
    got = receiver.wait_count(len(stored))
    assert sorted(r.event_id for r in got) == sorted(e.id for e in stored)
    by_id = {e.id: e for e in stored}
    for r in got:
        event = verify(r, secret)
        body = r.json
        assert event.id == body["id"] == r.event_id
        source = by_id[body["id"]]
        assert body["object"] == "event" and body["type"] == source.type
        assert body["sequence"] == source.sequence and body["merchant_id"] == shop.merchant_id
        assert body["created"] == source.create_time.seconds
        assert r.headers["content-type"] == "application/json"
        assert r.headers["paysim-delivery-id"].startswith("whd_") and r.headers["paysim-attempt"] == "1"
        # The payment as the API shows it, as of that event.
        shown = json_format.ParseDict(body["data"]["object"], P.Payment())
        assert shown.id == payment.id and shown.version == source.payment_version and shown.card.last4 == "4242"
        assert "4242424242424242" not in r.body.decode() and '"123"' not in r.body.decode()
    last = max(got, key=lambda r: r.json["sequence"])
    assert json_format.ParseDict(last.json["data"]["object"], P.Payment()) == payment
    states = wait_deliveries(api, lambda ds: len(ds) == len(stored) and all(d.state == DELIVERED for d in ds))
    for d in states:
        assert d.attempt_count == 1 and [a.http_status for a in d.attempts] == [200]
        assert not d.HasField("next_attempt_time") and d.payment_id == payment.id


def test_a_tampered_body_or_a_stale_timestamp_fails_verification(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    secret = create_endpoint(api, receiver.url, ("payment.created",)).secret
    pay(api)
    (r,) = receiver.wait_count(1)
    verify(r, secret)
    tampered = r.body.replace(b'"amount_minor":"1234"', b'"amount_minor":"1"')
    assert tampered != r.body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, r.signature, secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(r.body, r.signature, "whsec_not_the_secret")
    # The same header ten minutes later is stale for Stripe's five-minute tolerance.
    signed_at = int(r.signature.split(",")[0].removeprefix("t="))
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        _verify_at(r, secret, signed_at + 600)
    # The SDK's verifier agrees with Stripe's on all three.
    assert sdk_webhooks.verify(r.body, r.signature, secret) == signed_at
    for body, key, now, reason in [
        (tampered, secret, None, "SIGNATURE_MISMATCH"),
        (r.body, "whsec_not_the_secret", None, "SIGNATURE_MISMATCH"),
        (r.body, secret, signed_at + 600, "TIMESTAMP_OUT_OF_TOLERANCE"),
    ]:
        with pytest.raises(sdk_webhooks.SignatureVerificationError) as refused:
            sdk_webhooks.verify(body, r.signature, key, now=now)
        assert refused.value.reason == reason


def _verify_at(r: Received, secret: str, now: int) -> None:
    import unittest.mock

    with unittest.mock.patch("time.time", return_value=float(now)):
        stripe.WebhookSignature.verify_header(r.body, r.signature, secret, tolerance=300)


def test_only_wanted_types_and_enabled_endpoints_get_deliveries(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    create_endpoint(api, receiver.url, ("refund.succeeded",))
    create_endpoint(api, receiver.url, enabled=False)
    payment = pay(api)
    api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=payment.id, amount_minor=100))
    (r,) = receiver.wait_count(1)
    assert r.json["type"] == "refund.succeeded"
    assert [d.event_type for d in deliveries(api)] == ["refund.succeeded"]


def test_failures_are_retried_on_the_schedule_until_delivered(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    secret = create_endpoint(api, receiver.url, ("payment.created",)).secret
    receiver.script([500, 503, 200])
    pay(api)
    got = receiver.wait_count(3)
    assert len({r.event_id for r in got}) == 1 and [r.headers["paysim-attempt"] for r in got] == ["1", "2", "3"]
    assert len({r.headers["paysim-delivery-id"] for r in got}) == 1
    for r in got:
        verify(r, secret)
    (d,) = wait_deliveries(api, lambda ds: len(ds) == 1 and ds[0].state == DELIVERED)
    assert [a.http_status for a in d.attempts] == [500, 503, 200] and d.attempt_count == 3
    gaps = [(b.time.ToDatetime() - a.time.ToDatetime()) for a, b in zip(d.attempts, d.attempts[1:], strict=False)]
    assert gaps[0] >= timedelta(milliseconds=60) and gaps[1] >= timedelta(milliseconds=300), gaps


def test_a_delivery_is_dead_after_the_last_attempt(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    create_endpoint(api, receiver.url, ("payment.created",))
    receiver.default_status = 500
    pay(api)
    (d,) = wait_deliveries(api, lambda ds: len(ds) == 1 and ds[0].state == DEAD)
    assert d.attempt_count == 4 and [a.http_status for a in d.attempts] == [500] * 4
    assert len(receiver.received) == 4
    assert [x.id for x in deliveries(api, state=DEAD)] == [d.id] and not deliveries(api, state=DELIVERED)


def test_410_disables_the_endpoint(hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver) -> None:
    api = _api(hooks, shop)
    endpoint = create_endpoint(api, receiver.url, ("payment.created",)).webhook_endpoint
    receiver.script([410])
    pay(api)
    (d,) = wait_deliveries(api, lambda ds: len(ds) == 1 and ds[0].state == DEAD)
    assert [a.http_status for a in d.attempts] == [410]
    got = api.webhooks.GetWebhookEndpoint(W.GetWebhookEndpointRequest(webhook_endpoint_id=endpoint.id))
    assert not got.webhook_endpoint.enabled and got.webhook_endpoint.disabled_reason == "ENDPOINT_GONE"
    # Disabled: new events write no deliveries, and a redelivery is refused until it is enabled.
    pay(api)
    err = expect_error(api.webhooks.RedeliverWebhook, W.RedeliverWebhookRequest(webhook_delivery_id=d.id))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "WEBHOOK_ENDPOINT_DISABLED")
    assert len(deliveries(api)) == 1
    enabled = api.webhooks.UpdateWebhookEndpoint(
        W.UpdateWebhookEndpointRequest(webhook_endpoint_id=endpoint.id, enabled=True)
    ).webhook_endpoint
    assert enabled.enabled and enabled.disabled_reason == ""
    again = api.webhooks.RedeliverWebhook(W.RedeliverWebhookRequest(webhook_delivery_id=d.id)).webhook_delivery
    got_again = receiver.wait_count(2)
    assert got_again[1].event_id == d.event_id and got_again[1].headers["paysim-delivery-id"] == again.id


def test_a_timeout_is_a_failed_attempt(hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver) -> None:
    api = _api(hooks, shop)
    create_endpoint(api, receiver.url, ("payment.created",))
    receiver.script([HANG])
    pay(api)
    (d,) = wait_deliveries(api, lambda ds: len(ds) == 1 and ds[0].state == DELIVERED)
    assert d.attempts[0].http_status == 0 and d.attempts[0].error == "timeout"
    assert 900 <= d.attempts[0].duration_ms < 3000 and d.attempts[1].http_status == 200
    receiver.release()


def test_a_receiver_down_then_up_gets_every_event_at_least_once(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    secret = create_endpoint(api, receiver.url).secret
    receiver.stop()
    payments = [pay(api) for _ in range(3)]
    expected = {e.id for p in payments for e in events_of(api, p.id)}
    wait_deliveries(api, lambda ds: len(ds) == len(expected) and all(d.attempts for d in ds))
    receiver.start()
    got = receiver.wait_for(lambda rs: expected <= {r.event_id for r in rs})
    for r in got:
        verify(r, secret)
    by_delivery: dict[str, set[str]] = {}
    for r in got:
        by_delivery.setdefault(r.headers["paysim-delivery-id"], set()).add(r.event_id)
    assert all(len(ids) == 1 for ids in by_delivery.values())  # a retry carries the same event id
    ds = wait_deliveries(api, lambda ds: all(d.state == DELIVERED for d in ds))
    assert all(d.attempts[0].error == "connection refused" for d in ds), [d.attempts[0] for d in ds]


def test_redelivery_sends_the_same_event_again(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    secret = create_endpoint(api, receiver.url, ("payment.created",)).secret
    pay(api)
    (first,) = receiver.wait_count(1)
    (d,) = wait_deliveries(api, lambda ds: len(ds) == 1 and ds[0].state == DELIVERED)
    again = api.webhooks.RedeliverWebhook(W.RedeliverWebhookRequest(webhook_delivery_id=d.id)).webhook_delivery
    assert again.id != d.id and again.redelivery_of == d.id and again.event_id == d.event_id
    assert again.state == PENDING and again.attempt_count == 0
    second = receiver.wait_count(2)[1]
    assert second.event_id == first.event_id and json.loads(second.body) == json.loads(first.body)
    verify(second, secret)
    assert {x.id for x in deliveries(api, event_id=d.event_id)} == {d.id, again.id}
    other = _api(hooks, register_merchant(hooks.stubs()))
    err = expect_error(other.webhooks.RedeliverWebhook, W.RedeliverWebhookRequest(webhook_delivery_id=d.id))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "WEBHOOK_DELIVERY_NOT_FOUND")
    assert not deliveries(other)


def test_rotation_signs_with_both_secrets_during_the_overlap(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    api = _api(hooks, shop)
    created = create_endpoint(api, receiver.url, ("payment.created",))
    endpoint_id, old = created.webhook_endpoint.id, created.secret
    rotated = api.webhooks.RotateWebhookSecret(W.RotateWebhookSecretRequest(webhook_endpoint_id=endpoint_id))
    new = rotated.secret
    assert new != old and rotated.webhook_endpoint.HasField("previous_secret_expire_time")
    shown = rotated.webhook_endpoint
    overlap = shown.previous_secret_expire_time.ToDatetime() - shown.update_time.ToDatetime()
    assert timedelta(hours=23, minutes=59) <= overlap <= timedelta(hours=24)
    pay(api)
    (r,) = receiver.wait_count(1)
    assert r.signature.count("v1=") == 2
    verify(r, old)
    verify(r, new)
    # Retired at once: only the new secret signs.
    api.webhooks.RotateWebhookSecret(W.RotateWebhookSecretRequest(webhook_endpoint_id=endpoint_id, overlap_seconds=0))
    newest = api.webhooks.RotateWebhookSecret(
        W.RotateWebhookSecretRequest(webhook_endpoint_id=endpoint_id, overlap_seconds=0)
    ).secret
    pay(api)
    r2 = receiver.wait_count(2)[1]
    assert r2.signature.count("v1=") == 1
    verify(r2, newest)
    with pytest.raises(stripe.SignatureVerificationError):
        verify(r2, new)
    err = expect_error(
        api.webhooks.RotateWebhookSecret,
        W.RotateWebhookSecretRequest(webhook_endpoint_id=endpoint_id, overlap_seconds=8 * 24 * 3600),
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "overlap_seconds" in err.field_violations


def test_the_overlap_ends(hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver) -> None:
    """Past the overlap (the server's clock moved on), the old secret no longer signs."""
    api = _api(hooks, shop)
    created = create_endpoint(api, receiver.url, ("payment.created",))
    new = api.webhooks.RotateWebhookSecret(
        W.RotateWebhookSecretRequest(webhook_endpoint_id=created.webhook_endpoint.id, overlap_seconds=60)
    ).secret
    hooks.clock.advance(timedelta(seconds=61))
    try:
        pay(api)
        (r,) = receiver.wait_count(1)
    finally:
        hooks.clock.advance(timedelta(seconds=-61))
    assert r.signature.count("v1=") == 1
    with pytest.raises(stripe.SignatureVerificationError):
        _verify_at(r, created.secret, int(r.signature.split(",")[0][2:]))
    _verify_at(r, new, int(r.signature.split(",")[0][2:]))


# --- SSRF at delivery time -----------------------------------------------------------------------


def test_a_target_refused_at_delivery_time_is_never_contacted(
    backend: Backend, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    """An endpoint accepted while loopback was allowed; the server restarted with loopback refused
    (as when a name's address changed): every attempt is refused before any connection."""
    with backends.provision(backend.name, tmp_path / "db") as private:
        first = ServerHandle(settings_for(private, tmp_path / "data", **FAST))
        try:
            shop = register_merchant(first.stubs())
            create_endpoint(_api(first, shop), receiver.url, ("payment.created",))
        finally:
            first.stop()
        second = ServerHandle(settings_for(private, tmp_path / "data", **FAST, webhook_allow_loopback=False))
        try:
            api = _api(second, shop)
            pay(api)
            (d,) = wait_deliveries(api, lambda ds: len(ds) == 1 and ds[0].state == DEAD)
            assert all(a.http_status == 0 and "loopback" in a.error for a in d.attempts), d.attempts
            assert not receiver.received
        finally:
            second.stop()


def test_a_host_name_is_resolved_and_each_address_tried(
    hooks: ServerHandle, shop: MerchantAccount, receiver: WebhookReceiver
) -> None:
    """``localhost`` may resolve to ::1 first; the receiver listens on 127.0.0.1 only."""
    api = _api(hooks, shop)
    secret = create_endpoint(api, receiver.url.replace("127.0.0.1", "localhost"), ("payment.created",)).secret
    pay(api)
    (r,) = receiver.wait_count(1)
    assert r.headers["host"] == f"localhost:{receiver.port}"
    verify(r, secret)
