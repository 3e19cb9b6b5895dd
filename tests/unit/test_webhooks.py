"""Webhooks, the pure parts: event types, URLs, address kinds and rules, the retry schedule, the
signature header (checked by Stripe's verifier), the body and sealed secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from paysim.domain.errors import InvalidArgument
from paysim.domain.validation import Violations
from paysim.domain.webhooks import (
    RETRY_SCHEDULE,
    AddressKind,
    DeliveryState,
    TargetRules,
    WebhookDelivery,
    address_kind,
    check_url,
    decode_event_types,
    encode_event_types,
    normalize_event_types,
    retry_delay,
    signature_header,
)
from paysim.security.webhook_secrets import SecretBox, new_secret
from paysim.services.webhook_dispatch import event_body


def test_event_types_are_sorted_deduplicated_and_known() -> None:
    v = Violations()
    assert normalize_event_types(v, "t", ["refund.succeeded", "payment.captured", "payment.captured"]) == (
        "payment.captured",
        "refund.succeeded",
    )
    assert normalize_event_types(v, "t", ["*"]) == ("*",)
    assert not v.items
    for bad in ([], ["payment.nope"], ["*", "payment.captured"]):
        v = Violations()
        normalize_event_types(v, "t", bad)
        assert v.items and v.items[0].field == "t"


@pytest.mark.parametrize("types", [("*",), ("payment.captured",), ("payment.attempt_failed", "refund.failed")])
def test_stored_event_types_round_trip_and_match(types: tuple[str, ...]) -> None:
    stored = encode_event_types(types)
    assert decode_event_types(stored) == types
    for t in types:
        assert stored == "*" or f",{t}," in stored
    assert (stored == "*" or ",payment.voided," in stored) == (types == ("*",))


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.example.com/paysim", True),
        ("http://127.0.0.1:8080/x?y=1", True),
        ("http://[::1]:9/", True),
        ("ftp://example.com/", False),
        ("example.com/hooks", False),
        ("http:///nohost", False),
        ("http://u:p@example.com/", False),
        ("http://example.com/#frag", False),
        ("http://example.com/a b", False),
        ("http://example.com:99999/", False),
        ("https://" + "a" * 2050 + ".com/", False),
    ],
)
def test_url_syntax(url: str, ok: bool) -> None:
    v = Violations()
    target = check_url(v, "url", url)
    assert (target is not None) == ok and (not v.items) == ok


def test_url_target_has_default_ports() -> None:
    assert check_url(Violations(), "u", "https://example.com/x") is not None
    https = check_url(Violations(), "u", "https://example.com/x")
    http = check_url(Violations(), "u", "http://example.com:8080/x")
    assert https is not None and (https.host, https.port) == ("example.com", 443)
    assert http is not None and (http.host, http.port) == ("example.com", 8080)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.216.34", AddressKind.PUBLIC),
        ("2606:4700::1111", AddressKind.PUBLIC),
        ("127.0.0.1", AddressKind.LOOPBACK),
        ("127.8.9.10", AddressKind.LOOPBACK),
        ("::1", AddressKind.LOOPBACK),
        ("::ffff:127.0.0.1", AddressKind.LOOPBACK),
        ("10.1.2.3", AddressKind.PRIVATE),
        ("172.20.0.1", AddressKind.PRIVATE),
        ("192.168.0.10", AddressKind.PRIVATE),
        ("100.64.1.1", AddressKind.PRIVATE),
        ("fd00::5", AddressKind.PRIVATE),
        ("::ffff:10.0.0.1", AddressKind.PRIVATE),
        ("169.254.169.254", AddressKind.LINK_LOCAL),
        ("fe80::1%eth0", AddressKind.LINK_LOCAL),
        ("224.0.0.251", AddressKind.MULTICAST),
        ("ff02::1", AddressKind.MULTICAST),
        ("0.0.0.0", AddressKind.UNSPECIFIED),  # noqa: S104 - an address to classify, not to bind
        ("::", AddressKind.UNSPECIFIED),
        ("240.0.0.1", AddressKind.RESERVED),
        ("192.0.2.1", AddressKind.RESERVED),
        ("255.255.255.255", AddressKind.RESERVED),
    ],
)
def test_address_kinds(address: str, kind: AddressKind) -> None:
    assert address_kind(address) is kind


def test_rules_allow_only_what_is_configured() -> None:
    default = TargetRules()
    assert default.refusal(["93.184.216.34"]) is None and default.refusal(["127.0.0.1", "::1"]) is None
    assert "private" in (default.refusal(["10.0.0.1"]) or "")
    # One forbidden address among the resolved ones is enough to refuse.
    assert default.refusal(["93.184.216.34", "169.254.169.254"]) is not None
    assert default.refusal([]) is not None
    strict = TargetRules(allow_loopback=False)
    assert "loopback" in (strict.refusal(["127.0.0.1"]) or "")
    lenient = TargetRules(allow_private=True, allow_link_local=True)
    assert lenient.refusal(["10.0.0.1", "fe80::1"]) is None
    for never in ("224.0.0.1", "0.0.0.0", "240.0.0.1"):  # noqa: S104 - classified, never bound
        assert TargetRules(allow_loopback=True, allow_private=True, allow_link_local=True).refusal([never])


def test_retry_schedule_is_documented_and_scaled() -> None:
    waits = [retry_delay(n, 1.0) for n in range(1, 9)]
    assert waits == [*RETRY_SCHEDULE[1:], None]
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30)]
    assert sum((w for w in waits if w), timedelta()) == timedelta(hours=27, minutes=36)
    assert retry_delay(1, 0.001) == timedelta(milliseconds=60)
    assert retry_delay(3, 1.0, max_attempts=3) is None
    assert retry_delay(10, 1.0, max_attempts=12) == timedelta(hours=10)  # past the end: its last delay


def test_signature_header_verifies_with_stripe() -> None:
    secret, old = new_secret(), new_secret()
    body = b'{"id":"evt_1","type":"payment.captured"}'
    now = int(datetime.now(UTC).timestamp())
    header = signature_header([secret, old], now, body)
    assert header.startswith(f"t={now},v1=") and header.count(",v1=") == 2
    for s in (secret, old):
        assert stripe.WebhookSignature.verify_header(body, header, s, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body + b" ", header, secret, tolerance=300)
    stale = signature_header([secret], now - 301, body)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body, stale, secret, tolerance=300)


def test_event_body_is_compact_stable_json() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    d = WebhookDelivery(
        id="whd_1",
        endpoint_id="whe_1",
        merchant_id="mer_1",
        event_id="evt_1",
        event_type="payment.captured",
        payment_id="pay_1",
        event_version=3,
        sequence=42,
        state=DeliveryState.PENDING,
        attempt_count=1,
        next_attempt_at=at,
        redelivery_of="",
        created_at=at,
        updated_at=at,
    )
    body = event_body(d, at, {"id": "pay_1", "status": "PAYMENT_STATUS_CAPTURED"})
    assert body == event_body(d, at, {"status": "PAYMENT_STATUS_CAPTURED", "id": "pay_1"})
    assert b" " not in body
    assert json.loads(body) == {
        "id": "evt_1",
        "object": "event",
        "type": "payment.captured",
        "created": int(at.timestamp()),
        "merchant_id": "mer_1",
        "sequence": 42,
        "data": {"object": {"id": "pay_1", "status": "PAYMENT_STATUS_CAPTURED"}},
    }


def test_secrets_are_sealed_per_endpoint_and_key() -> None:
    box = SecretBox(b"k" * 32)
    secret = new_secret()
    sealed = box.seal(secret, "whe_a")
    assert secret not in sealed and box.seal(secret, "whe_a") != sealed  # a fresh nonce each time
    assert box.open(sealed, "whe_a") == secret
    with pytest.raises(ValueError):
        box.open(sealed, "whe_b")  # copied to another endpoint's row
    with pytest.raises(ValueError):
        SecretBox(b"x" * 32).open(sealed, "whe_a")  # another server key
    with pytest.raises(ValueError):
        box.open("plain", "whe_a")


def test_invalid_argument_lists_every_bad_field() -> None:
    v = Violations()
    check_url(v, "url", "ftp://x")
    normalize_event_types(v, "event_types", [])
    with pytest.raises(InvalidArgument) as raised:
        v.raise_if_any()
    assert {f.field for f in raised.value.violations} == {"url", "event_types"}
